"""``screencodec host --record DIR`` says at start that it records, how long
it keeps recordings, and what its retention deleted then.

Found (walk43): a host started with ``--record recs --record-key
auditor.pub`` said nothing of recording (only each consent question says
RECORDED), and deleted a 91-day-old recording in ``recs`` at start
without a word: whoever runs it could not tell where a recording went.

Expected: one line after the start's lines, e.g. ``recording every session
into recs; kept 90 days (deleted now, older than that: 1 recording,
NAME)``, and one when a session's end deletes more. A real host on a pty
(a real Viewer as the agent); the old recordings real ones, dated back.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from screencodec.recording.writer import ChunkWriter
from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import Where, join, leave, session, wait

DAY = 86400.0
#: What the line says of a host with no --record-key (walk45).
UNSEALED = ("not sealed: readable by this account and root only (file mode 0600);"
            " --record-key AUDITOR.pub seals them")  # fmt: skip


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
    deleted = f"(deleted now, older than that: 1 recording, {old.name})"
    assert said.group(1) == (f"recording every session into {tmp_path}, {UNSEALED}; kept 90 days"
                             f" {deleted}")  # fmt: skip
    assert not old.exists() and young.exists()


def test_a_host_with_nothing_to_delete_says_where_it_records(tmp_path: Path) -> None:
    host = PtyHost("--record", str(tmp_path))
    try:
        said = host.wait_for(r"Type /help for the other commands\.\n([^\n]*)\n")
    finally:
        host.close()
    assert said.group(1) == f"recording every session into {tmp_path}, {UNSEALED}; kept 90 days"
    assert not re.search(r"deleted", host.text), host.text


def test_a_recording_deleted_as_a_session_ends_is_said(tmp_path: Path) -> None:
    host = PtyHost("--record", str(tmp_path), once=False)
    try:

        async def body(at: Where) -> None:
            viewer, running = await join(host, at, "Alice")
            # Past its retention while the host runs (a host left on for days).
            old = _recording(tmp_path / "20260801T000000.000Z-000000000003.screc", 91)
            mark = len(host.text)
            await leave(viewer, running)
            # Found: nothing said, the file gone.
            await wait(host, rf"deleted from {re.escape(str(tmp_path))}, older than 90 days"
                             rf" \(its retention\): 1 recording, {old.name}\n", mark)  # fmt: skip
            assert not old.exists()

        session(host, body)
    finally:
        host.close()
    assert len(list(tmp_path.glob("*.screc"))) == 1  # Alice's
