"""walk44: an agent whose link dropped and who came back through a relay was
named to the customer as ``'Alice' (relay H:P viewer 127.0.0.1 #2) is
back``: a person reading "#2" thinks a second agent came. Through a relay
both links come from the same address, and the host gives the new link a
unique name (takeover36); where the host knows it is the same session taken
up again it now says so, ``(relay H:P viewer 127.0.0.1, reconnected)``.

Real relay, host (on pipes) and view processes on loopback; the view's way
to the relay through a proxy that resets it."""

from __future__ import annotations

import re
import signal

from .test_cli import answer_when_asked, start_host, stop
from .test_resume_cli import _ProxyThread, _read_until
from .test_view_cli_ux import read_until, start_relay, viewer
from .test_view_cli_ux import stop as stop_view


def test_walk44_an_agent_back_through_a_relay_is_not_told_as_a_second_one() -> None:
    relay, port = start_relay()
    where = f"127.0.0.1:{port}"
    host, code, password, _ = start_host(where=("--relay", where))
    proxy = _ProxyThread(port)
    try:
        view = viewer("--relay", f"127.0.0.1:{proxy.port}", "--code", code,
                      "--password", password)  # fmt: skip
        try:
            answer_when_asked(host)
            read_until(view, "decoded")
            proxy.cut()
            read_until(view, "back in the session")
            told = _read_until(host, "stops sharing)")
            back = re.search(r"\n([^\n]*) is back", told)
            assert back, told
            assert re.fullmatch(rf"'[^']*' \(relay {where} viewer 127\.0\.0\.1, reconnected\)",
                                back.group(1)), told  # fmt: skip
            assert "#2" not in told, told
            view.send_signal(signal.SIGINT)
            view.communicate(timeout=30)
        finally:
            stop_view(view)
        assert host.wait(20) == 0
        ended = host.stdout.read() if host.stdout else ""
        assert "#2" not in ended and "viewer 127.0.0.1, reconnected)" in ended, ended
    finally:
        proxy.close()
        stop(host)
        stop(relay)
