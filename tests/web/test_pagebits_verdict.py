"""``recordings play --web`` shows the recording's check on the page, not
only in the terminal: a line above the picture, for the whole playback,
green only for a recording signed to its end by a pinned host (``--hosts``),
saying verify's words; an unsigned one played without ``--hosts`` says it is
NOT verified. The line is text (what the file says of itself is never
parsed as HTML). Refused recordings (damaged; with ``--hosts`` no pinned
host's) never get a page: tests/recording/test_shown_checked.py and
test_small_hosts_play_export.py run those refusals."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.recording.test_signed_attacks import signed

from screencodec.recording import generate_host_keypair
from screencodec.recording.sign import host_key_id, load_host_public_key

from .conftest import wait_page

pytest.importorskip("aiohttp")

from .test_web_playback import _Playback

_SHOWN = """
const v = document.getElementById('verdict'), m = document.getElementById('viewport');
return {kind: v.className, text: v.textContent, elements: v.childElementCount,
        seen: v.checkVisibility(),
        above: v.getBoundingClientRect().bottom <= m.getBoundingClientRect().top + 0.5};
"""


def _verdict(browser: Any) -> dict[str, Any]:
    wait_page(browser, lambda s: browser.execute_script(
        "return window.screencodecPage.verdict") is not None, what="the verdict")  # fmt: skip
    shown: dict[str, Any] = browser.execute_script(_SHOWN)
    assert shown["seen"] and shown["above"] and shown["elements"] == 0, shown
    return shown


def test_a_pinned_hosts_recording_is_shown_verified(browser: Any, tmp_path: Path) -> None:
    generate_host_keypair(tmp_path / "h1.key", tmp_path / "h1.pub")
    kid = host_key_id(load_host_public_key(tmp_path / "h1.pub"))
    path = signed(tmp_path / "pinned.screc", tmp_path / "h1.key")
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "recordings", "play", str(path), "--web",
         "--no-open", "--hosts", str(tmp_path / "h1.pub")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        said = proc.stdout.readline()  # verify's line, first
        url = re.search(r"http://127\.0\.0\.1:\d+/#k=\S+", proc.stdout.readline())
        assert url, said
        browser.get(url.group(0))
        shown = _verdict(browser)
        assert shown["kind"] == "verdict verified", shown
        words = ("complete: 16 chunks, 10 updates, 1.000 s; signed by pinned host "
                 f"{kid}: every chunk")
        assert shown["text"] == f"Verified: a pinned host's recording: {words}"
        assert said.strip() == f"{path}: {words}"  # the terminal's line says the same
        browser.find_element("id", "leave").click()
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    finally:
        proc.kill()  # if it still runs
        proc.communicate()


def test_an_unsigned_recording_is_shown_not_verified(browser: Any, tmp_path: Path) -> None:
    path = signed(tmp_path / "<img src=x onerror=alert(1)>.screc", None)
    pb = _Playback(path)
    try:
        browser.get(pb.playback.url)
        shown = _verdict(browser)
        assert shown["kind"] == "verdict unverified", shown
        assert shown["text"] == ("NOT verified: unsigned, it carries no host signature: "
                                 "complete: 13 chunks, 10 updates, 1.000 s")  # fmt: skip
    finally:
        pb.close()
