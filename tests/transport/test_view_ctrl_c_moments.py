"""flaky36a: one Ctrl-C at the terminal ``screencodec view`` at a moment of
its session that no test hit but by luck. Each leaves as a Ctrl-C anywhere
in the session does (the host gets the agent's Bye, the end line is told,
exit status 0), or, once the session has ended, changes nothing; nor do
SIGTERM and SIGHUP then (ends53: -15).

Found: a Ctrl-C as the host's user said yes was dropped (the session went
on); one once the two lines after the yes were printed (the view joined
with one set of signal handlers and ran the session with another, put in
after them) exited 130, no Bye; one after the end line of a session the
host ended (its user's /end; a ``--once`` host ends every session once the
first agent leaves) exited 130, from the moment its handlers were put back
to the program's end. test_host_cli_send_nofiles's last test, which leaves
Alice's view as Bob's Bye closes the host, failed so (1 run in 12 of its
file beside 3 busy CPUs; the lead's count: 3 in 12).

Real: ``screencodec host`` and ``screencodec view`` on ptys, over loopback;
the Ctrl-C is a real SIGINT the view sends itself as the named step of its
code runs, so it lands at that moment every time."""

from __future__ import annotations

import pty
import subprocess
import sys

import pytest

from screencodec.cli.main import Exit

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV

#: The view, run as its console script does, sending itself SIGINT at the
#: moment ``argv[1]`` names (once).
_PROGRAM = """
import os, signal, sys
from screencodec.cli import terminal, view, view_signals
from screencodec.transport.session.viewer import Viewer

def ctrl_c():  # and the other signals named (ends53)
    for name in os.environ.get("TEST_SIGNALS", "SIGINT").split(","):
        os.kill(os.getpid(), getattr(signal, name))

def before(owner, name):
    real = getattr(owner, name)
    def step(*args, **kwargs):
        setattr(owner, name, real)
        ctrl_c()
        return real(*args, **kwargs)
    setattr(owner, name, step)

moment = sys.argv[1]
if moment == "yes":  # as the host's yes arrives: the loop hands on both at once
    start = Viewer.start
    async def started(self, *args, **kwargs):
        level = await start(self, *args, **kwargs)
        ctrl_c()
        return level
    Viewer.start = started
elif moment == "joined":  # the lines after the yes printed, the chat not read yet
    before(view, "_typed_lines")
elif moment == "handing back":  # the end line told, SIGTERM's handler being put back
    tell, given_back = view.tell, view_signals._given_back
    def told(text):
        tell(text)
        if text.startswith("session ended"):
            view.tell = tell
            def handed(loop, sig, previous):
                if sig == signal.SIGTERM:
                    view_signals._given_back = given_back
                    ctrl_c()
                return given_back(loop, sig, previous)
            view_signals._given_back = handed
    view.tell = told
elif moment == "ended":  # the handlers put back, the status worked out
    before(view, "_end_status")
elif moment == "closing":  # the event loop gone, the terminal's modes put back
    # And again as the interpreter exits: TypedLine registered this close
    # (the step) with atexit when it was made.
    before(terminal.TypedLine, "close")
sys.argv = [sys.argv[0], *sys.argv[2:]]
from screencodec.cli import main
sys.exit(main())
"""


class _View(PtyHost):
    """``screencodec view ARGS`` on a pty that Ctrl-Cs itself at ``moment``."""

    def __init__(self, moment: str, *args: str, signals: str = "SIGINT") -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, moment, "view", *args],
                                     stdin=slave, stdout=slave, stderr=slave,
                                     env={**ENV, "TEST_SIGNALS": signals},
                                     close_fds=True)  # fmt: skip
        self._collect(master, slave)


def _session(moment: str, signals: str = "SIGINT") -> tuple[PtyHost, _View]:
    host = PtyHost()
    port, code, password = _credentials(host)
    try:
        view = _View(moment, f"127.0.0.1:{port}", "--code", code, "--password", password,
                     "--name", "Alice", signals=signals)  # fmt: skip
    except BaseException:
        host.close()
        raise
    return host, view


@pytest.mark.parametrize("moment", ["yes", "joined"])
def test_a_ctrl_c_as_the_session_starts_leaves_it_with_a_bye(moment: str) -> None:
    host, view = _session(moment)
    try:
        host.say_yes(1)
        try:
            status = view.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # found at "yes": the session went on
            status = None
        assert status == 0, view.text
        view.wait_for(r"session ended: you left the session\n\0EOF")  # the last it said
        host.wait_for(r"session with 'Alice' \(127\.0\.0\.1:\d+\) ended: the agent left the"
                      r" session\n")  # fmt: skip
        assert host.proc.wait(timeout=30) == 0  # --once: the session ended in order
    finally:
        view.close()
        host.close()


@pytest.mark.parametrize("moment", ["handing back", "ended", "closing"])
def test_a_ctrl_c_after_the_host_ended_the_session_changes_nothing(moment: str) -> None:
    """Nor do SIGTERM and SIGHUP, sent with it (ends53): once the end line
    was told, SIGTERM's default was back, and killed the view as it closed
    (-15: a crash to a shell or a service manager, where the end line said
    the session had ended in order); ``view --web`` closes its page's
    server and browser then."""
    host, view = _session(moment, "SIGINT,SIGTERM,SIGHUP")
    try:
        host.say_yes(1)
        view.wait_for(r"type /say and your message")
        host.type("/end")
        assert view.proc.wait(timeout=30) == Exit.ENDED, view.text  # found: 130; -15
        # The end line last: no line ended after it, as for an interrupted command.
        view.wait_for(r"session ended: the host's user ended the session\n\0EOF")
        assert host.proc.wait(timeout=30) == 0
    finally:
        view.close()
        host.close()
