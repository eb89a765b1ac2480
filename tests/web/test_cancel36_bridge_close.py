"""cancel36: an upload still under way when the session is over and the
bridge's 2 s wait for the uploads (``uploads_over``) ran out: the bridge's
close cancelled it and its row kept its last state ("waiting for the user",
"sending N%") for good, replayed so to a reloaded page. Expected: its row
says the session's end cut it ("failed: the session ended"), before the
page is drained. The bridge alone, its viewer's send never ending (a
link that stopped taking bytes)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from screencodec.transport import VIEW
from screencodec.web import WebBridge

from .harness import RecordingViewer


class _StuckSender:
    """A viewer's FileSender whose send never ends (until cancelled)."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()
        self.peer_takes_none = False  # the bridge reads it before an offer (files41)

    async def send(self, path: Path, name: str, **kw: Any) -> Any:
        self.sending.set()
        await asyncio.Event().wait()


def test_an_upload_left_running_at_the_close_says_the_session_ended() -> None:
    async def main() -> list[dict[str, Any]]:
        bridge = WebBridge("Alice")
        sent: list[dict[str, Any]] = []
        bridge.send = sent.append  # type: ignore[method-assign]
        viewer = RecordingViewer(VIEW)
        viewer.sender = _StuckSender()  # type: ignore[attr-defined]
        viewer.link_lost = False  # type: ignore[attr-defined]
        bridge.viewer = viewer  # type: ignore[assignment]
        files = bridge.make_files({})
        await bridge._on_text(json.dumps({"t": "file_offer", "id": 1, "name": "a.bin",
                                          "size": 0}))  # fmt: skip
        await bridge._on_text(json.dumps({"t": "file_done", "id": 1}))
        await asyncio.wait_for(viewer.sender.sending.wait(), 5)  # type: ignore[attr-defined]
        bridge.settle()
        await bridge.uploads_over(timeout=0.2)
        told = len(sent)
        bridge.close()
        for _ in range(5):
            await asyncio.sleep(0)  # the cancelled send's task ends
        del files
        return sent[:told] if told else sent

    rows = [x for x in asyncio.run(main()) if x["t"] == "file_progress"]
    assert rows[-1] == {"t": "file_progress", "id": 1, "state": "failed",
                        "text": "the session ended"}  # fmt: skip
