"""``/key Shift+a`` in ``screencodec view --control`` presses a capital A.

Found (walk45, host and view in tmux over a relay, an xterm on Xvfb):
``/key Shift+a`` said ``pressed Shift+a on the host's keyboard`` and the
xterm got ``a``. The view sent Shift and the keysym ``a``; the host's
injector types a keysym exactly, so it let Shift go around ``a`` (the key
at the level with no Shift). ``/key Ctrl+Shift+C``, a terminal's copy, was
Ctrl+C: bash's line dropped. Expected: a letter with Shift+ is its capital
(view_typing.chord's own comment: "Shift+ says capitals").

A real Xvfb with an xterm running bash (its output logged by xterm), a
real ``screencodec host --control xtest`` and ``screencodec view`` each on
a pseudo-terminal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import test_walk41_paste_enter as walk41

from .test_walk43_view_types import _bash_ran, controlled_view

xterm_log = walk41.xterm_log  #: the fixture: an Xvfb with an xterm running bash
_output = walk41._output


def test_walk45_shift_and_a_letter_is_its_capital_on_the_host(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with controlled_view(xterm_log, monkeypatch) as (view, log):
        view.type("/type echo walk45-")
        view.wait_for(r"sent 12 characters")
        for key in ("Shift+a", "shift+Q", "z"):
            view.type(f"/key {key}")
            view.wait_for(rf"pressed {re.escape(key)} on the host's keyboard\n")
        view.type("/key Enter")
        # Found: "walk45-aqz".
        _bash_ran(log, "walk45-AQz\n")
