"""walk37: the host's user who ended the session (``/end`` or Ctrl-C) while
the question about letting an agent in was still open (or stopped the
host program: SIGTERM, "ended by the host: the host program was stopped") read, in the host's
own terminal, "session with 'support' (ADDR) ended: ended by the host: the
host's user ended the session": the transport's END reason, which speaks
of the user in the third person, to that user. Expected: "ended: you ended
it without answering" (as a session let in reads "you ended it"), the
counterpart of what the agent reads ("error: the host's user ended the
session without answering", walk34; "the host program was stopped before
its user answered" for SIGTERM; the host's terminal then reads "the host
program was stopped by SIGTERM before you answered", words51). The
question's own line said "closed without an answer: no." (page51): now why
it closed (/end, Ctrl-C: "you ended the session", "you stopped the host
program"; "the host program was stopped by SIGTERM"), nothing shared.

A real ``screencodec host`` on a pty, a real terminal ``screencodec view``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_walkfix35b_host import _reads_refused
from warm_start import warm_popen

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV


def _view(port: int, code: str, password: str) -> subprocess.Popen[str]:
    return warm_popen([sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{port}",
                       "--code", code, "--password", password],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                      env=ENV)  # fmt: skip


@pytest.mark.parametrize("how", ["/end", "Ctrl-C", "SIGTERM"])
def test_walk37_host_says_you_ended_it_without_answering(how: str, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()  # host --record takes a folder that is there (tail39)
    host = PtyHost("--record", str(rec))
    view = None
    try:
        view = _view(*_credentials(host))
        asked = host.wait_for(r"Question 1: .*?\[y/N\] ")
        if how == "/end":
            host.type("/end")
        else:
            host.proc.send_signal(signal.SIGINT if how == "Ctrl-C" else signal.SIGTERM)
        out, err = view.communicate(timeout=30)
        assert view.returncode == 3, out + err
        agent_reads = ("the host program was stopped before its user answered"
                       if how == "SIGTERM" else
                       "the host's user ended the session without answering")  # fmt: skip
        assert err.strip().splitlines()[-1] == agent_reads, err
        ended = host.wait_for(r"session with ([^\n]*?) ended: ([^\n]*)\n", asked.end())
        # words51: a SIGTERM is not the user's doing ("you ended it ..." before).
        host_reads = ("the host program was stopped by SIGTERM before you answered"
                      if how == "SIGTERM" else "you ended it without answering")  # fmt: skip
        assert ended.group(2) == host_reads, host.text
        assert "ended by the host" not in host.text
        # page51: the question's own line says why it closed, not "no" (as
        # if the user had answered no), and that nothing was shared.
        closed = {"/end": "you ended the session", "Ctrl-C": "you stopped the host program",
                  "SIGTERM": "the host program was stopped by SIGTERM"}[how]  # fmt: skip
        assert (f"\n*** Question 1 closed without an answer: {closed}; nothing was shared.\n"
                in host.text[asked.end():]), host.text  # fmt: skip
        assert host.proc.wait(10) is not None
    finally:
        if view is not None and view.poll() is None:
            view.kill()
            view.communicate()
        host.close()
    # Its recording: nobody was let in (walk37: "complete", as a session
    # that took place; its END reason is one a session let in ends with too).
    who = ended.group(1).split("'")[1]
    _reads_refused(rec, tmp_path, who, "the session ended before the user answered")
