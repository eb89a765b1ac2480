"""odds40: ``recordings play --web`` reaps the browser it started when that
browser ends mid-playback, as ``view --web`` does (web39,
web.browser.reap_browsers). Found: the playback looked once, when the
page opened, and a launcher (xdg-open) that ended later stayed a zombie
of the playback until it ended. Real ``recordings play --web`` process,
headless Chromium; ``$BROWSER`` is a program named xdg-open that runs 8 s
(test_web39_view_web_cli)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

pytest.importorskip("aiohttp")

from screencodec.web.browser import REAP_EVERY

from .test_web39_view_web_cli import BROWSER_RUNS, _launcher
from .test_web_playback import _settle
from .test_webopen38_page_not_opened import _env, _zombies


def test_a_browser_that_ends_mid_playback_is_reaped(
    tmp_path: Path, browser: Any, recording: Path
) -> None:
    record, gone = tmp_path / "url", tmp_path / "gone"
    env = _env(_launcher(tmp_path / "bin", record, gone))
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "recordings", "play", str(recording), "--web"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+)", line)
        assert match, line
        deadline = time.monotonic() + 20
        while not record.exists() or not record.read_text():
            assert time.monotonic() < deadline, "the browser was not started"
            time.sleep(0.05)
        assert record.read_text() == match.group(1)
        browser.get(match.group(1))  # the page, as the launcher would have opened it
        _settle(browser, lambda p: p.get("us") == 0, "the first picture")
        deadline = time.monotonic() + BROWSER_RUNS + 10
        while not gone.exists():
            assert time.monotonic() < deadline, "the browser did not end"
            time.sleep(0.05)
        time.sleep(REAP_EVERY + 1.5)  # reaped within REAP_EVERY, and the shell's exit
        assert proc.poll() is None
        assert _zombies(proc.pid) == []  # found: [".. Z xdg-open"]
        browser.find_element(By.ID, "leave").click()
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        proc.kill()  # if it still runs
        proc.communicate()
