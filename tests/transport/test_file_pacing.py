"""Files sent beside the screen keep the link's queue short (transport/session/
pacing.py): the receiver confirms each chunk, and the sender keeps what is
unconfirmed under a window that follows the queueing delay.

Expected outcomes:

* through a shaping proxy (8 Mbit/s, 20 ms, a 2 MiB buffer) a file from the
  host or from the agent leaves at most 128 kB queued at the bottleneck
  (measured: 64 kB, 64 ms), while one sent as before (to a peer of the
  previous version) queues four times that and more (the whole file);
* files still arrive whole both ways, and the window is free at the end;
* a peer of the previous version (its announcement has no flags) is sent
  whole chunks unpaced and never a confirmation;
* a malformed confirmation ends the session as a protocol error, one for a
  transfer not in flight changes nothing;
* the window grows while the queue stays under the target, halves past
  twice the target (never below two chunks), and a peer that stops
  confirming holds a chunk back by ``stall`` at most.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from screencodec.errors import ProtocolError
from screencodec.linkbench.workloads import measure
from screencodec.transport.session.files import sender as file_sender
from screencodec.transport.session.messages import MAX_FILE_CHUNK, Extension, FileChunk, Message
from screencodec.transport.session.pacing import LEAST_CHUNK, BulkWindow
from screencodec.transport.session.sidechannels import (
    FILE_RESULTS_CHANNEL,
    FileReceiver,
    FileSender,
    file_channel,
    file_progress,
)

from .secure_fixtures import run
from .test_fileresult_session import _dirs, _pair

KiB = 1024


def _old_announcement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sides announce as the version before paced files did."""
    monkeypatch.setattr(file_sender, "file_results_announcement",
                        lambda: Extension(FILE_RESULTS_CHANNEL, bytes([1])))  # fmt: skip


@pytest.mark.parametrize("way", ["down", "up"])
def test_a_file_beside_the_screen_keeps_the_bottleneck_queue_short(
        way: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def queued() -> int:
        # A home router's deep buffer (2 MiB): what is sent too fast waits there.
        # The file may end after the 3 s source: the source plays by the
        # clock, and a paced file yields to the delay a busy CPU adds too
        # (delivered in 3.4-5.1 s with a tenth of a core, 1.8 s alone).
        r = measure("typing", "8M,20ms,2M", seconds=3.0, size=(320, 180), proxy="inline",
                    file=(way, 1536 * KiB), settle=2.0, file_wait=30.0)  # fmt: skip
        assert r.extra["file"]["outcome"] == "delivered", r.extra["file"]
        return r.max_queue_bytes if way == "down" else int(r.extra["max_up_queue_bytes"])

    paced = queued()
    with monkeypatch.context() as old:
        _old_announcement(old)
        unpaced = queued()
    assert paced <= 8 * 16 * KiB, (paced, unpaced)
    assert unpaced >= 4 * paced, (paced, unpaced)


def test_paced_files_arrive_whole_both_ways(tmp_path: Path) -> None:
    host_dir, viewer_dir = _dirs(tmp_path)
    up, down = tmp_path / "up.bin", tmp_path / "down.bin"
    up.write_bytes(os.urandom(700 * KiB))
    down.write_bytes(os.urandom(900 * KiB))

    async def main() -> tuple[bool, bool, BulkWindow | None, BulkWindow | None]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            sent_up, sent_down = await asyncio.gather(
                viewer.send_file(up), host.send_file(down, host.viewers[0])
            )
            host_sender = host._runtime.sender_for(next(iter(host._runtime.links)))
            return sent_up, sent_down, viewer.sender.window, host_sender.window

    sent_up, sent_down, viewer_window, host_window = run(main(), timeout=60)
    assert sent_up and sent_down
    assert (host_dir / "up.bin").read_bytes() == up.read_bytes()
    assert (viewer_dir / "down.bin").read_bytes() == down.read_bytes()
    for window in (viewer_window, host_window):
        assert window is not None  # paced: the peer confirms
        assert window.in_flight == 0


def test_a_peer_of_the_previous_version_gets_whole_chunks_and_no_confirmation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _old_announcement(monkeypatch)
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(MAX_FILE_CHUNK * 2 + 5))
    sizes: list[int] = []
    confirmations: list[bytes] = []
    real_chunk = FileReceiver.chunk

    async def noting(self: FileReceiver, chunk: FileChunk,
                     send: Callable[[Message], Awaitable[None]]) -> None:  # fmt: skip
        sizes.append(len(chunk.data))

        async def sending(msg: Message) -> None:
            if isinstance(msg, Extension):
                confirmations.append(msg.payload)
            await send(msg)

        await real_chunk(self, chunk, sending)

    monkeypatch.setattr(FileReceiver, "chunk", noting)

    async def main() -> tuple[bool, BulkWindow | None]:
        async with _pair(host_dir, viewer_dir) as (_, viewer):
            return await viewer.send_file(src), viewer.sender.window

    ok, window = run(main(), timeout=60)
    assert ok and window is None
    assert sizes == [MAX_FILE_CHUNK, MAX_FILE_CHUNK, 5]
    assert confirmations == []
    assert (host_dir / "big.bin").read_bytes() == src.read_bytes()


def test_confirmations_are_checked(tmp_path: Path) -> None:
    async def main() -> None:
        receiver = FileReceiver(tmp_path, None)
        sender = FileSender(_nowhere)
        sender.pace()
        assert sender.window is not None
        file_channel(receiver, sender, file_progress(7, 1 << 40).payload)  # nothing in flight
        assert sender.window.in_flight == 0
        for bad in (b"\x04", b"\x04" + bytes(11), b"\x04" + bytes(13)):
            with pytest.raises(ProtocolError):
                file_channel(receiver, sender, bad)

    run(main())


async def _nowhere(_: object) -> None:
    return None


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _round(w: BulkWindow, clock: _Clock, transfer: int, at: int, rtt: float) -> int:
    """A window's worth of chunks sent at once and confirmed ``rtt`` later;
    returns the next offset."""
    while w.in_flight + w.chunk() <= w.window:
        size = w.chunk()
        at += size
        w.sent(transfer, at, size)
    clock.now += rtt
    w.confirmed(transfer, at)
    return at


def test_the_window_grows_under_the_target_and_halves_past_twice_it() -> None:
    clock = _Clock()
    w = BulkWindow(target=0.020, clock=clock)
    start = w.window
    at = 0
    for _ in range(6):
        at = _round(w, clock, 1, at, 0.040)  # the empty path: no queue
    assert w.window >= 2 * start and w.slow_start
    grown = w.window
    for _ in range(_FILTER_ROUNDS):
        clock.now += 0.2  # apart: each halving may come once a round trip
        at = _round(w, clock, 1, at, 0.040 + 0.100)  # 100 ms of queue
    assert not w.slow_start
    assert w.window <= grown / 2
    for _ in range(6):  # (all within the 10 s the least round trip is kept)
        at = _round(w, clock, 1, at, 0.040 + 0.500)
    assert w.window == 2 * LEAST_CHUNK  # never below two chunks


_FILTER_ROUNDS = 8  # the delay filter's 4 samples, then cuts once a round trip


def test_a_peer_that_stops_confirming_holds_a_chunk_back_by_stall_at_most() -> None:
    async def main() -> int:
        w = BulkWindow(stall=0.05)
        w.sent(1, int(w.window), int(w.window))  # the window is full
        await asyncio.wait_for(w.wait_room(LEAST_CHUNK), 5.0)
        return w.stalls

    assert run(main()) == 1


def test_forgetting_a_transfer_frees_its_part_of_the_window() -> None:
    async def main() -> int:
        w = BulkWindow()
        w.sent(1, LEAST_CHUNK, LEAST_CHUNK)
        w.sent(2, LEAST_CHUNK, LEAST_CHUNK)
        w.forget(1)
        w.confirmed(1, LEAST_CHUNK)  # a late confirmation of a forgotten transfer
        return w.in_flight

    assert run(main()) == LEAST_CHUNK


def test_a_file_waiting_for_room_stops_waiting_when_the_session_ends() -> None:
    async def main() -> tuple[bool, int]:
        sender = FileSender(_nowhere)
        sender.pace()
        w = sender.window
        assert w is not None
        w.sent(1, int(w.window), int(w.window))  # full, and nobody will confirm
        waiting = asyncio.ensure_future(w.wait_room(LEAST_CHUNK))
        await asyncio.sleep(0.05)
        sender.close()
        await asyncio.wait_for(waiting, 1.0)  # not the 5 s stall
        return w.closed, w.stalls

    assert run(main()) == (True, 0)


def test_on_a_fast_link_chunks_grow_so_the_sender_is_not_bound_by_its_work(
        tmp_path: Path) -> None:  # fmt: skip
    """Loopback, no shaping: the chunks follow the rate the peer confirms up
    to 256 kB (with chunks tied to the window they stayed at 8 kB and a
    paced file crossed loopback at 0.16x the old speed: 289 against 1,830
    Mbit/s)."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(32 << 20))

    async def main() -> int:
        async with _pair(host_dir, viewer_dir) as (_, viewer):
            assert await viewer.send_file(src)
            assert viewer.sender.window is not None
            return viewer.sender.window.chunk()

    # Above the least chunk: tied to the window, they stayed at exactly 8 kB.
    # How far above is the rate loopback's crypto confirms, which is the
    # machine's speed, not this behaviour: 4x (131 Mbit/s) was missed at 20 kB
    # in a fresh clone's full run (stop 35), 64 kB at 47.5 kB at load 6 before.
    assert run(main(), timeout=120) > LEAST_CHUNK
    assert (host_dir / "big.bin").read_bytes() == src.read_bytes()
