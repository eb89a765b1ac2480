"""walk32: an agent whose session the host's user ended while its link was
down is not told "back in the session" when it comes back.

Walked by hand (screencodec host without --once, view --web through a proxy
the walker stopped): while the agent's link was down, the host's user typed
/say, then /end ("NOT delivered to 'Dave' ..., the session ended: host
during cut 2"). The proxy came back; the view reconnected with its ticket,
the host (whose /end drops the tickets) took it as a new viewer and its user
was asked again ("Question 2: SCREEN SHARING"), said y, and the agent read
"back in the session, granted: view" in the terminal and "Reconnected: the
session goes on." on the page: nothing said the host's user had ended the
session, nor that its last line was lost. The host's chat hello tells the
viewer it was not resumed (transport/session/chat.py: "The host began a new
session"), but neither view nor the page said so. Now the Viewer says
whether its session was taken up (Viewer.resumed, a SessionRejoined event)
and view says it in words. The real host and view CLIs on pseudo-terminals,
through a real proxy on loopback (the page: tests/web/test_pagerejoin32.py)."""

from __future__ import annotations

import os
import pty

from transport.test_attack_prompts import CLI, PtyHost, _credentials
from transport.test_chatack_cli import _refuse
from transport.test_resume_cli import _ProxyThread
from transport.test_view_cli_send_screens import PtyView
from warm_start import warm_popen


class _StayingHost(PtyHost):
    """``screencodec host`` without ``--once``: /end ends the session and the
    code and password stay valid (the next agent is asked again)."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        self.proc = warm_popen(
            [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
             "--size", "160x120", "--control", "none"],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        self._collect(master, slave)


def test_a_session_ended_while_away_is_not_said_to_go_on() -> None:
    host = _StayingHost()
    proxy = view = None
    try:
        port, code, password = _credentials(host)
        proxy = _ProxyThread(port)
        view = PtyView(f"127.0.0.1:{proxy.port}", "--code", code, "--password", password,
                       "--name", "Dave")  # fmt: skip
        host.say_yes(1)
        view.wait_for(r"decoded")
        _refuse(proxy, True)  # the agent stays away until the host's user has ended it
        proxy.cut()
        host.wait_for(r"type /end to prevent it")
        away = view.wait_for(r"reconnecting for up to").start()
        host.type("/say are you there?")
        host.wait_for(r"it goes once they are back\): are you there\?")
        host.type("/end")
        host.wait_for(r"NOT delivered to 'Dave' .*are you there\?")
        _refuse(proxy, False)
        host.wait_for(r"Question 2: .*?\[y/N\] ")  # a new session: its user is asked again
        host.type("y")
        view.wait_for(r"granted: view", away)
        said = view.text[away:]
        assert "back in the session" not in said, said
        assert "ended the session while you were away" in said, said
        assert "this is a new session" in said, said
    finally:
        if view is not None:
            view.close()
        host.close()
        if proxy is not None:
            proxy.close()
