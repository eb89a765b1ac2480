"""``screencodec view --web`` whose host's program is killed (SIGKILL)
mid-session: the link is lost, the viewer tries to take the session up
again, the host's machine refuses, and the session is lost for good. The
terminal's last line says so in the words ``view`` uses, the page's banner
too, and the exit status is 5 (LOST: docs/cli.md). It said "the connection
was lost (the peer closed the connection (reconnecting failed: nothing
listens at ...))", after 60 s of retries: the refusal was not told apart
(``refused_is_final``), its errno lost in the terminal's explained error. A real ``host`` (on a
pty), the real ``view --web --no-open`` and its page in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from tests.transport.test_attack_prompts import PtyHost
from tests.transport.test_cli import ENV
from tests.transport.test_view_cli_ux import read_until

from screencodec.cli.main import Exit

from .conftest import wait_page
from .test_web_cli_signals import _URL, View, _open_and_accept, host, view  # noqa: F401

#: What the terminal's last line says (as plain ``view``'s: test_terminals_exit_status).
#: words39: not "(its program has stopped)": a refusal tells no cause.
_LOST = ("session ended: the connection was lost, and the host no longer answers: the host's"
         " user may have ended the session, or their computer went offline or its program"
         " stopped")  # fmt: skip


def test_the_host_killed_mid_session_is_lost_not_ended(
    browser: Any, host: PtyHost, view: View, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    """The viewer takes 2 s of refusals for a stopped host, not 10
    (reconnect.REFUSED_FOR, through its test-only variable)."""
    monkeypatch.setitem(ENV, "SCREENCODEC_TEST_REFUSED_FOR", "2")  # the view's
    proc = view()
    seen = read_until(proc, _URL)
    _open_and_accept(browser, host, seen)
    seen += read_until(proc, "connected to")
    wait_page(browser, lambda s: s["applied"] >= 1, what="a picture in the page")
    host.proc.kill()
    host.proc.wait(10)
    out, err = proc.communicate(timeout=90)
    lines = (seen + out.decode()).splitlines()
    assert "Traceback" not in err.decode(), err.decode()
    assert proc.returncode == Exit.LOST, (proc.returncode, lines, err.decode())
    assert lines[-1] == _LOST, lines
    assert any(x.startswith("the connection was lost; reconnecting") for x in lines), lines
    st = wait_page(browser, lambda s: bool(s["ended"]) and s["closed"], what="the ended page")
    banner = st["banner"]
    assert banner.startswith("The session has ended: the connection to the user's computer was"
                             " lost"), st  # fmt: skip
    assert banner.endswith(", and it no longer answers: the user may have ended the session, or"
                           " their computer went offline or the program stopped."), st


def test_a_lost_link_reconnecting_could_not_mend_reads_as_in_view() -> None:
    """The other end of WebViewer.run's lost link, reconnecting failed (a
    relay or network gone for the 60 s to resume): one plain line, as
    ``view``'s own, not the layers nested."""
    from screencodec.cli.view import _web_lost_words, ended_words
    from screencodec.web.run import LostEnd

    end = LostEnd("channel closed: the peer closed the connection", "failed",
                  "no screencodec host answered at 10.0.0.9:5000 (handshake timed out)")
    assert ended_words(_web_lost_words(end)) == (
        "session ended: the connection was lost; could not reconnect: no screencodec host"
        " answered at 10.0.0.9:5000 (handshake timed out)")  # fmt: skip
