"""Strings a hostile host or viewer chose (names, chat lines, file names,
reasons, the recording's own file name) carry terminal escapes, bidi
overrides and a megabyte of text: the auditor's terminal gets them through
safe_text (``list``, ``verify``, ``play``) or JSON-escaped (``play
--events``), and ``export --log`` stays one valid JSON object per line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from screencodec.recording.format import ChunkType

from .test_attack_craft import cli, craft, event, meta, no_traceback, picture

EVIL = "A\x1b]0;pwned\x07\x1b[2J\u202eB\r\nC\x9b31m\u2028D"
RAW = ("\x1b", "\x07", "\u202e", "\x9b", "\u2028")
MEGA = "x" * (1 << 20)


def _strict(constant: str) -> Any:
    raise ValueError(f"{constant} in a JSONL line")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    name = tmp_path / "name\x1b[2J\u202e.screc"
    events = [
        {"type": "hello", "who": EVIL, "level": "view"},
        {"type": "chat", "from": "viewer", "who": EVIL, "text": EVIL + MEGA},
        {"type": "file", "name": EVIL, "size": 1, "direction": "to-host", "answer": "accepted"},
        {"type": "bye", "from": "viewer", "reason": EVIL},
        {"type": "chat", "from": "host", "text": "\ud800 a lone surrogate"},
    ]
    body = [picture(64, 48)] + [(ChunkType.EVENT, event(ev), 110_000 + i) for i, ev in
                                enumerate(events)]  # fmt: skip
    return craft(name, body, session=meta(who=EVIL + MEGA, peer=EVIL, session_id=EVIL))


def _clean(text: str) -> None:
    assert not [c for c in RAW if c in text], text[:400]


def test_verify_and_list_print_a_hostile_file_name_harmless(hostile: Path) -> None:
    # verify printed the file's name raw: ESC [2J cleared the auditor's screen.
    done = cli("verify", hostile)
    no_traceback(done)
    assert done.returncode == 0, done.stdout
    _clean(done.stdout)
    assert "name??.screc: complete" in done.stdout, done.stdout
    listed = cli("list", hostile.parent)
    _clean(listed.stdout)
    assert listed.returncode == 0 and len(listed.stdout) < 2000, listed.stdout[:400]


def test_prune_prints_a_hostile_file_name_harmless(hostile: Path) -> None:
    # Its "would delete"/"deleted" lines printed the name raw.
    done = cli("prune", hostile.parent, "--days", "1", "--dry-run")
    no_traceback(done)
    assert done.returncode == 0 and "would delete" in done.stdout, done.stdout
    _clean(done.stdout)
    assert hostile.exists()


def test_play_events_are_json_escaped_and_the_file_name_harmless(hostile: Path) -> None:
    done = cli("play", hostile, "--at", "1", "--events", "--out", hostile.parent / "png")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    _clean(done.stdout + done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(str(hostile.parent)) and "name??.screc: 0.11 s" in lines[0]
    events = [json.loads(line, parse_constant=_strict) for line in lines[2:]]
    assert [ev["type"] for ev in events] == ["hello", "chat", "file", "bye", "chat"]
    assert events[0]["who"] == EVIL and events[1]["text"] == EVIL + MEGA


def test_export_log_stays_valid_json_lines(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.jsonl"
    done = cli("export", hostile, "--log", out)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 7  # session, 5 events, the final newline
    rows = [json.loads(line, parse_constant=_strict) for line in lines[:-1]]
    assert rows[0]["type"] == "session" and rows[0]["who"] == EVIL + MEGA
    assert rows[3]["name"] == EVIL and rows[4]["reason"] == EVIL
    _clean(text)  # ensure_ascii: every control and bidi character escaped


def test_an_error_quoting_the_file_name_is_harmless(tmp_path: Path) -> None:
    bad = tmp_path / "x\x1b]0;pwned\x07.screc"
    bad.write_bytes(b"SCREC01\n")  # too short: the error quotes the path
    done = cli("play", bad, "--out", tmp_path)
    no_traceback(done)
    assert done.returncode == 2 and "x?.screc" in done.stderr, done.stderr
    _clean(done.stderr)
