"""input44: ``/type`` on a stalled link puts few characters in flight, says
"sent" of those that left, and ``/stop`` stops the rest.

Found (type43's measure): a link that stopped passing the agent's bytes
took ~46-52 k characters of /type into buffers (asyncio's, the kernel's)
before a send waited; the view printed "sent 2000 characters to the
host's keyboard" for a line still all in them, and /stop could not take
back what they held. Expected: at most view_typing.ON_THEIR_WAY (16)
characters are on their way; no "sent 2000" while the link holds; /stop
says how many left and how many were on their way, and what reaches the
host once the link flows again is exactly those.

A real Xvfb with an xterm running bash, a real ``screencodec host --control
xtest`` and ``screencodec view`` on pseudo-terminals; the stalled link is
type43's proxy that stops passing the agent's bytes on (``Hold``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from screencodec.cli.view_typing import ON_THEIR_WAY

from .test_type43_view_typing import MAX, _all_up, _joined, _output, xterm_log
from .test_walk43_view_types import _bash_ran

__all__ = ["xterm_log"]  # the fixture, used by name


def test_a_type_on_a_stalled_link_keeps_few_characters_in_flight_and_stop_stops_the_rest(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    with _joined(display) as (proxy, view):
        proxy.hold()
        view.type("/type " + "f" * MAX)
        time.sleep(5)
        # Found: "sent 2000 characters to the host's keyboard" at once.
        assert "sent 2000" not in view.text, view.text
        view.type("/stop")
        stopped = view.wait_for(
            rf"\(typing stopped: (\d+) of {MAX} characters sent(?:; (\d+) more had not left"
            r" this computer and may still be typed)?; the rest not typed\)")  # fmt: skip
        left, on_way = int(stopped[1]), int(stopped[2] or 0)
        # The proxy's kernel took what its small window let in (its socket's
        # 4 KiB receive buffer): those left; the rest waits in ours.
        assert on_way == ON_THEIR_WAY, view.text
        assert left + on_way < 300, view.text
        proxy.flow()
        view.type("/key Enter")
        view.wait_for(r"pressed Enter on the host's keyboard\n")
        _bash_ran(log, ": command not found")
        typed = re.findall(r"bash: (f+): command not found", _output(log))
        # What reached the host is what left and what was on its way: no more.
        assert [len(t) for t in typed] == [left + on_way], (typed, view.text)
        view.type("/type echo flowing")
        view.wait_for(r"sent 12 characters to the host's keyboard\n")
        view.type("/key Enter")
        _bash_ran(log, "flowing\n")
        _all_up(display)
