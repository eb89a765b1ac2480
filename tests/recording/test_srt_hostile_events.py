"""``recordings export --srt`` (walk42) on a recording whose audit rows a
hostile or broken writer made: an input row's ``start``/``end`` a string,
null, a list, a bool or 1e300 (the reader refuses NaN and Infinity), a
``who`` with escapes and a megabyte of text, a level that is a list.
Found (the lead, reading walk42's merge): ``float("x")`` ended the export
("could not convert string to float", status 2, no file); ``float(None)``
would raise TypeError and 1e300 make a 300-digit clock. Now a time that is
not a number within a year is the row's own time, and each subtitle stays
one short line."""

from __future__ import annotations

import re
from pathlib import Path

from screencodec.recording.format import ChunkType

from .test_attack_craft import cli, craft, event, meta, no_traceback, picture

EVIL = "A\x1b]0;pwned\x07\x1b[2J\u202eB\r\nC"


def test_export_srt_survives_hostile_input_rows(tmp_path: Path) -> None:
    rows = [
        {"type": "grant", "level": "view+control"},
        {"type": "input", "who": "agent", "device": EVIL, "start": "x", "end": "y"},
        {"type": "input", "who": "agent", "device": "pointer", "start": None, "end": [1]},
        {"type": "input", "who": "local", "device": "keyboard", "start": True, "end": 1e300},
        {"type": "revoke", "level": ["control"], "by": "host"},
    ]  # fmt: skip
    body = [picture(64, 48)] + [(ChunkType.EVENT, event(ev), 200_000 + 100_000 * i)
                                for i, ev in enumerate(rows)]  # fmt: skip
    path = craft(tmp_path / "evil.screc", body, session=meta(who=EVIL + "x" * (1 << 20)))
    srt = tmp_path / "evil.srt"
    done = cli("export", path, "--srt", srt)
    no_traceback(done)
    assert done.returncode == 0, (done.stdout, done.stderr)
    text = srt.read_text(encoding="utf-8")
    cues = re.findall(r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)\n\n", text)
    assert len(cues) == 5, text[:2000]  # the grant, the three input rows, the take-back
    assert all(len(c[3]) < 200 for c in cues), [len(c[3]) for c in cues]
    assert not any(c in text for c in ("\x1b", "\x07", "\u202e", "\r")), text[:2000]
    # every cue on the rows' own clock (0.2-0.6 s), none at 'inf' or 1e300
    assert all(c[1].startswith("00:00:00,") for c in cues), text[:2000]
