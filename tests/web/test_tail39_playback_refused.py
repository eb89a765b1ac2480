"""``recordings play --web``'s terminal says when a second page was refused
(tail39), in its own words, as ``view --web``'s does (webtail39: web.run.telling_refusals):
found, the playback's server had no ``on_refused``, so the page said why
and the terminal nothing. Real ``recordings play --web`` process, headless
Chromium."""

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

from screencodec.web.playback import REFUSED_LINES

from .test_web_playback import _settle


def _refusal(browser: Any) -> Any:
    return browser.execute_script("return window.screencodecPage && window.screencodecPage.refusal")


def test_the_playback_terminal_says_once_that_a_second_page_was_refused(
    browser: Any, recording: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "recordings", "play", str(recording), "--web",
         "--no-open"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+)", line)
        assert match, line
        url = match.group(1)
        browser.get(url)
        _settle(browser, lambda p: p.get("us") == 0, "the first picture")
        first = browser.current_window_handle
        tabs = []
        for _ in range(3):  # the link opened again, by hand, three times in a row
            browser.switch_to.new_window("tab")
            browser.get(url)
            tabs.append(browser.current_window_handle)
        for tab in tabs:  # (not waited for in between: one burst, whatever the load)
            browser.switch_to.window(tab)
            deadline = time.monotonic() + 20
            while not _refusal(browser):
                assert time.monotonic() < deadline, "the second page was not refused"
                time.sleep(0.05)
            browser.close()
        browser.switch_to.window(first)
        browser.find_element(By.ID, "leave").click()
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        proc.kill()  # if it still runs
        proc.communicate()
    said = [line, *out.splitlines()]
    refused = [text for text in said if "tried to open this playback" in text]
    assert refused == [REFUSED_LINES[True]], said  # found: []
