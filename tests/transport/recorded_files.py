"""A recorded host and a viewer in session on loopback, for the audit
log's file rows (audit37, audit38): the recording's events, read back once
the session is over, without their times."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import VIEW, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct

from .test_filecut35_unread_stopped import _dirs
from .test_fileresult_session import _grant, _yes

__all__ = ["Rows", "recorded"]

#: One recording's events, without times.
Rows = list[dict[str, Any]]


@contextlib.asynccontextmanager
async def recorded(tmp_path: Path, *, host_asks: Any = _yes, viewer_asks: Any = _yes,
                   **config: Any) -> AsyncIterator[tuple[Host, Viewer, list[Rows]]]:  # fmt: skip
    """A host recorded under ``tmp_path/"rec"`` (``config`` for its
    HostConfig, ``host_asks`` its user's answer to a file) and a viewer
    (``viewer_asks``) in session, VIEW granted; once it is over, the
    recording's events are put in the list yielded and its path in
    ``tmp_path/"played"``."""
    host_dir, viewer_dir = _dirs(tmp_path)
    recorder = Recorder(tmp_path / "rec", host_id="test-host")
    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=_grant,
                file_consent=host_asks, config=HostConfig(download_dir=host_dir, **config),
                recorder=recorder)  # fmt: skip
    recordings: list[Rows] = []
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel, who="Alice", download_dir=viewer_dir, file_consent=viewer_asks)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        try:
            yield host, viewer, recordings
        finally:
            await viewer.bye("done")
            await task
        done = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
    with RecordingReader(done[0].path) as reader:
        events = reader.events()
    (tmp_path / "played").write_text(str(done[0].path))
    recordings.append([{k: v for k, v in e.items() if k != "t"} for e in events])
