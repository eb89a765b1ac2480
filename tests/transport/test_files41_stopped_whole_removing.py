"""files41: a file all of which came, stopped by the local user once its
save had named it, is removed on the disk thread (``FileReceiver.stop``,
files37: never left under its name). ``settle`` (a session's end, a host's
close) waits for that removal; ``removing()`` did not list it.

Found: with the disk not answering, the removal pending, ``removing()``
(and so ``Host.removing()``) was empty: an embedder reading it was told
nothing is pending while its close waited. Expected: listed, with all of
it come, until the disk removed it.

A real FAT image served by fusefat. The disk is stopped after the save has
named the file (and synced its folder: the save is done on the disk
thread) and before the loop hears of it: the test holds the loop meanwhile,
so the stop is seen by the loop's word of the save, which gives the
removal to the disk thread. Nothing is timed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import time
from pathlib import Path

from screencodec.transport.session import messages as m
from screencodec.transport.session.sidechannels import FileOfferInfo, FileReceiver
from transport.helpers import run
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import stalled, stop_disk

__all__ = ["fat"]  # the fixture


async def _yes(info: FileOfferInfo) -> bool:
    return True


def test_files41_a_whole_file_stopped_as_it_is_saved_is_listed_while_it_is_removed(
    fat: Path,
) -> None:
    data = os.urandom(100_000)
    events: list[object] = []

    async def nothing(msg: m.Message) -> None:
        pass

    async def main(daemon: int) -> tuple[list[tuple[str, int, int]], bool, list[str], bool]:
        rec = FileReceiver(fat, _yes, on_event=events.append)
        offer = m.FileOffer(1, "notes.bin", len(data))
        info = rec.admit(offer, "Alice")
        assert info is not None
        assert (await rec.decide(offer, info)).accepted
        await rec.chunk(m.FileChunk(1, 0, data), nothing)
        replying = asyncio.ensure_future(rec.end(m.FileEnd(1, hashlib.sha256(data).digest()),
                                                 "Alice", nothing))  # fmt: skip
        # The loop held (no await) while the disk thread saves it: its
        # name, then its folder synced; the loop has not heard of it yet.
        deadline = time.monotonic() + 30
        while not (fat / "notes.bin").exists():
            assert time.monotonic() < deadline, os.listdir(fat)
            time.sleep(0.005)
        save = rec._last_save  # (the disk thread's future: done once its folder is synced)
        assert save is not None
        while not save.done():
            assert time.monotonic() < deadline
            time.sleep(0.005)
        stop_disk(daemon)
        assert rec.stop(1) == []  # its save is not heard of yet: removed once it is
        # The loop hears of the save: the removal goes to the disk thread.
        # Waited for, not slept for (1 s of 0.05 s sleeps, flake41): listed
        # once given (found: never, the disk stopped), or the deadline.
        while not rec.removing() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        listed = [(f.name, f.size, came) for f, came in rec.removing()]
        settling = asyncio.ensure_future(rec.settle())
        for _ in range(20):  # turns of the loop, which a loaded machine does not shorten
            await asyncio.sleep(0)
        await asyncio.wait({settling}, timeout=0.5)
        waited = not settling.done()
        os.kill(daemon, signal.SIGCONT)  # the disk answers: removed
        await settling
        await replying
        rec.close()
        return listed, waited, os.listdir(fat), rec.removing() == []

    with stalled(fat) as daemon:
        listed, waited, left, none_after = run(main(daemon), 60)
    assert waited, "settle did not wait for the removal"
    assert listed == [("notes.bin", len(data), len(data))]
    assert left == [] and none_after
    assert [type(ev).__name__ for ev in events] == ["FileRefused"]
