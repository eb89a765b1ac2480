"""words32: a chat line that went on a link that ended before its
acknowledgement came is "not confirmed" (it may have arrived: its ack lost
as the session ended), never "NOT delivered", which is said only of a line
that never went (kept for an agent who never came back). Real Host and
Viewer on loopback through a proxy that mutes one side, and the real
``screencodec host`` and ``screencodec view`` as processes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from .helpers import run, until
from .test_chatack_cli import _mute, _Output, _refuse
from .test_chatack_session import _Seen
from .test_cli import answer_when_asked, start_host
from .test_resume import _granted, _lose, _Setup
from .test_resume_cli import _ProxyThread
from .test_view_cli_ux import read_until, stop, viewer


def test_a_line_that_arrived_and_whose_ack_was_lost_is_not_confirmed() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer_, task = await s.join()
            seen = _Seen(viewer_.events_hub)
            await until(lambda: viewer_.decoded >= 1, 10, "picture")
            s.proxy.mute("viewer")  # the agent's acks are lost from now on
            await s.host.send_chat("did you get this?")
            await until(lambda: seen.received == ["did you get this?"], 10, "the line")
            await s.host.disconnect(reason="done")
            await task
            await until(lambda: host_seen.states() == {1: "not confirmed"}, 10, "told")
            (told,) = host_seen.delivery
            assert (told.texts, told.why) == (("did you get this?",), "the session ended")

    run(main(), 30)


def test_a_line_kept_for_an_agent_who_never_came_back_is_not_delivered() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer_, task = await s.join()
            await _granted(viewer_)
            s.proxy.mute("viewer")
            await s.host.send_chat("went")  # written on the link, its ack lost
            await until(lambda: viewer_.chats.received == 1, 10, "the line")
            s.proxy.muted = None
            await _lose(s, viewer_, task)
            await s.host.send_chat("never went")  # kept for the agent away
            await s.host.disconnect()
            await until(lambda: len(host_seen.states()) == 2, 10, "told")
            assert host_seen.states() == {1: "not confirmed", 2: "not delivered"}

    run(main(), 30)


def say(host: subprocess.Popen[str], text: str) -> None:
    """The host's user types ``text``."""
    assert host.stdin is not None
    host.stdin.write(f"{text}\n")
    host.stdin.flush()


P = TypeVar("P", bound=_ProxyThread)


@contextmanager
def agent_through_proxy(
    *host_args: str, proxy_type: type[P] = _ProxyThread, stdin: int | None = None,  # type: ignore[assignment]
) -> Iterator[tuple[subprocess.Popen[str], _Output, P, subprocess.Popen[bytes]]]:
    """``screencodec host HOST_ARGS`` and an agent's ``screencodec view``
    (its input ``stdin``) through a ``proxy_type`` proxy, the agent let in
    and shown the picture: the host, its output, the proxy and the viewer."""
    host, code, password, port = start_host(*host_args)
    proxy = proxy_type(port)
    view = viewer(f"127.0.0.1:{proxy.port}", "--code", code, "--password", password,
                  stdin=stdin)  # fmt: skip
    try:
        answer_when_asked(host)
        out = _Output(host)
        read_until(view, "decoded")
        yield host, out, proxy, view
    finally:
        stop(view)
        stop(host)
        proxy.close()


def test_the_host_terminal_says_not_confirmed_or_not_delivered() -> None:
    """The agent's uplink dies: the host's line reaches the agent, its
    confirmation does not; then the link is cut and the host's next line
    waits for the agent, who does not come back before the host's /end."""
    with agent_through_proxy() as (host, out, proxy, view):
        _mute(proxy, "viewer")
        say(host, "/say can you read this")
        read_until(view, "host says: can you read this")
        _refuse(proxy, True)  # the agent stays away
        proxy.cut()
        out.wait_for("(type /end to prevent it)")
        say(host, "/say are you back?")
        out.wait_for("it goes once they are back): are you back?")
        say(host, "/end")
        out.wait_for("NOT delivered to ")
        out.wait_for("not confirmed by ")
        lines = out.text.splitlines()
        sent = [x for x in lines if x.startswith("not confirmed by ")]
        assert len(sent) == 1 and re.fullmatch(
            r"not confirmed by 'support' \(\S+\), the session ended: can you read this",
            sent[0]), sent  # fmt: skip
        never = [x for x in lines if x.startswith("NOT delivered to ")]
        assert len(never) == 1 and re.fullmatch(
            r"NOT delivered to 'support' \(\S+\), the session ended: are you back\?",
            never[0]), never  # fmt: skip
