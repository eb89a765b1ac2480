"""endleft35: ``screencodec view --control`` when the host's user takes
VIEW back from it. Since Permission.taking (45f6deb) that revoke names
CONTROL too, and the terminal said "the host's user took back control: you
can only watch now" right before "session ended: ...": the agent was told
to go on watching a session that was over (683a5e6 fixed it, found reading
the change; this is its test). Only the end is told, in the user's words.

A real Host on a loopback listener (with an injector: control can be
granted), the real ``screencodec view`` in a subprocess."""

from __future__ import annotations

from typing import Any

from loop_thread import LoopThread
from screencodec.capture import open_source
from screencodec.cli.view import TAKEN_BACK
from screencodec.transport import CONTROL, VIEW, Host, RecordingInjector, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import listen_direct

from .test_view_cli_ux import read_until, stop, viewer


def _view_after_revoke(level: Any) -> str:
    """What ``view --control`` printed after the host revoked ``level``
    (VIEW: up to its exit, which must be 0; CONTROL: up to TAKEN_BACK)."""
    creds = SessionCredentials()

    async def start() -> tuple[Host, Any]:
        host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                    consent=allow(), injector=RecordingInjector())  # fmt: skip
        return host, await listen_direct("127.0.0.1", 0, creds, host.serve)

    with LoopThread() as loop:
        host, listener = loop.call(start())
        view = viewer(f"127.0.0.1:{listener.port}", "--code", creds.code,
                      "--password", creds.password, "--control")  # fmt: skip
        try:
            seen = read_until(view, "decoded")
            if "control granted" not in seen:
                seen += read_until(view, "control granted")
            loop.call(host.revoke(level))
            if level == CONTROL:
                return read_until(view, TAKEN_BACK)
            out, err = view.communicate(timeout=20)
            assert view.returncode == 0, err
            return out.decode()
        finally:
            stop(view)
            loop.call(listener.close())
            loop.call(host.close())


def test_view_taken_back_from_a_controlling_agent_says_only_the_end() -> None:
    out = _view_after_revoke(VIEW)
    last = out.rstrip("\n").rsplit("\n", 1)[-1]
    assert last == "session ended: the host's user stopped sharing the screen", out
    # Found with 683a5e6 reverted: TAKEN_BACK, then the end line.
    assert TAKEN_BACK not in out, out


def test_control_alone_taken_back_is_still_told() -> None:
    """What 683a5e6 keeps: the agent goes on watching, and is told so."""
    assert TAKEN_BACK in _view_after_revoke(CONTROL)
