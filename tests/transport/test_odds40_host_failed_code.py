"""odds40: a viewer knows that the host's program failed by a code, not by
the words of the host's Bye (walk39's ``HOST_FAILED``).

Found: ``screencodec view`` exited 1, an error, on any Bye whose text
ended with the failure words, and ``view()`` and ``Viewer.run`` gave an
embedder only those words to compare: a host that ended a session in them
(an embedding program's own reason for ``disconnect``, an ordinary end)
read as a failure. Now, right before that Bye, the host sends a ``Notice``
of code ``HOST_FAILED`` (6) to a viewer that declared
``Capabilities.BYE_NOTICES``: ``Viewer.host_failed``, ``SessionEnded``'s
``host_failed``, ``HostFailedError`` at the start, the exit status; the
Bye's text is only shown. A viewer without the bit (one before odds40,
which would take the Notice for its answer at the start and fail with a
ProtocolError) gets the Bye alone, as before. Real sockets on loopback,
real processes."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from screencodec.capture import FrameSource, SyntheticDesktop
from screencodec.errors import HostFailedError, SessionClosedError
from screencodec.transport import allow, share, view
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded
from screencodec.transport.session.permissions import VIEW
from screencodec.transport.session.refusal import HOST_FAILED
from warm_start import warm_run

from .secure_fixtures import FAST
from .test_cli import CLI, ENV

#: An embedding host that ends the agent's session, once it is shared, in
#: the failure words: its own reason, nothing failed.
SAYS_THE_WORDS = """
import asyncio
from screencodec.capture import SyntheticDesktop
from screencodec.transport import allow, share
from screencodec.transport.session.events import SharingChanged

async def main():
    async with share(lambda i: SyntheticDesktop(320, 240), consent=allow(),
                     listen="127.0.0.1:0") as s:
        events = s.events()
        print(s.address[1], s.code.replace(" ", ""), s.password, flush=True)
        async for ev in events:
            if isinstance(ev, SharingChanged) and ev.viewers:
                break
        await asyncio.sleep(1.0)
        await s.host.disconnect(reason=%r)
        print(await s.wait_ended(), flush=True)

asyncio.run(main())
"""


def test_a_host_ending_the_session_in_the_failure_words_is_an_end_not_an_error(
    tmp_path: Path,
) -> None:
    script = tmp_path / "host.py"
    script.write_text(SAYS_THE_WORDS % HOST_FAILED)
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                          env=ENV) as host:  # fmt: skip
        try:
            assert host.stdout is not None
            port, code, password = host.stdout.readline().split()
            out = warm_run([*CLI, "view", f"127.0.0.1:{port}", "--code", code,
                           "--password", password], capture_output=True, text=True,
                           timeout=60, env=ENV, check=False)  # fmt: skip
            ended = host.stdout.readline().strip()
        finally:
            host.kill()
    assert ended == f"ended by the host: {HOST_FAILED}"  # its own reason
    # The words are shown as the host gave them; the status is an end's (found: 1).
    assert out.stdout.splitlines()[-1] == f"session ended: {HOST_FAILED}", out.stdout
    assert out.returncode == 0, out.stdout + out.stderr


class _Breaks(SyntheticDesktop):
    """A bug in an embedding program's source: a wrong frame after 5 good ones."""

    grabs = 0

    def grab(self) -> np.ndarray:  # type: ignore[override]
        self.grabs += 1
        return super().grab() if self.grabs <= 5 else np.zeros((3, 3), np.uint8)


@pytest.mark.parametrize("how", ["fails", "says the words"])
def test_an_embedder_is_told_by_the_code_whether_the_host_failed(how: str) -> None:
    def source(index: int) -> FrameSource:
        return _Breaks(320, 240) if how == "fails" else SyntheticDesktop(320, 240)

    async def main() -> tuple[SessionEnded, bool, str]:
        async with share(source, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            where = f"127.0.0.1:{s.address[1]}"
            async with view(where, code=s.code, password=s.password, timeouts=FAST) as viewer:
                events = viewer.events()
                if how == "says the words":
                    await s.host.disconnect(reason=HOST_FAILED)
                async for ev in events:
                    if isinstance(ev, SessionEnded):
                        break
            return ev, viewer.host_failed, await asyncio.wait_for(s.wait_ended(), 10)

    ended, failed, host = asyncio.run(asyncio.wait_for(main(), 60))
    assert ended.reason == f"host said bye: {HOST_FAILED}"  # the same words either way
    assert (ended.host_failed, failed) == ((True, True) if how == "fails" else (False, False))
    assert host == ("failed: expected an (H, W, 4) uint8 frame, got uint8 (3, 3)"
                    if how == "fails" else f"ended by the host: {HOST_FAILED}")  # fmt: skip


def _too_small(index: int) -> FrameSource:
    return SyntheticDesktop(10, 10)  # under the synthetic desktop's 64x64: fails at the yes


def test_a_host_failing_at_the_start_raises_host_failed_error() -> None:
    async def main() -> SessionClosedError:
        async with share(_too_small, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            with pytest.raises(HostFailedError) as caught:
                async with view(f"127.0.0.1:{s.address[1]}", code=s.code,
                                password=s.password, timeouts=FAST):  # fmt: skip
                    pass
            return caught.value

    error = asyncio.run(asyncio.wait_for(main(), 60))
    assert isinstance(error, SessionClosedError)  # what walk39 raised, still caught as it
    assert str(error) == HOST_FAILED


@pytest.mark.parametrize("declared", [False, True])
def test_only_a_viewer_that_declared_bye_notices_gets_the_notice(declared: bool) -> None:
    """Raw messages: a viewer of the version before (no bit) gets the Bye
    first and alone; one with the bit gets the Notice right before it."""

    async def main() -> list[m.Message]:
        async with share(_too_small, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            ch = await connect_direct("127.0.0.1", s.address[1], s.code, s.password, timeouts=FAST)
            caps = m.Capabilities.full()
            flags = caps.flags | (m.Capabilities.BYE_NOTICES if declared else 0)
            await ch.send(m.encode(m.Capabilities(caps.ops, caps.video, flags, caps.max_cache)))
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "Alice")))
            got: list[m.Message] = []
            with contextlib.suppress(SessionClosedError):
                while True:
                    got.append(m.decode(await ch.recv()))
            await ch.close()
            await asyncio.wait_for(s.wait_ended(), 10)
            return got

    got = asyncio.run(asyncio.wait_for(main(), 60))
    bye = m.Bye(HOST_FAILED)
    assert got == ([m.Notice(m.Notice.HOST_FAILED, HOST_FAILED), bye] if declared else [bye])
