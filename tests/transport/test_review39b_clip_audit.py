"""review39b: the audit log's clipboard rows (clip39) keep "never the text
(it may be a password)" unless Recorder(include_clipboard=True): a row has
its length, no digest. Attacked as someone who reads the recording (an
auditor, the retention store): clip39's unsalted SHA-256 of a short text
was the text, for anyone who tries the candidates (a 6-digit PIN: a
million hashes, under a second); no digest now. Real host and viewer on
loopback."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader
from screencodec.transport.session.events import ClipboardReceived

from .helpers import run, until
from .test_clip39_session import MemoryClipboard, _session


def test_attack_the_audit_log_does_not_give_back_a_pin_sent_by_the_customer(tmp_path: Path) -> None:
    async def main() -> Any:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _session(recorder=recorder, clip=MemoryClipboard()) as s:
            await s.host.send_clipboard("492817")  # the customer's PIN, sent by /clip
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the host's text")
        (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return session

    session = run(main())
    with RecordingReader(session.path) as reader:
        (row,) = [e for e in reader.events() if e["type"] == "clipboard"]
    assert "text" not in row
    # Nothing a guess can be checked against: no digest of any kind, and
    # the row's values are its length, names and numbers (review39b found an
    # unsalted sha256 here that gave back the PIN in at most 10**6 hashes).
    assert set(row) <= {"type", "t", "time", "direction", "who", "number", "bytes",
                        "characters"}, row
    assert row["characters"] == 6 and row["bytes"] == 6
    logged = json.dumps(row)
    assert "492817" not in logged
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.blake2b):
        assert digest(b"492817").hexdigest() not in logged
