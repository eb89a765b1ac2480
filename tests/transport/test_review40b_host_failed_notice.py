"""review40b: attacks on odds40's ``Notice.HOST_FAILED`` (code 6) before a
``Bye``.

- A host that sends the code and keeps the session (a further message
  before its Bye, at the start or mid-session) does not make the viewer
  take a later Bye of other words for a failure: the code explains only
  the Bye right after it.
- A host of the versions from walk39 to odds40 (a Bye of the failure
  words, no code) failing at its user's yes: ``view`` says so in the
  host's words and exits 3, as a host's end before the answer
  (docs/transport.md said 0: found).

Real sockets on loopback: a scripted host (its messages as given) on a
real listener; the in-process Viewer, or a real ``view`` process."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import VIEW, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.refusal import HOST_FAILED

from .helpers import run
from .secure_fixtures import FAST
from .test_cli import CLI, ENV

CODE = m.Notice(m.Notice.HOST_FAILED, HOST_FAILED)


async def _scripted(said: Sequence[m.Message], body: object) -> object:
    """A host that reads the viewer's opening (Capabilities, request) and
    answers with ``said``, then closes; ``body(port, creds)`` runs against it."""
    creds = SessionCredentials()

    async def serve(ch: SecureChannel) -> None:
        m.decode(await ch.recv())  # Capabilities
        m.decode(await ch.recv())  # PermissionRequest
        *rest, last = said
        for msg in rest:
            await ch.send(m.encode(msg))
        await ch.close_with(m.encode(last))

    async with await listen_direct("127.0.0.1", 0, creds, serve, timeouts=FAST) as listener:
        return await body(listener.port, creds)  # type: ignore[operator]


@pytest.mark.parametrize("between", [m.Chat("one moment"), m.Stats(1000, 10, 1000, 0, 1)])
def test_a_code_not_right_before_the_bye_explains_nothing(between: m.Message) -> None:
    """Mid-session: the code, something else, then a Bye of other words:
    an end (``host_failed`` False), not a failure."""

    async def body(port: int, creds: SessionCredentials) -> tuple[str, bool]:
        ch = await connect_direct("127.0.0.1", port, creds.code, creds.password, timeouts=FAST)
        viewer = Viewer(ch, who="Alice")
        await viewer.start(VIEW)
        reason = await viewer.run()
        return reason, viewer.host_failed

    said = [m.PermissionGrant(VIEW.bits), CODE, between, m.Bye("the host's user ended the session")]
    reason, failed = run(_scripted(said, body), 30)  # type: ignore[misc]
    assert reason == "host said bye: the host's user ended the session"
    assert failed is False


def test_a_code_then_chat_then_bye_at_the_start_is_not_a_failure() -> None:
    """Before the answer: the code, a chat line, then a Bye: the host ended
    the session before its user answered (a ConsentDeniedError), not a
    HostFailedError."""

    async def body(port: int, creds: SessionCredentials) -> BaseException:
        ch = await connect_direct("127.0.0.1", port, creds.code, creds.password, timeouts=FAST)
        viewer = Viewer(ch, who="Alice")
        with pytest.raises(ConsentDeniedError) as caught:
            await viewer.start(VIEW)
        assert viewer.host_failed is False
        return caught.value

    said = [CODE, m.Chat("sorry"), m.Bye("the host ended the session")]
    error = run(_scripted(said, body), 30)
    assert str(error) == "the host ended the session before its user answered"


def test_an_older_host_failing_at_the_start_is_said_and_exits_3() -> None:
    """A host from walk39 to odds40 (the Bye alone): ``view`` cannot tell its
    failure from a host's own end in those words, and says it as an end
    before the answer, in the host's words; status 3."""

    async def body(port: int, creds: SessionCredentials) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run, [*CLI, "view", f"127.0.0.1:{port}", "--code", creds.code,
                             "--password", creds.password],
            capture_output=True, text=True, timeout=60, env=ENV, check=False)  # fmt: skip

    out = run(_scripted([m.Bye(HOST_FAILED)], body), 90)
    assert out.stderr.splitlines()[-1] == (  # type: ignore[attr-defined]
        f"the host ended the session before its user answered ({HOST_FAILED})"
    ), out
    assert out.returncode == 3, out  # type: ignore[attr-defined]
