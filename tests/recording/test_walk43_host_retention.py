"""``screencodec host --record DIR`` says at start that it records, how long
it keeps recordings, and what its retention deleted then.

Found (walk43): a host started with ``--record recs --record-key
auditor.pub`` said nothing of recording (only each consent question says
RECORDED), and deleted a 91-day-old recording in ``recs`` at start
without a word: whoever runs it could not tell where a recording went.

Expected: one line after the start's lines, e.g. ``recording every session
into recs; kept 90 days (deleted now: 1 recording older than that,
NAME)``. A real host on a pty; the old recording a real one, dated back.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from screencodec.recording.writer import ChunkWriter
from transport.test_attack_prompts import PtyHost

DAY = 86400.0


def _recording(path: Path, age_days: float) -> Path:
    ChunkWriter(path, start_unix=time.time() - age_days * DAY).close()
    return path


def test_the_host_says_it_records_and_what_its_retention_deleted(tmp_path: Path) -> None:
    old = _recording(tmp_path / "20260801T000000.000Z-000000000001.screc", 91)
    young = _recording(tmp_path / "20261201T000000.000Z-000000000002.screc", 5)
    host = PtyHost("--record", str(tmp_path))
    try:
        said = host.wait_for(r"Type /help for the other commands\.\n([^\n]*)\n")
    finally:
        host.close()
    # Found: nothing after the start's lines, and the old one gone unsaid.
    deleted = f"(deleted now: 1 recording older than that, {old.name})"
    assert said.group(1) == f"recording every session into {tmp_path}; kept 90 days {deleted}"
    assert not old.exists() and young.exists()


def test_a_host_with_nothing_to_delete_says_where_it_records(tmp_path: Path) -> None:
    host = PtyHost("--record", str(tmp_path))
    try:
        said = host.wait_for(r"Type /help for the other commands\.\n([^\n]*)\n")
    finally:
        host.close()
    assert said.group(1) == f"recording every session into {tmp_path}; kept 90 days"
    assert not re.search(r"deleted", host.text), host.text
