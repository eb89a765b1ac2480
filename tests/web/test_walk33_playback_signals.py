"""walk33: ``recordings play --web`` stopped in its terminal (Ctrl-C; SIGTERM,
a logout; SIGHUP, the terminal window closed) ends the playback in order,
as the page's Leave does: the page reads "Playback ended: you can close this
page.", and the command says why and exits 0, as ``view --web`` does for a
session (README, "Watching from a browser").

Walked by hand: after Ctrl-C the terminal said "playback ended:
interrupted" and the page "The viewer program stopped or lost this page:
if it still runs, reload; otherwise run screencodec view again": advice
for a session, of a command that was not run, about a playback that was
over. SIGTERM and SIGHUP killed it without a word to the page.

The real command on a recording made at a real Host (test_web_playback's),
its page in headless Chromium."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_page
from .test_web_playback import _settle

ENDED = "Playback ended: you can close this page."


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_walk33_a_playback_stopped_in_its_terminal_ends_in_order(
    browser: Any, recording: Path, sig: signal.Signals
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
        browser.get(match.group(1))
        _settle(browser, lambda p: p.get("us") == 0, "the first picture")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        state = wait_page(browser, lambda s: s["closed"], what="the page's socket to close")
        assert state["banner"] == ENDED, state
        assert state["ended"] is not None, state
        assert proc.returncode == 0, err
        assert "playback ended: you stopped the playback here\n" in out, out
        assert "Traceback" not in err, err
    finally:
        proc.kill()  # if it still runs
        proc.communicate()  # closes its pipes, not a later test's GC
