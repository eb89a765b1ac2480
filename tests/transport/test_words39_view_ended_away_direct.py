"""words39: an agent using ``view`` directly (no relay) whose link is away
(reconnecting) when the host's user ends the session with ``/end``: the
``--once`` host exits, and every reconnection is refused. It was told
"session ended: the connection was lost, and the host no longer answers
(its program has stopped)", a cause it cannot know (it reads like a crash,
and the person had ended the session). Expected: the likely truth, not a
cause: the host no longer answers, and its user may have ended the session,
or their computer went offline or its program stopped; the exit status
stays LOST (5), as for any lost link not taken up again.

A real ``screencodec host`` and ``screencodec view`` on pseudo-terminals,
the agent's link through a real proxy on loopback that the test cuts, then
closes (nothing listens: refused, as a host's machine answers)."""

from __future__ import annotations

from screencodec.cli.main import Exit

from .test_attack_prompts import PtyHost, _credentials
from .test_chatack_cli import _refuse
from .test_cli import ENV
from .test_resume_cli import _ProxyThread
from .test_view_cli_send_screens import PtyView

#: The view's last line: what it knows (no answer), and what may be why.
NO_ANSWER = ("session ended: the connection was lost, and the host no longer answers: the"
             " host's user may have ended the session, or their computer went offline or"
             " its program stopped")  # fmt: skip


def test_a_direct_view_away_as_the_host_ends_says_what_it_knows() -> None:
    host = PtyHost()
    proxy = view = None
    try:
        port, code, password = _credentials(host)
        proxy = _ProxyThread(port)
        # 2 s of refusals take the host for gone, not 10 (reconnect.REFUSED_FOR).
        view = PtyView(f"127.0.0.1:{proxy.port}", "--code", code, "--password", password,
                       "--name", "Dave", env={**ENV, "SCREENCODEC_TEST_REFUSED_FOR": "2"})
        host.say_yes(1)
        view.wait_for(r"decoded")
        _refuse(proxy, True)  # the agent stays away until the host's user has ended it
        proxy.cut()
        host.wait_for(r"type /end to prevent it")
        away = view.wait_for(r"reconnecting for up to").end()
        host.type("/end")
        assert host.proc.wait(timeout=30) == 0  # --once: ended, and it exits
        proxy.call(proxy.proxy.stop_accepting())  # nothing listens there now
        assert view.proc.wait(timeout=60) == Exit.LOST, view.text
        view.wait_for(NO_ANSWER.replace("(", r"\(").replace(")", r"\)") + r"\r?\n", away)
        assert "its program has stopped" not in view.text, view.text
    finally:
        if view is not None:
            view.close()
        host.close()
        if proxy is not None:
            proxy.close()
