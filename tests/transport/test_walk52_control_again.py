"""``screencodec view --control`` in a terminal, after the customer took
control back with ``/view``: the agent can ask for it again.

Found (walk52, host and view in tmux through a relay, an xterm under
Xvfb): the customer typed ``/view``; the agent read "the host's user took
back control: you can only watch now", typed ``/type x`` and was told
``(not typed: you do not hold control of the host's mouse and keyboard:
start screencodec view with --control, and the host's user is asked)``, of
a view started with ``--control``. The terminal had no way to ask again
(the web page has its button): only leaving and joining again, the
customer asked once more to let them see.

Expected: ``/control`` asks the host's user again, as ``--control`` does,
in the same words (``asked for control: ...``, ``control granted``), and
what is granted types; the lines that say control is missing point to it.

A real Xvfb with an xterm running bash, a real ``screencodec host
--control xtest`` and ``screencodec view`` each on a pseudo-terminal
(test_walk43_view_types' fixture and helpers).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_view_cli_send_screens import PtyView
from .test_walk43_view_types import _bash_ran, _view_with_control, xterm_log  # noqa: F401

ASKED_AGAIN = "asked for control: waiting for the host's user's answer..."
#: The view's wait for the control question's answer in the late-yes test
#: (the product's 60 s, by $SCREENCODEC_TEST_CONTROL_WAIT).
CONTROL_WAIT = 15.0


def test_control_taken_back_is_asked_for_again_with_slash_control(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Then, in the same session (time53b: it was a test of its own, with a
    host and a view of its own), the customer takes control back again and
    stops the host (Ctrl-C) while the agent's /control is asked: the agent
    read "control not granted: the host did not answer" and then "session
    ended: the host's user ended the session" (walk52, of the first version
    of /control). Only the end is told."""
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    host = PtyHost("--control", "xtest")
    try:
        port, code, password = _credentials(host)
        view = _view_with_control(host, port, code, password)
        try:
            host.type("/view")
            mark = view.wait_for(r"the host's user took back control: you can only watch"
                                 r" now").end()  # fmt: skip
            view.type("/type echo nope")
            # Found: "...: start screencodec view with --control, and the host's user is asked".
            view.wait_for(r"\(not typed: you do not hold control of the host's mouse and"
                          r" keyboard: type /control to ask the host's user for it\)", mark)
            mark = len(view.text)
            view.type("/control")
            view.wait_for(ASKED_AGAIN, mark)
            host.wait_for(r"Question 3: MORE ACCESS.*?\[y/N\] ")
            host.type("y")
            view.wait_for(r"control granted\n", mark)
            view.type("/control")
            view.wait_for(r"\(you hold control already: /type TEXT and /key NAME type on the"
                          r" host's keyboard\)", mark)  # fmt: skip
            view.type("/type echo walk52 $((6 * 7))")
            view.wait_for(r"sent 22 characters to the host's keyboard\n", mark)
            view.type("/key Enter")
            _bash_ran(log, "walk52 42\n")
            assert "nope" not in log.read_text(errors="replace")

            # Taken back again; asked again; the host stopped while asked.
            host.type("/view")
            mark = view.wait_for(r"you can only watch now", mark).end()
            view.type("/control")
            view.wait_for(ASKED_AGAIN, mark)
            host.wait_for(r"Question 4: MORE ACCESS.*?\[y/N\] ")
            host.proc.send_signal(signal.SIGINT)
            view.wait_for(r"session ended: [^\n]*\n", mark)
            assert view.proc.wait(timeout=30) == 0
        finally:
            view.close()
    finally:
        host.close()
    said = view.text[mark:]
    # Found: "control not granted: the host did not answer", then the end.
    assert "control not granted" not in said, said


def test_the_first_control_question_closed_by_the_end_is_not_told_unanswered(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The same of ``--control``'s own question, at the start: the walk
    read "control not granted: the host did not answer", then "session
    ended: the host's user ended the session"."""
    display, _log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    host = PtyHost("--control", "xtest")
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control")  # fmt: skip
        host.say_yes(1)
        view.wait_for(ASKED_AGAIN)
        host.wait_for(r"Question 2: MORE ACCESS.*?\[y/N\] ")
        host.proc.send_signal(signal.SIGINT)
        view.wait_for(r"session ended: [^\n]*\n")
        assert view.proc.wait(timeout=30) == 0
    finally:
        if view is not None:
            view.close()
        host.close()
    # Found: "control not granted: the host did not answer", then the end.
    assert "control not granted" not in view.text, view.text


def test_a_yes_after_the_view_stopped_waiting_is_told(
    xterm_log: tuple[str, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """``host --consent-timeout 120``: the view stops waiting for the
    control question's answer at 60 s ("control not granted: the host did
    not answer"); the customer said y at 75 s, their terminal said the
    agent could now use their mouse and keyboard, and the agent's terminal
    said nothing (walk52). The late yes is told, and what it grants types.

    Here the view's wait is 15 s ($SCREENCODEC_TEST_CONTROL_WAIT, time53b:
    the test waited out the 60 s) and the host's question 45 s: the same
    sequence (the view gives up, the question still open, a yes after it),
    what the walk's 60 s and 120 s were."""
    display, log = xterm_log
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_CONTROL_WAIT", f"{CONTROL_WAIT:g}")
    host = PtyHost("--control", "xtest", "--consent-timeout", f"{3 * CONTROL_WAIT:g}")
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control")  # fmt: skip
        host.say_yes(1)
        host.wait_for(r"Question 2: MORE ACCESS.*?\[y/N\] ")
        view.wait_for(r"control not granted: the host did not answer\n",
                      timeout=CONTROL_WAIT + 20)  # fmt: skip
        mark = len(view.text)
        host.type("y")
        host.wait_for(r"can now use your mouse and keyboard")
        # Found: nothing; the agent took the session for view only.
        view.wait_for(r"control granted: the host's user said yes after all\n", mark, 15)
        time.sleep(1.2)  # the fixture's own pointer move is 1 s behind
        view.type("/type echo late $((6 * 7))")
        view.type("/key Enter")
        _bash_ran(log, "late 42\n")
    finally:
        if view is not None:
            view.close()
        host.close()
