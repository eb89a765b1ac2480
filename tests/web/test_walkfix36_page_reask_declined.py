"""walkfix36 (walk36): ``screencodec view --web`` whose link was lost while
the host's user ended the session (``/end``, a host without ``--once``)
comes back, the host's user is asked again and says no.

Found: the page's banner "Not shared: the host's user declined." as for a
first question, the terminal's last line the same as a first refusal's;
the terminal view said "session ended: the connection was lost; not taken
up again: the host's user declined", exit status 5. Expected: the page and
the terminal say the connection was lost and the user declined to let the
agent back in, and the status is 3 (refused), as the terminal view's
(tests/test_walkfix36_reask_declined.py).

A real ``screencodec host`` (no ``--once``) on a pty, a real ``screencodec
view --web --no-open`` through a proxy the test cuts and keeps refusing,
the real page in headless Chromium.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

from transport.test_cli import CLI, ENV
from transport.test_view_cli_ux import read_until, stop

from .conftest import wait_page
from .test_walk36_page_reasked import _HostNotOnce, _Proxied

BANNER = ("The session has ended: the connection to the user's computer was lost, and the"
          " user declined to let you back in.")  # fmt: skip
LAST_LINE = ("session ended: the connection was lost, and the host's user declined to let you"
             " back in")  # fmt: skip


def test_a_no_when_asked_again_is_told_and_a_refusal(browser: Any) -> None:
    host = _HostNotOnce()
    try:
        found = host.wait_for(r"listening on 127\.0\.0\.1:(\d+)\nSession code: ([\d ]+)\n"
                              r"Password:\s+(\S+)\n")  # fmt: skip
        with _Proxied(int(found.group(1))) as link:
            view = subprocess.Popen(
                [*CLI, "view", f"127.0.0.1:{link.proxy.port}", "--code", found.group(2).strip(),
                 "--password", found.group(3), "--web", "--no-open", "--name", "Alice"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
            )  # fmt: skip
            try:
                out = read_until(view, "#k=")
                url = re.search(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+", out)
                assert url is not None
                browser.get(url.group(0))
                host.say_yes(1)
                wait_page(browser, lambda s: s["applied"] >= 1, what="a picture")
                mark = len(host.text)
                link.cut(refusing=True)
                host.wait_for(r"type /end to prevent it\)", mark)
                host.type("/end")
                host.wait_for(r"Screen sharing stopped", mark)
                link.cut(refusing=False)
                host.wait_for(r"Question 2: .*?\[y/N\] ", mark)
                host.type("n")
                state = wait_page(browser, lambda s: s["closed"], what="the page's link closed")
                rest, err = view.communicate(timeout=30)
                out += rest.decode()
            finally:
                stop(view)
    finally:
        host.close()
    assert state["banner"] == BANNER, state
    assert out.rstrip().endswith(LAST_LINE), (out, err.decode())
    assert view.returncode == 3, (out, err.decode())
