"""walkfix36 (walk36): a ``screencodec view`` that did not run for a while
(``kill -STOP``, as a frozen machine or a laptop asleep) and runs again.

Found: on waking after 84 s it printed "(no word from the host for 84 s:
...)" and at once "the connection was lost (nothing received for 10 s (peer
gone))": the channel's idle check, late by the time the program was
stopped, closed the link for a silence it had not waited out, what the host
had sent meanwhile unread. Expected: the silence is counted from when the
program runs again; a host still there (it gives a silent view 15 s) is
heard from and the session goes on, no link lost (a link that is lost
after all names the silence it measured, not the limit: channel/sealed.py).

Real host and view CLIs on pseudo-terminals; the view stopped 12 s (over
the 10 s a host that answered probes is given, under the 15 s after which
the host takes a silent viewer that keeps its link warm for lost:
Timeouts.cold, silent39; past it, the session resumes unasked,
tests/transport/test_silent39_host_parks_silent.py). The two share one host
and view (the first leaves the view in the session).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Iterator

import pytest

from screencodec.transport.channel.limits import Timeouts
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_send_screens import PtyView

STOPPED_FOR = 12.0
#: The host's limit in the test past it: a viewer of this version keeps its
#: link warm (a record every 3 s), and its session can resume.
HOST_LIMIT = Timeouts().cold


class _Dave:
    """A --once host on a pty and 'Dave' viewing it (a view on a pty), let
    in: the session both tests stop the view in (time49c: one host and view
    for the two, the first leaving it in the session; each reads what was
    printed from its own start on)."""

    def __init__(self) -> None:
        self.host = PtyHost()
        self.view: PtyView | None = None
        try:
            port, code, password = _credentials(self.host)
            self.view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                                "--name", "Dave")  # fmt: skip
            self.host.say_yes(1)
            self.view.wait_for(r"decoded")
        except BaseException:
            self.close()
            raise

    def running(self) -> PtyView:
        """The view, running (else the test before ended it)."""
        assert self.view is not None and self.view.proc.poll() is None, self.host.text
        return self.view

    def close(self) -> None:
        if self.view is not None:
            os.kill(self.view.proc.pid, signal.SIGCONT)
            self.view.close()
        self.host.close()


@pytest.fixture(scope="module")
def dave() -> Iterator[_Dave]:
    """The module's :class:`_Dave` (make test runs a file in one process:
    --dist loadfile)."""
    with contextlib.closing(_Dave()) as session:
        yield session


def test_a_view_stopped_a_while_goes_on_once_it_runs_again(dave: _Dave) -> None:
    view = dave.running()
    os.kill(view.proc.pid, signal.SIGSTOP)
    mark = len(view.text)
    try:
        time.sleep(STOPPED_FOR)  # the condition itself: the program not running this long
    finally:
        os.kill(view.proc.pid, signal.SIGCONT)
    dave.host.type("/say still there?")  # the same link carries it: not lost
    view.wait_for(r"still there\?", mark)
    said = view.text[mark:]
    assert "connection was lost" not in said, said
    assert "reconnecting" not in said, said
    assert view.proc.poll() is None, said


def test_a_view_stopped_past_the_hosts_limit_says_whose_silence_it_was(dave: _Dave) -> None:
    """Stopped past the host's limit (15 s, Timeouts.cold): the host
    closed the link; the view reads that close on waking and says which side
    heard nothing, and for how long (found: "nothing received for 10 s (peer
    gone)" after "no word from the host for 84 s")."""
    view = dave.running()
    host_mark = len(dave.host.text)
    os.kill(view.proc.pid, signal.SIGSTOP)
    mark = len(view.text)
    try:
        dave.host.wait_for(r"the connection to 'Dave' \(\S+\) was lost", host_mark, timeout=90)
    finally:
        os.kill(view.proc.pid, signal.SIGCONT)
    view.wait_for(r"back in the session", mark)
    said = view.text[mark:]
    # The host's close came before its reset, or not (a reset drops it).
    lost = (r"^the connection was lost( \(the host heard nothing from this computer"
            rf" for {HOST_LIMIT:g} s\))?; reconnecting for up to 60 s")  # fmt: skip
    assert re.search(lost, said, re.M), said
    assert "nothing received for" not in said, said
    assert "no word from the host" not in said, said  # it was not the host that was silent
