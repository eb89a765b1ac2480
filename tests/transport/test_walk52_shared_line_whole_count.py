"""walk52: the host's ``[shared]`` line, cut to the terminal's width, cut
the count of the agent's input it ignored, the news the line was printed
for: ``[shared] relay 127.0.0.1:17153 viewer 127.0.0.1: 0 fps rtt 4 ms 0
kbit/s, their input ignored: 1...`` of 12 keys (a 100-column tmux pane),
which reads as one key. input46's test gave its terminals 200 columns.

Expected: the figures and the count stay whole; what is cut, with "...",
is the agent's name and address before them, and the line still fits.

``screencodec host --control xtest`` on a pseudo-terminal of 80 columns
(a terminal's default), ``screencodec view --control`` on another; the
customer moves their own mouse (xdotool on a private Xvfb) while the
agent's /type goes (input46's test, narrowed)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from screencodec.capture.xvfb import private_xvfb

from .helpers import CustomerMouse
from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_view_cli_send_screens import PtyView
from .test_walk43_view_types import GRANTED


@pytest.fixture
def desk() -> Iterator[str]:
    with private_xvfb(320, 240) as display:
        yield display


def test_the_hosts_line_keeps_the_ignored_count_whole_in_80_columns(desk: str) -> None:
    host = PtyHost("--control", "xtest", env={"DISPLAY": desk, "COLUMNS": "80"})
    view = None
    mouse = CustomerMouse(desk, (100, 200))
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control", env={**ENV, "COLUMNS": "200"})  # fmt: skip
        host.say_yes(2)
        view.wait_for(GRANTED)
        mouse.start()
        time.sleep(0.5)
        view.type("/type echo " + "x" * 120)
        typed = view.wait_for(r"(\d+) of 125 characters reached the host's keyboard; (\d+)"
                              r" (?:was|were) ignored while")  # fmt: skip
        mouse.stop()
        ignored = int(typed[2])
        assert ignored > 0, typed[0]
        keys = f"{ignored} key{'' if ignored == 1 else 's'}"
        # Found: "..., their input ignored: 1..." (cut in the count) or cut before it.
        line = host.wait_for(rf"\[shared\] [^\n]*, their input ignored: {keys}\n", timeout=15)[0]
        assert len(line.rstrip("\n")) <= 79, line
        # The name is what was cut (or nothing was): "[shared] 127.0.0.1...: 56 fps ...".
        assert re.match(r"\[shared\] 127\.0\.0\.1[:\d]*(\.\.\.)?: ", line), line
    finally:
        mouse.stop()
        if view is not None:
            view.close()
        host.close()
