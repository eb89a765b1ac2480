"""A chunk's write that fails with something other than an OSError (a bug
in the write: files32's "the file's end says so, its save fails with it"),
when the file's FileEnd was taken before the write's outcome came back to
the loop (review32c, of 3bf597c). FileReceiver._written returns at once for
a file no longer being received, before it marks the file failed; the save,
queued on the disk thread right behind the write, then names the file
without that chunk: a file short of its end under its final name, and the
sender told it was delivered. (Marking it on the loop would race the save
on the disk thread anyway.) A strict xfail until fixed: Incoming.write now
keeps any exception as the file's error (EIO), on the disk thread, so the
save behind it fails.

A real host and viewer on loopback; the viewer sends a one-chunk file to
the host, whose write of it (files/incoming.write_all) waits until the
host took the FileEnd and then raises RuntimeError (the stand-in for a bug
in the write)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from screencodec.transport.session import messages as m
from screencodec.transport.session.files import incoming
from transport.helpers import run
from transport.test_fileresult_session import _pair


def test_review32c_a_failed_write_after_the_end_is_not_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(1000))
    host_dir, viewer_dir = tmp_path / "host-in", tmp_path / "viewer-in"
    host_dir.mkdir()
    viewer_dir.mkdir()
    ended = threading.Event()

    def failing_write(fd: int, data: bytes | memoryview) -> None:
        ended.wait(30)  # the host took the FileEnd
        raise RuntimeError("a bug in the write")

    monkeypatch.setattr(incoming, "write_all", failing_write)

    async def main() -> str:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            files = host._runtime.files_for(next(iter(host._runtime.links)))
            real_end = files.end

            def end(msg: m.FileEnd, peer: str, send: Callable[[m.Message], Awaitable[None]]
                    ) -> Coroutine[Any, Any, None]:  # fmt: skip
                answer = real_end(msg, peer, send)
                ended.set()
                return answer

            files.end = end  # type: ignore[method-assign]
            sent = await asyncio.wait_for(viewer.sender.send(notes), 60)
            return sent.outcome

    try:
        outcome = run(main(), 120)
    finally:
        ended.set()
    named = host_dir / "notes.bin"
    assert not named.exists(), f"named {named.stat().st_size} of 1000 bytes; sender told {outcome}"
    assert outcome == "failed"
