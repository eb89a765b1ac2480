"""walk41: the status lines say when the customer's screen starts and stops
changing.

Found: the agent's terminal printed ``[view] 1280x720 decoded 1: 0 fps rtt
1 ms 0 kbit/s`` once, as the session began on a still desktop, and kept it
as its last line while the customer typed in an xterm for a minute: the
line is printed again only when the size, the errors or the round trip's
band change, and the host's ``[shared] ...: 0 fps ... 0 kbit/s`` alike.
Now the picture starting to change is news (a line once it has changed
for 1.5 s, with the figures of then), and so is its being still again for
10 s, said as ``still`` (``StatusLines.due``): no line a second comes back,
and a lone update (the join's picture, a clock's minute) is no change.

The customer's desktop is an Xvfb with an xterm, typed into by XTEST
(xdotool) as by its keyboard; the real ``screencodec host`` shares it and the
real ``screencodec view`` watches, each on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import time
from collections.abc import Iterator

import pytest

from screencodec.capture.xvfb import private_xvfb
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_cli import CLI
from transport.test_view_cli_send_screens import PtyView
from warm_start import warm_popen

#: A ``[view]`` line with the host's figures, on a terminal.
VIEW = r"\[view\] 640x480 decoded \d+: [^\n]*\n"
#: How long a picture shows 0 fps before it is told (terminal.STILL_AFTER),
#: plus the host's figures' second, and slack.
STILL_TOLD_WITHIN = 10 + 2 + 15


class ScreenHost(PtyHost):
    """``screencodec host`` sharing the X display ``display`` (no remote
    control: only the customer's own keyboard types), on a pseudo-terminal."""

    def __init__(self, display: str) -> None:
        master, slave = pty.openpty()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DISPLAY": display}
        self.proc = warm_popen(
            [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "screen",
             "--control", "none", "--once"],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        )  # fmt: skip
        self._collect(master, slave)


@pytest.fixture
def desk() -> Iterator[str]:
    """The customer's desktop: an Xvfb with an xterm running bash."""
    with private_xvfb(640, 480) as display:
        env = {**os.environ, "DISPLAY": display}
        xterm = subprocess.Popen(
            ["xterm", "-geometry", "80x24+0+0", "-e", "bash", "--norc", "--noprofile", "-i"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(1.0)  # its window mapped and drawn
            yield display
        finally:
            xterm.kill()
            xterm.wait(10)


def _type_for_seconds(display: str, seconds: float) -> None:
    """The customer types into the xterm, a key every 100 ms, for ``seconds``."""
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["xdotool", "mousemove", "100", "100"], env=env, check=True, timeout=10)
    text = "echo the quick brown fox " * (1 + int(seconds * 10) // 25)
    subprocess.run(["xdotool", "type", "--delay", "100", text[: int(seconds * 10)]],
                   env=env, check=True, timeout=seconds + 30)  # fmt: skip


def test_typing_on_a_still_screen_is_told_then_its_stillness(desk: str) -> None:
    host = ScreenHost(desk)
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password)
        host.say_yes(1)
        # A still screen, said so with the first figures (the join's own
        # picture is no change: it read "1 fps").
        still = view.wait_for(r"\[view\] 640x480 decoded (\d+): still,[^\n]* kbit/s\n")
        host.wait_for(r"\[shared\] 127\.0\.0\.1:\d+: still,[^\n]* kbit/s\n")
        assert not re.search(r"\[view\] 640x480 decoded \d+: \d+ fps", view.text), view.text
        mark, host_mark = still.end(), len(host.text)

        _type_for_seconds(desk, 6.0)
        moving = view.wait_for(r"\[view\] 640x480 decoded (\d+): ([1-9]\d*) fps", mark,
                               timeout=10)  # fmt: skip
        assert int(moving.group(1)) > int(still.group(1)), view.text[mark:]
        host.wait_for(r"\[shared\] 127\.0\.0\.1:\d+: [1-9]\d* fps", host_mark, timeout=10)

        # Still again: told once, after 10 s of it, not a line every 5 s.
        again = view.wait_for(r"\[view\] 640x480 decoded (\d+): still,", moving.end(),
                              timeout=STILL_TOLD_WITHIN)  # fmt: skip
        assert int(again.group(1)) >= int(moving.group(1))
        shown = re.findall(VIEW, view.text[still.start():])
        # Still, changing, still: no line for each burst (a round trip that
        # crossed the slow mark on a loaded machine may add one).
        assert 3 <= len(shown) <= 4, view.text
        host.wait_for(r"\[shared\] 127\.0\.0\.1:\d+: still,", host_mark, timeout=10)
    finally:
        if view is not None:
            view.close()
        host.close()
