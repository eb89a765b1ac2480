"""``recordings play --web``: the event log shows what the recording's
strings say, harmless. The agent chose its name and its chat lines, and they
are recorded as sent; a bidi override in them would reorder the auditor's
event row (a chat line that reads otherwise than it was typed) and a
zero-width character would hide. The terminal's ``play --events`` escapes
them (JSON); the page must show them as the live page shows the host's
strings: bidi, invisible and control characters as ``?`` (safe_text /
shownText). Found trying the feature as a new user (newuser2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recording.test_newuser2_list_killed import record_small

from .conftest import wait_page

pytest.importorskip("aiohttp")

from .test_web_playback import _Playback

NAME = "Mallory\u202egnp.exe\u200b"
CHAT = "pay \u202e0001\u202c EUR\x1b[8m hidden"


@pytest.fixture
def playback(tmp_path: Path) -> Iterator[_Playback]:
    pb = _Playback(record_small(tmp_path, NAME, CHAT))
    try:
        yield pb
    finally:
        pb.close()


def test_event_rows_show_the_recordings_strings_harmless(
    browser: Any, playback: _Playback
) -> None:
    browser.get(playback.playback.url)
    wait_page(browser, lambda st: bool(browser.execute_script(
        "return document.querySelectorAll('#event-log li').length >= 2;")),
        what="the event log")  # fmt: skip
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#event-log li')].map("
        "li => li.querySelector('span').textContent);"
    )
    text = "\n".join(rows)
    for bad in ("\u202e", "\u202c", "\u200b", "\x1b"):
        assert bad not in text, (bad, rows)
    assert "agent 'Mallory?gnp.exe?' asked to " in text, rows  # names52: in words
    assert "chat from agent 'Mallory?gnp.exe?': pay ?0001? EUR? hidden" in text, rows
