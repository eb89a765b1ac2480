"""input44: the host's user and the agent are told, in words, when the host
let go of what the agent held down because its link went silent.

Found: held43 let go of a silent agent's keys without a word to either:
the customer saw a key come up by itself, the agent (once its link came
back) did not know its Ctrl was no longer down. Expected: once per release,
the host's terminal names the agent and what was let go of, and the view
prints the host's notice.

A real ``screencodec host --control xtest`` on Xvfb and ``screencodec view``
on pseudo-terminals; between them a frame proxy on loopback that, armed,
passes the agent's frames up to its first key press with a character
('f' down: 31 bytes; its release is 30) and none after it: the host holds
the key, and hears nothing more of the agent (a link gone silent, no FIN).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from loop_thread import LoopThread
from screencodec.transport.channel.framing import HEADER, FrameType

from .secure_fixtures import FrameProxy
from .test_attack_prompts import PtyHost, _credentials
from .test_type43_view_typing import _all_up, xterm_log
from .test_walk43_view_types import _view_with_control

__all__ = ["xterm_log"]  # the fixture, used by name

#: An 'f' pressed: the Key message with its text, sealed, with its header.
F_DOWN = 31


class _CutAfterPress:
    """The agent's frames pass until, once :attr:`armed`, one is a key press
    with a character; that one passes, none after it."""

    def __init__(self) -> None:
        self.armed = False
        self.cut = False

    def __call__(self, index: int, frame: bytes) -> list[bytes]:
        if self.cut:
            return []
        _, ftype = HEADER.unpack(frame[: HEADER.size])
        if self.armed and ftype == FrameType.RECORD_DATA and len(frame) == F_DOWN:
            self.cut = True
        return [frame]


def test_a_silent_release_is_told_to_the_hosts_user_and_the_agent(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    display, _log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    host = PtyHost("--control", "xtest")
    cut = _CutAfterPress()
    loop = LoopThread()
    view = None
    proxy: FrameProxy | None = None
    try:
        port, code, password = _credentials(host)
        proxy = FrameProxy(port, to_server=cut)
        proxy_port = loop.call(proxy.start())
        view = _view_with_control(host, proxy_port, code, password)
        cut.armed = True
        view.type("/type ffff")
        view.wait_for(r"sent 4 characters to the host's keyboard\n")
        assert cut.cut
        # Found: neither line (held43 let go without a word).
        said = host.wait_for(
            r"let go of the 1 key 'Dave' \(127\.0\.0\.1:\d+\) held down on this computer:"
            r" nothing came from them for 4 s \(their link went silent\); the session goes"
            r" on\n", timeout=20)  # fmt: skip
        view.wait_for(r"\(the host let go of the 1 key you held down: nothing came from you"
                      r" for 4 s \(your link went silent\); press again what you need\)\n")
        _all_up(display)
        time.sleep(1)
        assert host.text.count("let go of the") == 1, host.text[said.start() :]
        assert view.text.count("the host let go of") == 1, view.text
    finally:
        if view is not None:
            view.close()
        host.close()
        if proxy is not None:
            loop.call(proxy.close())
        loop.close()
