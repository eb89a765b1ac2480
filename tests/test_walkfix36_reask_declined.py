"""walkfix36 (walk36): an agent whose link was lost while the host's user
ended the session (``/end``, a host without ``--once``) comes back, the
host's user is asked again and says no.

Found: ``session ended: the connection was lost; not taken up again: the
host's user declined``, exit status 5 (lost). Expected: the host's user
said no, so status 3 (refused, docs/cli.md), in words that say they
declined to let the agent back in. The real host and view CLIs on
pseudo-terminals, through a real proxy on loopback (the page:
tests/web/test_walkfix36_page_reask_declined.py)."""

from __future__ import annotations

from test_walk32_ended_not_resumed import _StayingHost
from transport.test_attack_prompts import _credentials
from transport.test_chatack_cli import _refuse
from transport.test_resume_cli import _ProxyThread
from transport.test_view_cli_send_screens import PtyView


def test_a_no_when_asked_again_is_a_refusal() -> None:
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
        host.type("/end")
        host.wait_for(r"Screen sharing stopped")
        _refuse(proxy, False)
        host.wait_for(r"Question 2: .*?\[y/N\] ")  # asked again
        host.type("n")
        status = view.proc.wait(timeout=30)
        view.wait_for(r"session ended: [^\n]*\n", away)
        said = view.text[away:]
        assert ("session ended: the connection was lost, and the host's user declined to let"
                " you back in") in said, said  # fmt: skip
        assert "not taken up again" not in said, said
        assert status == 3, said
    finally:
        if view is not None:
            view.close()
        host.close()
        if proxy is not None:
            proxy.close()
