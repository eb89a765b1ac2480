"""follow42 on the page: ``view --web --relay A`` (given relay A's own
address), the host at A too; A killed (kill -9). The web viewer goes
through the same connect code as ``view``: it tries A, then B, which A's
RELAY_OK named, where the host moved (failover42). Expected: the page's
status goes from "Reconnecting ..." back to "Connected" without the host's
user being asked again, and the terminal says where it got in.

Found before follow42: the page read "Reconnecting, for up to N s more:
nothing listens at relay A (connection refused)" for 60 s, then the
session ended. Real redis-server, two ``screencodec relay`` processes,
``screencodec host`` and ``view --web`` on ptys, headless Chromium."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.relay.cluster import RedisServer, RelayProcess
from tests.relay.test_walk42_relay_docs_commands import PtyCommand
from tests.transport.test_view_cli_send_screens import PtyView

from .conftest import wait_page
from .test_newuser2_page_states import _text


def test_the_page_follows_its_host_to_the_other_relay(browser: Any) -> None:
    redis = RedisServer()
    redis.start()
    first = second = host = view = None
    try:
        first, second = RelayProcess(redis, 15.0), RelayProcess(redis, 15.0)
        a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"
        host = PtyCommand(["host", "--relay", a, "--source", "synthetic", "--size", "160x120",
                           "--control", "none"])  # fmt: skip
        found = host.wait_for(r"Session code: ([\d ]+)\nPassword:\s+(\S+)\n")
        code, password = found.group(1).strip(), found.group(2)
        view = PtyView("--relay", a, "--code", code, "--password", password, "--web",
                       "--no-open", "--name", "Alice")  # fmt: skip
        url = view.wait_for(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+")
        browser.get(url.group(0))
        host.say_yes(1)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        first.kill()
        said: list[str] = []
        deadline = time.monotonic() + 30
        while not (len(said) > 1 and said[-1] == "Connected"):
            assert time.monotonic() < deadline, said
            status = _text(browser, "status")
            if not said or said[-1] != status:
                said.append(status)
            time.sleep(0.05)
        assert any(line.startswith("Reconnecting, for up to") for line in said), said
        view.wait_for(re.escape(f"reconnected through the relay at {b}, of the same cluster as"
                                f" the one at {a} (not reachable); waiting for the host"))
        # Not asked again: one question only.
        assert "Question 2" not in host.text, host.text
    finally:
        for proc in (view, host):
            if proc is not None:
                proc.close()
        for relay in (first, second):
            if relay is not None and relay.proc.poll() is None:
                relay.kill()
        redis.stop()
