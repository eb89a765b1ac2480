"""silent39 (review38b, found by reading): the host's own wait read as the
agent's silence.

An agent's viewer of an earlier version sends a file without pacing (it
never hears the host confirm chunks) and without keeping its link warm. The
host's disk stops answering as the file arrives: once ``QUEUED_MOST`` bytes
wait for the disk, the host's receive loop waits for room (files/receiver.py),
reads nothing more, and TCP holds the viewer. Nothing of the viewer is read
then, so its ``last_heard`` stands still. Expected: the host's terminal does
not say "no word from 'Alice' ...: their connection may be down" of a link
it is not reading (its own wait, not the agent's silence).

A real host and viewer in this process over loopback; the host's download
folder a real FAT image served by fusefat, whose daemon is stopped (SIGSTOP)
as the file's second chunk goes. The CLI's :class:`Silences` judges the
host's ``heard()`` every half second, as ``screencodec host`` does."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from screencodec.capture.base import CursorState, FrameSource
from screencodec.cli.host_events import SILENCE_CHECK, Silences
from screencodec.cli.host_lines import SILENT_AFTER
from screencodec.cli.terminal import StatusLines
from screencodec.geometry import Monitor
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.files.incoming import QUEUED_MOST

from .helpers import run, until
from .test_files2_off_loop import _daemon
from .test_small_file_durable import _fat_tools
from .test_stopdisk_host import stop_disk

#: Past what the host queues for its disk, and what TCP and asyncio hold.
FILE_SIZE = QUEUED_MOST + (16 << 20)


@pytest.fixture
def big_fat(tmp_path: Path) -> Iterator[Path]:
    """A fresh FAT file system mounted read-write (FUSE), room for the file."""
    why = _fat_tools()
    if why:
        pytest.skip(why)
    image, mount = tmp_path / "fat.img", tmp_path / "fat"
    with image.open("wb") as f:
        f.truncate(FILE_SIZE + (32 << 20))
    mount.mkdir()
    subprocess.run(["mkfs.vfat", str(image)], check=True, capture_output=True)
    subprocess.run(["fusefat", "-o", "rw+", str(image), str(mount)], check=True,
                   capture_output=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not os.path.ismount(mount):
            assert time.monotonic() < deadline, "the FAT image was not mounted"
            time.sleep(0.05)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def test_the_hosts_own_disk_wait_is_not_the_agents_silence(big_fat: Path,
                                                           tmp_path: Path) -> None:  # fmt: skip
    daemon = _daemon(big_fat)
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(FILE_SIZE)  # sparse: zeros
    watchdog = threading.Timer(90.0, lambda: os.kill(daemon, signal.SIGCONT))
    watchdog.daemon = True

    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def yes(info: object) -> bool:
        return True

    async def main() -> tuple[list[str], int]:
        host = Host(_Still(), consent=grant, file_consent=yes,
                    config=HostConfig(download_dir=big_fat))  # fmt: skip
        creds = SessionCredentials()
        stopped = asyncio.Event()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            # An earlier version's viewer: no pacing, no HERE, no probes
            # (those came together, before pacing).
            old = Timeouts(handshake=20.0, warm=None, probe=None)
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password, timeouts=old)  # fmt: skip
            viewer = Viewer(channel, who="Alice")
            viewer.sender.pace = lambda: None  # type: ignore[method-assign]
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            real = viewer.sender._send

            async def send(msg: m.Message) -> None:
                if isinstance(msg, m.FileChunk) and msg.offset > 0 and not stopped.is_set():
                    stop_disk(daemon)  # the host's disk stops answering
                    watchdog.start()
                    stopped.set()
                await real(msg)

            viewer.sender._send = send  # type: ignore[method-assign]
            sending = asyncio.ensure_future(viewer.sender.send(big))
            await asyncio.wait_for(stopped.wait(), 30)
            (link,) = host._runtime.links
            files = host._runtime.files_for(link)
            # The receive loop waits for room: the host reads nothing more.
            await until(lambda: files._queued > QUEUED_MOST - (1 << 20), 60, "the queue full")
            silences = Silences(StatusLines())
            said: list[str] = []
            loop = asyncio.get_running_loop()
            end = loop.time() + SILENT_AFTER + 4 * SILENCE_CHECK + 2
            while loop.time() < end:
                await asyncio.sleep(SILENCE_CHECK)
                said += silences.lines(host.heard(), loop.time(), repr)
            queued = files._queued
            assert not sending.done()
            os.kill(daemon, signal.SIGCONT)
            sending.cancel()
            task.cancel()
        return said, queued

    try:
        said, queued = run(main(), 180)
    finally:
        watchdog.cancel()
        os.kill(daemon, signal.SIGCONT)
    assert queued > QUEUED_MOST - (1 << 20), queued  # the host waited on its disk
    # Found: ["no word from '127.0.0.1:PORT' for 20 s: their connection may be down; ..."].
    assert said == [], said


class _Still(FrameSource):
    """A screen that never changes: nothing but the file on the link."""

    def __init__(self) -> None:
        self.frame = np.full((64, 96, 4), 90, np.uint8)

    @property
    def width(self) -> int:
        return 96

    @property
    def height(self) -> int:
        return 64

    @property
    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, 96, 64, False), Monitor(1, 0, 0, 96, 64, True)]

    def grab(self) -> np.ndarray:
        return self.frame

    def cursor(self) -> CursorState:
        return CursorState(5, 5, visible=False)
