"""``screencodec view --control`` in a terminal types on the host's keyboard.

Found (walk43, host and view in tmux on an Xvfb with an xterm): ``view
--control`` had the customer asked "'Dave' asks to ALSO CONTROL your mouse
and keyboard", the customer said y, and the agent's terminal then said
``(this terminal sends no input: ...)``: the customer was asked for what
the agent could not use.

Expected: what is granted is usable. ``/type TEXT`` types TEXT on the
host's keyboard and ``/key NAME`` presses a key (``Enter``, ``Ctrl+C``);
without control, each says so and nothing is sent. (The mouse stays the
page's, ``--web``.)

A real Xvfb with an xterm running bash (its output logged by xterm), a
real ``screencodec host --control xtest`` and ``screencodec view`` each on
a pseudo-terminal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import test_walk41_paste_enter as walk41

from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_send_screens import PtyView

xterm_log = walk41.xterm_log  #: the fixture: an Xvfb with an xterm running bash
_output = walk41._output

GRANTED = r"\(type on the host's keyboard with /type TEXT and /key NAME \(/key Enter\);"


def _bash_ran(log: Path, line: str) -> None:
    deadline = time.monotonic() + 15
    while line not in _output(log):
        assert time.monotonic() < deadline, _output(log)
        time.sleep(0.05)


def _view_with_control(host: PtyHost, port: int, code: str, password: str) -> PtyView:
    """``screencodec view --control`` as Dave, dialling ``port``: the host's
    user says yes twice (view, then control), control is granted, and the
    local user's 1 s after the fixture's own pointer move is over. The view
    is closed again if that fails."""
    view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                   "--name", "Dave", "--control")  # fmt: skip
    try:
        host.say_yes(2)  # view, then control
        view.wait_for(GRANTED)
        time.sleep(1.2)
    except BaseException:
        view.close()
        raise
    return view


@contextmanager
def controlled_view(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[PtyView, Path]]:
    """A ``screencodec host --control xtest`` on the fixture's display and
    :func:`_view_with_control` dialling it: ``(the view, the xterm's log)``.
    The view closed, then the host."""
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    host = PtyHost("--control", "xtest")
    try:
        port, code, password = _credentials(host)
        view = _view_with_control(host, port, code, password)
        try:
            yield view, log
        finally:
            view.close()
    finally:
        host.close()


def test_the_terminal_agent_with_control_types_a_command_into_the_xterm(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found: "(this terminal sends no input: to use the host's mouse and keyboard, ...)".
    with controlled_view(xterm_log, monkeypatch) as (view, log):
        view.type("/type echo walk43 $((6 * 7))")
        view.wait_for(r"sent 22 characters to the host's keyboard\n")
        view.type("/key Enter")
        view.wait_for(r"pressed Enter on the host's keyboard\n")
        _bash_ran(log, "walk43 42\n")
        # Ctrl+C reaches bash as one: the line typed before it is dropped.
        view.type("/type sleep 30")
        view.wait_for(r"sent 8 characters")
        view.type("/key Ctrl+C")
        view.wait_for(r"pressed Ctrl\+C on the host's keyboard\n")
        view.type("/key Nope+X")
        view.wait_for(r"\(unknown key 'Nope\+X'\) \(usage: /key NAME")
        view.type("/type echo after")
        view.type("/key Enter")
        _bash_ran(log, "after\n")
        assert "sleep 30\n" not in re.sub(r".*\^C", "", _output(log)), _output(log)
        assert "sends no input" not in view.text, view.text


def test_without_control_type_and_key_say_so_and_send_nothing(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    host = PtyHost("--control", "xtest")
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password)
        host.say_yes(1)
        view.wait_for(r"granted: view\n")
        for typed in ("/type echo nope", "/key Enter"):
            view.type(typed)
            view.wait_for(r"\(not typed: you do not hold control of the host's mouse and"
                          r" keyboard: type /control to ask the host's user for it\)")  # fmt: skip
        time.sleep(1)
        assert "nope" not in _output(log), _output(log)
    finally:
        if view is not None:
            view.close()
        host.close()
