"""``screencodec view --web --max-pixels N``: the page is given the viewer's
limit, so a host's picture over it ends the session, and the agent's
terminal says why and what to type instead. A real ``host`` (on a pty), the
real ``view --web --no-open`` and its page in headless Chromium.

Before: ``--max-pixels`` was no option."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from tests.transport.test_attack_prompts import PtyHost, _credentials
from tests.transport.test_cli import CLI, ENV
from tests.transport.test_view_cli_ux import read_until, stop

_URL = re.compile(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")


def test_a_host_picture_over_max_pixels_ends_the_web_session_in_words(browser: Any) -> None:
    host = PtyHost()  # 160x120: 19200 pixels
    view = None
    try:
        port, code, password = _credentials(host)
        view = subprocess.Popen(
            [*CLI, "view", f"127.0.0.1:{port}", "--code", code, "--password", password,
             "--web", "--no-open", "--max-pixels", "19199"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
        )  # fmt: skip
        url = _URL.search(read_until(view, _URL))
        assert url
        browser.get(url.group(0))
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        host.type("y")
        out, err = view.communicate(timeout=60)
        assert view.returncode == 1, err.decode()  # an error (cli.main.Exit): over its limit
        assert out.decode().splitlines()[-1] == (
            "session ended: the host's screen is 160x120, over this viewer's limit of 19199"
            " pixels (to watch it, start screencodec view with --max-pixels 19200)"), out
        host.wait_for(r"over this viewer's limit of 19199 pixels")
    finally:
        if view is not None:
            stop(view)
        host.close()
