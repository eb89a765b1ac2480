"""``recordings play --web`` meeting a picture that is not the host's (a
plain recording with one delta update forged, docs/recording.md "What play
and export show"): the page is not sent it, its banner names it (docs/web.md
"Playing a recording"), and the terminal is told as ``play --at`` tells it:
``bad-picture: update K ...``, exit 7 (verify's verdict). Before, it printed
only "playback ended: you left the playback in the page" and exited 0. The
real command, its page in headless Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.recording.test_picture_hashes import _forge
from tests.recording.test_shown_checked import _record

from .conftest import wait_page

pytest.importorskip("aiohttp")


def test_a_bad_picture_refused_in_the_page_is_told_in_the_terminal(
    browser: Any, tmp_path: Path,
) -> None:
    plain = tmp_path / "plain.screc"
    k, _, t = _forge(_record(tmp_path / "rec"), plain)
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "recordings", "play", str(plain), "--web",
         "--no-open"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+)", line)
        assert found, line
        browser.get(found.group(1))
        wait_page(browser, lambda s: s["connected"], what="the page")
        browser.execute_script(
            "const r = document.getElementById('seek');"
            "r.value = String(arguments[0]); r.dispatchEvent(new Event('change'));",
            round(t * 1000),
        )
        st = wait_page(browser, lambda s: (s["banner"] or "").startswith("Cannot show"),
                       what="the page's banner")  # fmt: skip
        assert f"bad-picture: update {k} " in st["banner"], st  # the page is told
        browser.find_element("id", "leave").click()
        out, err = proc.communicate(timeout=15)
        assert f"bad-picture: update {k} " in out + err, (out, err)
        assert proc.returncode == 7, (proc.returncode, out, err)
    finally:
        proc.kill()
        proc.communicate()
