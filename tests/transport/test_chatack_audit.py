"""The audit log of a recorded session says which chat lines each side's
program confirmed (``chat_delivered``, recording/audit.py), beside the
``chat`` lines themselves. Real host with a recorder, viewer on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture import open_source
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct

from .helpers import run, until


def test_the_audit_log_records_what_each_side_confirmed(tmp_path: Path) -> None:
    async def main() -> list[dict[str, object]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        source = open_source("synthetic", width=160, height=120, scenario="idle")
        host = Host(source, consent=allow(), recorder=recorder)
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        async with listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch, who="Alice")
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await viewer.chat("one")
            await viewer.chat("two")
            await host.send_chat("three")
            await until(lambda: viewer.chats.waiting == 0 and viewer.chats.received == 1
                        and host.stats() != [], 10, "acks")  # fmt: skip
            link = next(iter(host._runtime.links))
            await until(lambda: link.chats.waiting == 0, 10, "the host's ack")
            await viewer.bye("done")
            await task
            (done,) = await asyncio.to_thread(recorder.wait, 1)
        await host.close()
        with RecordingReader(done.path) as reader:
            return reader.events()

    events = run(main(), 30)
    said = [(e["type"], e["from"], e.get("text", e.get("count"))) for e in events
            if str(e["type"]).startswith("chat")]  # fmt: skip
    assert sorted(said, key=str) == sorted([
        ("chat", "viewer", "one"), ("chat", "viewer", "two"), ("chat", "host", "three"),
        ("chat_delivered", "viewer", 1), ("chat_delivered", "viewer", 2),
        ("chat_delivered", "host", 1),
    ], key=str)  # fmt: skip
