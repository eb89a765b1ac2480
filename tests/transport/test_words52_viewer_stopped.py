"""words52: the host's user reads that the agent's viewer program was
stopped, by which signal, when SIGTERM or SIGHUP stopped ``view`` (a
service manager, a logout, the agent's terminal window closed), not "the
agent left the session", the words of the agent's own Ctrl-C. The agent's
Bye says so, and the recording keeps it: its END reason and its audit
log's ``bye``. The Bye's reason is a peer's string: only those exact words,
with one of the two signals' names, are shown as the host's own; any
other is "the agent left, saying: ..." and sanitised, as before.

Real ``host --record`` (on a pty) and ``view`` processes on loopback."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from screencodec.cli.host_lines import _in_users_words, _left_unanswered
from screencodec.recording import RecordingReader

from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_signals import stopped
from .test_view_cli_ux import read_until, stop, viewer


def _stopped(sig: signal.Signals) -> str:
    return f"the agent's viewer program was stopped by {sig.name}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_host_and_the_recording_say_the_viewer_was_stopped(
        sig: signal.Signals, tmp_path: Path) -> None:  # fmt: skip
    rec = tmp_path / "rec"
    rec.mkdir()
    host = PtyHost("--record", str(rec))
    view = None
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        host.type("y")
        read_until(view, "[view] 160x120 decoded")  # joined, the handlers set
        view.send_signal(sig)
        out, err = view.communicate(timeout=30)
        assert view.returncode == 0, (view.returncode, err.decode())
        assert out.decode().splitlines()[-1] == stopped(sig), out.decode()
        line = host.wait_for(r"session with [^\n]* ended: ([^\n]*)\n")
        assert line.group(1) == _stopped(sig), host.text
        assert host.proc.wait(timeout=30) == 0  # --once: the session ended in order
    finally:
        if view is not None and view.poll() is None:
            stop(view)
        host.close()
    (path,) = rec.glob("*.screc")
    with RecordingReader(path) as reader:
        meta, events = reader.meta(), reader.events()
    assert meta["reason"] == f"viewer said bye: {_stopped(sig)}", meta
    byes = [(ev["from"], ev["reason"]) for ev in events if ev["type"] == "bye"]
    assert byes == [("viewer", _stopped(sig))], events


def test_a_signal_while_asked_closes_the_question_saying_so() -> None:
    """The host's user is asked: the question closes, and the line after
    it says, that the agent's viewer program was stopped (it said "the
    agent left")."""
    host = PtyHost()
    view = None
    try:
        port, code, password = _credentials(host)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        read_until(view, "waiting for the host's user to accept")
        view.send_signal(signal.SIGTERM)
        view.communicate(timeout=30)
        assert view.returncode == 0
        why = re.escape(_stopped(signal.SIGTERM))
        host.wait_for(
            rf"\*\*\* Question 1 closed without an answer: {why}; nothing was"
            rf" shared\.\n[^\n]*: {why} before you answered; nothing was shared\n"
        )
        assert "the agent left" not in host.text, host.text
    finally:
        if view is not None and view.poll() is None:
            stop(view)
        host.close()


@pytest.mark.parametrize(
    "said",
    [
        "the agent's viewer program was stopped by SIGKILL",  # not a signal view is stopped by
        "the agent's viewer program was stopped by SIGTERM\x1b[2J",  # more than the words
        "the agent's viewer program was stopped by SIGTERM now",
    ],
)
def test_a_bye_that_only_looks_like_a_stop_is_the_peers_own_words(said: str) -> None:
    """The Bye's reason is the peer's: words that are not the stop's, word
    for word, are shown as the agent's, sanitised (the link's _bye_reason
    has already made them safe_text; the host's line bounds them)."""
    reason = f"viewer said bye: {said}"
    shown = _in_users_words(reason)
    assert shown.startswith("the agent left, saying: "), shown
    assert "\x1b" not in shown
    assert _left_unanswered(reason, asked=True) == (
        "the agent left before you answered; nothing was shared"
    )
