"""review6 of the audit log's ``chat_delivered`` (recording/audit.py): what
it says of the host's lines is what a viewer's program claimed, and a
viewer is the untrusted side. Real host with a recorder, a viewer on
loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import CHAT_CHANNEL

from .helpers import run, until
from .test_chatack_session import _Seen
from .test_resume import _Setup


def _delivered(recorder: Recorder, count: int) -> list[list[tuple[Any, ...]]]:
    """Each recording's chat_delivered events (from, count), oldest first."""
    out = []
    for session in sorted(recorder.wait(count, timeout=10.0), key=lambda s: str(s.path)):
        with RecordingReader(session.path) as reader:
            events = reader.events()
        out.append([(e["from"], e["count"]) for e in events if e["type"] == "chat_delivered"])
    return out


def test_the_audit_log_does_not_record_a_viewers_count_of_lines_never_sent(
        tmp_path: Path) -> None:  # fmt: skip
    """A hostile viewer acknowledges 99 of the host's lines, then 0 and
    2^64-1: the host sent one. Its ledger ignores them; the audit log
    recorded them as what the viewer's program has ("count": 99 of the
    host's lines). The same true count again, in a flood, says nothing new."""

    async def main() -> list[list[tuple[Any, ...]]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            await s.host.send_chat("one")
            await until(lambda: host_seen.states() == {1: "delivered"}, 10, "true ack")
            for count in (99, 0, 2**64 - 1, 1, 1, 1):
                payload = bytes([2]) + count.to_bytes(8, "big")
                await viewer._send(m.Extension(CHAT_CHANNEL, payload))
            await viewer.chat("still here")
            await until(lambda: host_seen.received == ["still here"], 10, "in order after")
            await viewer.bye()
            await task
        return await asyncio.to_thread(_delivered, recorder, 1)

    (only,) = run(main(), 30)
    assert only == [("host", 1), ("viewer", 1)]
