"""walk34: ``recordings play --web`` of a resumed session: the event log
showed a nested value as Python writes it (the resumed link's consent
event: "earlier={'file': 'A.screc', 'sha256': ...}", "resumed=True") and
nothing marked where the link was lost. Expected: nested values as their
fields, cleaned as every string of the file is ("earlier={file=A.screc,
...}", JSON's true/false/null), and a "link lost" row, set apart, at the
end of the lost link's part, saying when the agent came back.

A real session resumed once (a real Host and Viewer over loopback through
a proxy the test cuts, recorded by the real Recorder: test_rec32_chain),
the real CLI in a subprocess, the page in headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from recording.test_rec32_chain import _leave, _session, _web
from screencodec.recording import RecordingReader
from screencodec.web.playback import describe_event, link_marks

from .conftest import wait_page

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _session(tmp_path_factory.mktemp("walk34chain"), 2)


def _rows(browser: Any) -> list[tuple[str, str, bool]]:
    """(kind, text, marked) of each row of the page's event log, in order."""
    return [tuple(r) for r in browser.execute_script(
        "return [...document.querySelectorAll('#event-log li')].map(li => ["
        "li.querySelector('b').textContent, li.querySelector('span').textContent,"
        "li.classList.contains('mark')]);")]  # fmt: skip


def test_walk34_the_log_shows_nested_values_and_marks_the_lost_link(
    chain: list[Path], browser: Any
) -> None:
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
    finally:
        out, err = _leave(browser, proc)
    assert proc.returncode == 0, out + err
    marks = [i for i, row in enumerate(rows) if row[0] == "link lost"]
    assert len(marks) == 1, rows
    _, text, marked = rows[marks[0]]
    assert marked, rows
    assert text.startswith("the connection to the agent was lost ("), text
    assert "; the agent came back " in text and text.endswith(f"s later and the session "
                                                               f"went on ({last.name})"), text
    resumed = [i for i, row in enumerate(rows) if row[0] == "consent" and "came back" in row[1]]
    assert len(resumed) == 1, rows
    consent = rows[resumed[0]][1]
    # Found: "earlier={'file': ..., 'session_id': ...}" and "resumed=True";
    # names52 says the file it names in words.
    assert f"; the part before is {first.name} (in {last.name})" in consent, consent
    assert "resumed=" not in consent and "{'" not in consent, consent
    # The mark is where the first link ended: after its rows, before the second's.
    with RecordingReader(first) as r:
        first_rows = len(r.events())
    assert marks[0] >= first_rows and marks[0] < resumed[0], rows


def test_walk34_nested_values_are_cleaned_and_bounded() -> None:
    kind, text = describe_event({
        "type": "consent", "t": 1.0, "resumed": True, "earlier": None,
        "x": {"name\u202e": "a\x1b[2Jb", "deep": {"a": {"b": {"c": {"d": 1}}}}, "n": [1, 2.5]},
    })  # fmt: skip
    assert kind == "consent"
    # names52: the event in words, what they do not say as its fields.
    assert text == ("the agent came back on a new link (its link was lost) and holds ? again, "
                    "not asked again; the part before was not recorded here; "
                    "x={name?=a?b, deep={a={b={...}}}, n=[1, 2.5]}")  # fmt: skip
    _, raw = describe_event({"type": "odd", "t": 1.0, "earlier": None, "on": True})
    assert raw == "earlier=null, on=true", raw  # a type not known: its fields
    _, long = describe_event({"type": "file", "t": 0.0, "many": list(range(100_000))})
    assert long.startswith("file '?', ? bytes: ?; many=[0, 1, 2, ") and len(long) <= 1000, long


def test_walk34_a_single_file_whose_link_was_lost_is_marked_at_its_end(
    chain: list[Path],
) -> None:
    """The first part alone (its later part not beside it, say): its END
    says the agent's connection ended without a goodbye, so the log marks
    it, not taken up again."""
    from screencodec.recording.chain import Chain

    with RecordingReader(chain[0]) as r:
        marks = link_marks(Chain.of(r))
        assert marks == [(r.duration, marks[0][1])], marks
        assert marks[0][1].endswith("; the session was not taken up again"), marks
