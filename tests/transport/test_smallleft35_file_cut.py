"""smallleft35: a file cut mid-send gave its SENDER no event: ``FileSent``
comes only for a file whose end went (or was refused whole), and a session
that ended mid-file made ``send`` raise SessionClosedError with nothing on
the events (walk34), so a program reading only the events could not tell a
cut file from one still going. Expected: one ``FileCut`` per cut file, on
the host's and the viewer's sending side alike, before the session's
``SessionEnded``; cut by the peer leaving, by this side's end, and by the
peer's refusal mid-way (it could not save it: then the ``FileSent``
"failed" follows). Real Host and Viewer over sealed channels on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport import FileCut
from screencodec.transport.session.events import (
    CUT_ENDED,
    CUT_FAILED,
    FileSent,
    SessionEnded,
)

from .secure_fixtures import run
from .test_attack3_file_space import _file_size_limit
from .test_fileresult_session import _pair

KiB = 1024


async def _files_until_end(events: AsyncIterator[object]) -> list[object]:
    """The FileCut and FileSent events up to the SessionEnded, in order."""
    got: list[object] = []
    async for ev in events:
        if isinstance(ev, FileCut | FileSent):
            got.append(ev)
        if isinstance(ev, SessionEnded):
            got.append(ev)
            return got
    return got


@pytest.mark.parametrize("side", ["host", "viewer"])
@pytest.mark.parametrize("ender", ["peer", "self"])
def test_a_session_ended_mid_file_is_one_file_cut_before_the_end(
    tmp_path: Path, side: str, ender: str
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    host_dir, viewer_dir = tmp_path / "host-in", tmp_path / "viewer-in"
    host_dir.mkdir()
    viewer_dir.mkdir()

    async def main() -> tuple[list[object], list[int]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            events = host.events() if side == "host" else viewer.events()
            ending: list[asyncio.Future[None]] = []
            went: list[int] = []
            host_ends = (side == "host") == (ender == "self")

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and not ending:  # the first chunk went: one side ends it
                    ending.append(asyncio.ensure_future(
                        host.disconnect(reason="the host's user ended the session")
                        if host_ends else viewer.bye("the agent left")))

            sent = (host.send(big, host.viewers[0], on_sending=sending) if side == "host"
                    else viewer.sender.send(big, on_sending=sending))  # fmt: skip
            with pytest.raises(SessionClosedError):
                await sent
            await asyncio.gather(*ending)
            got = await asyncio.wait_for(_files_until_end(events), 20)
            return got, went

    got, went = run(main(), timeout=60)
    assert 0 < went[-1] < 4 << 20, went  # mid-file, for sure
    assert [type(ev).__name__ for ev in got] == ["FileCut", "SessionEnded"], got
    cut = got[0]
    assert isinstance(cut, FileCut)
    assert (cut.name, cut.size, cut.cause, cut.transfer) == ("big.bin", 4 << 20, CUT_ENDED, 1)
    assert 0 < cut.sent < cut.size and cut.sent <= went[-1], (cut, went[-1])
    assert cut.arrived <= cut.sent
    assert cut.why == "the session ended"
    assert cut.describe().startswith(f"cut short ({cut.sent} of {4 << 20} bytes sent")


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_a_file_the_peer_stops_taking_midway_is_cut_then_failed(
    tmp_path: Path, side: str
) -> None:
    """2 MiB against the process's 900 KiB file size limit (the receiver's
    write fails with EFBIG mid-way, as with ENOSPC) and it says so: the
    sender stops, a FileCut ("failed", the peer's words), then the FileSent
    "failed" with the same words."""
    host_dir, viewer_dir = tmp_path / "host-in", tmp_path / "viewer-in"
    host_dir.mkdir()
    viewer_dir.mkdir()
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(2048 * KiB))

    async def main() -> list[object]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            events = host.events() if side == "host" else viewer.events()
            sent = await (host.send(src, host.viewers[0]) if side == "host"
                          else viewer.sender.send(src))  # fmt: skip
            assert sent.outcome == "failed"
            got: list[object] = []
            async for ev in events:
                if isinstance(ev, FileCut | FileSent):
                    got.append(ev)
                if isinstance(ev, FileSent):
                    return got
            return got

    with _file_size_limit(900 * KiB):
        files = run(main(), timeout=60)
    assert [type(ev).__name__ for ev in files] == ["FileCut", "FileSent"], files
    cut, sent = files
    assert isinstance(cut, FileCut) and isinstance(sent, FileSent)
    assert cut.cause == CUT_FAILED and "File too large" in cut.why, cut
    assert cut.sent < cut.size == 2048 * KiB
    assert sent.why == cut.why
