"""review45: ``/key Shift+ß`` in ``screencodec view --control``.

walk45 made a letter with Shift+ its capital (``key.upper()``); a letter
whose capital is two letters (ß: "SS", the ligature ﬁ: "FI") then reached
``ord()`` with two characters. Expected: the view keeps running, says what
it pressed, and its next line still types on the host (ß has no one-letter
capital: the key is sent as typed, with Shift, as before walk45).

A real Xvfb with an xterm running bash, a real ``screencodec host --control
xtest`` and ``screencodec view`` each on a pseudo-terminal (walk45's set-up).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import test_walk41_paste_enter as walk41

from .test_walk43_view_types import _bash_ran, controlled_view

xterm_log = walk41.xterm_log  #: the fixture: an Xvfb with an xterm running bash


def test_shift_and_a_letter_with_no_one_letter_capital_is_pressed(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with controlled_view(xterm_log, monkeypatch) as (view, log):
        for key in ("Shift+ß", "Ctrl+Shift+ﬁ", "Ctrl+İ"):
            view.type(f"/key {key}")
            # Found: a TypeError (ord() of "SS").
            view.wait_for(rf"pressed {re.escape(key)} on the host's keyboard\n")
        view.type("/type echo review45-ok")
        view.wait_for(r"sent 16 characters")
        view.type("/key Enter")
        _bash_ran(log, "review45-ok\n")
