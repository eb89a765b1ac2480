"""names52: ``recordings play --web``'s event log says each event in words.
walk52 read ``0:05.1 consent answer=view, asked=view, file=..., upgrade=false``:
the log's fields, not what happened. Expected: words a person reads (the
input rows as ``export --srt`` says them, a lost link as the log's marks
say it), what the words leave out after them as ``key=value``, and the
agent's own name (a hostile one here) cleaned and shown as text only.

A real session resumed once by an agent whose name is hostile (a real Host
and Viewer over loopback through a proxy the test cuts, recorded by the
real Recorder: test_rec32_chain's set-up), the real CLI in a subprocess,
the page in headless Chromium."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from recording.helpers import until
from recording.test_rec32_chain import _leave, _web
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import VIEW, Viewer
from screencodec.transport.channel.display import safe_text
from transport.helpers import run
from transport.test_resume import _granted, _lose, _Setup
from transport.test_resume_kept import _Updates

from .conftest import wait_page

pytest.importorskip("aiohttp")

#: The agent's --name: markup, a bidi override and a terminal escape.
HOSTILE = "<img src=x onerror=alert(1)>\u202eAlice\x1b[2J"


def _session(directory: Path) -> list[Path]:
    """A real session of two links, the second resuming the first; its files."""

    async def join(s: _Setup, **kw: Any) -> tuple[Viewer, asyncio.Task[str], _Updates]:
        tap = _Updates(await s.connect())
        viewer = Viewer(tap, who=HOSTILE, **kw)
        await viewer.start(VIEW)
        return viewer, asyncio.ensure_future(viewer.run()), tap

    async def main() -> Any:
        rec = Recorder(directory, host_id="test-host")
        async with _Setup(recorder=rec) as s:
            viewer, task, tap = await join(s)
            await _granted(viewer)
            await until(lambda: len(tap.updates) >= 3, 10, "updates")
            await _lose(s, viewer, task)
            viewer, task, tap = await join(s, resume=viewer.resume_ticket,
                                           picture=viewer.kept_picture)  # fmt: skip
            await _granted(viewer)
            await until(lambda: len(tap.updates) >= 3, 10, "updates")
            await viewer.bye()
            await task
        sessions = await asyncio.to_thread(rec.wait, 2, timeout=20.0)
        await asyncio.to_thread(rec.close)
        return sessions

    return [x.path for x in sorted(run(main(), 120), key=lambda x: x.start_unix)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _session(tmp_path_factory.mktemp("names52"))


def _rows(browser: Any) -> list[tuple[str, str]]:
    """(kind, text) of each row of the page's event log, in order."""
    return [tuple(r) for r in browser.execute_script(
        "return [...document.querySelectorAll('#event-log li')].map(li => ["
        "li.querySelector('b').textContent, li.querySelector('span').textContent]);")]  # fmt: skip


def test_names52_the_player_says_the_events_in_words(chain: list[Path], browser: Any) -> None:
    first, last = chain
    events = 0
    for path in chain:
        with RecordingReader(path) as r:
            events += len(r.events())
    proc, _, url = _web(last)
    try:
        browser.get(url)
        wait_page(browser, lambda st: browser.execute_script(
            "return window.screencodecPage.events;") == events + 1, what="the rows and the mark")
        rows = _rows(browser)
        markup = browser.execute_script(
            "return document.querySelectorAll('#event-log img, #event-log script').length;")
    finally:
        out, err = _leave(browser, proc)
    assert proc.returncode == 0, out + err
    assert markup == 0, rows  # the name is text, never markup
    texts = " | ".join(text for _, text in rows)
    # The old rows: the log's fields ("answer=view, asked=view, ...").
    for raw in ("answer=", "asked=", "upgrade=", "resumed=", "level="):
        assert raw not in texts, rows
    name = f"agent {safe_text(HOSTILE, 64)!r}"  # cleaned, as export --srt says it
    assert "\u202e" not in name and "<img src=x" in name
    with RecordingReader(first) as r:
        peer = r.meta()["peer"]
    consent = [text for kind, text in rows if kind == "consent"]
    assert consent[0] == (f"the local user was asked to let {name} ({peer}) view: yes to view"
                          f" (in {first.name})"), rows  # fmt: skip
    with RecordingReader(last) as r:
        peer2 = r.meta()["peer"]
    assert consent[1] == (f"{name} ({peer2}; at first {peer}) came back on a new link (its "
                          f"link was lost) and "
                          f"holds view again, not asked again; the part before is {first.name}"
                          f" (in {last.name})"), rows  # fmt: skip
    assert f"{name} asked to view" in texts, rows
    assert "granted: view (no control: the agent asked only to view)" in texts, rows
    assert "the connection to the agent was lost (" in texts, rows
    assert "the agent ended the session" in texts, rows
    assert "\u202e" not in texts and "\x1b" not in texts, rows
