"""The receiver's look at its download folder after the user's yes (is it
there, a folder, writable, not on a read-only file system) is made on its
disk thread, not on the session's loop (docs/transport.md, "Files"). Before,
``FileReceiver.decide`` made it on the loop: a download folder on a disk that
stops answering (NFS) froze the screen, the input and the chat for as long.

Real host and viewer over sealed channels on loopback. The folder's
``os.statvfs`` is made to wait (at most 2 s) until a ticker on the loop has
gone round three times since it began: made on the loop, it waits the whole
2 s and the ticker never moves meanwhile; off it, the ticker frees it at
once. The file is saved all the same. An offer its sender gives up while
the folder is looked at, after the user's yes, is refused as one given up
during its question: the host's user is told it was withdrawn, nothing of
it is written, and the session goes on."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from screencodec.transport.session.events import FileRefused, FileSent
from screencodec.transport.session.sidechannels import WITHDRAWN

from .secure_fixtures import run
from .test_file_offer_given_up import _Seen
from .test_fileresult_session import _alive, _dirs, _pair

KiB = 1024


def test_filesleft_the_loop_runs_while_the_download_folder_is_looked_at(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(os.urandom(100 * KiB))
    ticks = [0]
    began: list[int] = []  # the ticks when the folder's statvfs began
    freed = threading.Event()  # set by the loop: three ticks since then
    waited: list[bool] = []  # whether each look was freed by the loop
    real = os.statvfs

    def statvfs(path: os.PathLike[str] | str | int) -> os.statvfs_result:
        if not isinstance(path, int) and Path(path) == host_dir:
            began.append(ticks[0])
            waited.append(freed.wait(2.0))  # the slow disk: freed by the loop's ticks only
        return real(path)

    monkeypatch.setattr(os, "statvfs", statvfs)

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.005)
            ticks[0] += 1
            if began and ticks[0] >= began[-1] + 3:
                freed.set()

    async def main() -> bool:
        ticking = asyncio.ensure_future(ticker())
        try:
            async with _pair(host_dir, viewer_dir) as (_host, viewer):
                return await viewer.send_file(src)
        finally:
            ticking.cancel()

    delivered = run(main())
    assert waited == [True], waited  # found: [False], the loop stood still for the 2 s
    assert delivered
    assert (host_dir / "notes.txt").read_bytes() == src.read_bytes()


def test_filesleft_an_offer_given_up_while_the_folder_is_looked_at_is_withdrawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(os.urandom(100 * KiB))
    looking = threading.Event()  # the host's look at its folder began
    go_on = threading.Event()  # ... and may end
    real = os.statvfs

    def statvfs(path: os.PathLike[str] | str | int) -> os.statvfs_result:
        if not isinstance(path, int) and Path(path) == host_dir:
            looking.set()
            go_on.wait(10.0)  # the slow disk: until the withdrawal was told
        return real(path)

    monkeypatch.setattr(os, "statvfs", statvfs)

    async def main() -> tuple[FileSent, object, list[object]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            seen = _Seen(host.events())
            sending = asyncio.ensure_future(viewer.sender.send(src))  # transfer 1
            await asyncio.to_thread(looking.wait, 10.0)
            assert looking.is_set()
            viewer.sender._give_up(1)  # its offer timeout, by hand: withdrawn
            sent = await sending
            told = await seen.first((FileRefused,))
            go_on.set()
            await _alive(host, viewer)
            return sent, told, seen.of(FileRefused)

    sent, told, refusals = run(main())
    assert (sent.outcome, sent.why) == ("declined", "no answer in time")
    assert isinstance(told, FileRefused) and told.why == WITHDRAWN, told
    assert len(refusals) == 1
    assert not any(host_dir.iterdir())
