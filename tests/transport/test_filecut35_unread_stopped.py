"""filecut35: the two FileCut causes that had no test of their own, on the
host's and the viewer's sending side alike. ``unread``: this side could not
read the rest of its own file (truncated on disk mid-send): one FileCut,
then the FileSent "failed" with the same words (docs/transport.md, "File
results"). ``stopped``: the task running ``send`` cancelled here: one
FileCut, no FileSent for it, the session goes on (a second file is
delivered), and the peer is told and keeps nothing of it (withdrawn:
files36). Real Host and Viewer over sealed channels on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screencodec.transport import FileCut
from screencodec.transport.session.events import (
    CUT_STOPPED,
    CUT_UNREAD,
    FileReceived,
    FileRefused,
    FileSent,
    SessionEnded,
)
from screencodec.transport.session.files.wire import NOT_READ, WITHDRAWN_STOPPED

from .secure_fixtures import run
from .test_fileresult_session import _alive, _pair

MiB = 1 << 20


async def _files_until(events: AsyncIterator[object], last: type) -> list[object]:
    """The FileCut and FileSent events up to the first ``last`` one, in order."""
    got: list[object] = []
    async for ev in events:
        if isinstance(ev, FileCut | FileSent | SessionEnded):
            got.append(ev)
        if isinstance(ev, last):
            return got
    return got


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    host_dir, viewer_dir = tmp_path / "host-in", tmp_path / "viewer-in"
    host_dir.mkdir()
    viewer_dir.mkdir()
    return host_dir, viewer_dir


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_a_file_truncated_mid_send_is_cut_unread_then_failed(tmp_path: Path, side: str) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> tuple[FileSent, list[object], list[int]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            events = host.events() if side == "host" else viewer.events()
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)  # 0 first: the viewer said yes
                if sent and len(went) == 2:  # the first chunk went: the rest goes from disk
                    os.truncate(big, sent)

            result = await (host.send(big, host.viewers[0], on_sending=sending) if side == "host"
                            else viewer.sender.send(big, on_sending=sending))  # fmt: skip
            got = await asyncio.wait_for(_files_until(events, FileSent), 20)
            await _alive(host, viewer)
            return result, got, went

    result, got, went = run(main(), timeout=60)
    assert [type(ev).__name__ for ev in got] == ["FileCut", "FileSent"], got
    cut, sent = got
    assert isinstance(cut, FileCut) and isinstance(sent, FileSent)
    assert sent == result
    assert (cut.name, cut.size, cut.cause, cut.transfer) == ("big.bin", 4 * MiB, CUT_UNREAD, 1)
    assert 0 < cut.sent < cut.size and cut.sent == went[-1] == went[1], (cut, went)
    assert cut.arrived <= cut.sent
    assert cut.why == f"{NOT_READ}it became shorter than offered", cut
    assert (sent.outcome, sent.why, sent.transfer) == ("failed", cut.why, 1)


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_a_send_cancelled_mid_file_is_cut_stopped_and_no_file_sent(
    tmp_path: Path, side: str
) -> None:
    """The cut, no FileSent for it; the session goes on: a second file is
    delivered, and nothing more of the first is told up to the session's end."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))
    small = tmp_path / "small.txt"
    small.write_bytes(b"after the cut\n" * 1000)
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> tuple[list[object], list[object], list[int]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            events = host.events() if side == "host" else viewer.events()
            went: list[int] = []

            def send(path: Path) -> asyncio.Future[FileSent]:
                return asyncio.ensure_future(
                    host.send(path, host.viewers[0], on_sending=sending) if side == "host"
                    else viewer.sender.send(path, on_sending=sending))  # fmt: skip

            def sending(sent: int, size: int) -> None:
                if size == 4 * MiB:
                    went.append(sent)
                    if sent and len(went) == 2:  # the first chunk went: stop it here
                        first.cancel()

            first = send(big)
            with pytest.raises(asyncio.CancelledError):
                await first
            second = await send(small)
            assert second.outcome == "delivered", second
            before = await asyncio.wait_for(_files_until(events, FileSent), 20)
            await _alive(host, viewer)
            await viewer.bye("done")
            after = await asyncio.wait_for(_files_until(events, SessionEnded), 20)
            return before, after, went

    before, after, went = run(main(), timeout=60)
    assert [type(ev).__name__ for ev in before] == ["FileCut", "FileSent"], before
    cut, sent = before
    assert isinstance(cut, FileCut) and isinstance(sent, FileSent)
    assert (cut.name, cut.size, cut.cause, cut.transfer) == ("big.bin", 4 * MiB, CUT_STOPPED, 1)
    assert 0 < cut.sent < cut.size and cut.sent == went[-1], (cut, went)
    assert cut.arrived <= cut.sent
    assert cut.why == "its sending was stopped here"
    assert (sent.name, sent.transfer, sent.outcome) == ("small.txt", 2, "delivered")
    assert [type(ev).__name__ for ev in after] == ["SessionEnded"], after
    assert (viewer_dir if side == "host" else host_dir).joinpath("small.txt").read_bytes() \
        == small.read_bytes()


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_a_send_cancelled_mid_file_leaves_no_half_file_at_the_peer(
    tmp_path: Path, side: str
) -> None:
    """filecut35 found it (a strict xfail): no withdrawal went, and the
    receiver kept its '.big.bin.part-XXXXXXXX' (and waited for the rest)
    until the session ended, the session going on. files36: the stopped
    send is withdrawn (reason STOPPED), the peer removes what it began and
    tells its user, with how much of it had come."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))
    host_dir, viewer_dir = _dirs(tmp_path)
    peer_dir = viewer_dir if side == "host" else host_dir

    async def main() -> tuple[list[str], list[object], list[int]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            peer_events = viewer.events() if side == "host" else host.events()
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and len(went) == 2:  # the first chunk went: stop it here
                    first.cancel()

            first = asyncio.ensure_future(
                host.send(big, host.viewers[0], on_sending=sending) if side == "host"
                else viewer.sender.send(big, on_sending=sending))  # fmt: skip
            with pytest.raises(asyncio.CancelledError):
                await first
            told = await asyncio.wait_for(_refused(peer_events), 5)
            await _alive(host, viewer)  # whatever the peer was sent has come
            clock = asyncio.get_running_loop().time
            deadline = clock() + 3
            while (left := sorted(p.name for p in peer_dir.iterdir())) and clock() < deadline:
                await asyncio.sleep(0.05)  # its disk thread removes the half file
            return left, told, went

    left, told, went = run(main(), timeout=60)
    assert left == []
    (refused,) = told
    assert isinstance(refused, FileRefused)
    assert (refused.name, refused.size, refused.why, refused.transfer) == (
        "big.bin", 4 * MiB, WITHDRAWN_STOPPED, 1)
    assert 0 < refused.received == went[-1], (refused, went)  # all that went came


async def _refused(events: AsyncIterator[object]) -> list[object]:
    """The first FileRefused or FileReceived of the peer: what its user is told."""
    async for ev in events:
        if isinstance(ev, FileRefused | FileReceived):
            return [ev]
    return []
