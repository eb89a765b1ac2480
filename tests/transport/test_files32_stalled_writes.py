"""A received file's chunks are written on the receiver's disk thread, not
on the session's loop (files32). Before, each chunk was written (os.write)
on the loop that also carries the screen, the input and the chat: on a disk
that stops answering (a FUSE mount that hangs) the whole session froze with
it until the disk answered.

A real host and a real viewer on loopback; the receiving side's download
folder a real FAT image served by fusefat, whose daemon is stopped
(SIGSTOP) before the second chunk of the file goes. While the disk does not
answer, the viewer still decodes new screen updates and the chat goes
through both ways; the file is not saved meanwhile (the sender, paced on
what the receiver has written, waits). Once the disk answers, the file is
saved whole, bit for bit. Nothing is timed: a watchdog lets the daemon go
on after 20 s only so that a failing run ends, and says it had to."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from screencodec.transport.session.events import ChatReceived, FileSent, FrameDecoded
from transport.helpers import run
from transport.test_fileresult_session import _pair
from transport.test_files2_off_loop import _daemon
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import stop_disk

__all__ = ["fat"]  # the fixture


async def _first(events: AsyncIterator[object], kind: type, count: int = 1) -> None:
    """Until ``count`` events of ``kind`` came."""
    async for ev in events:
        if isinstance(ev, kind):
            count -= 1
            if count == 0:
                return


@pytest.mark.parametrize("way", ["to the viewer", "to the host"])
def test_files32_the_session_goes_on_while_the_receivers_disk_does_not_answer(
    fat: Path, tmp_path: Path, way: str
) -> None:
    daemon = _daemon(fat)
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(2 << 20))
    other = tmp_path / "other"
    other.mkdir()
    fired: list[bool] = []

    def let_go() -> None:  # only a failing run: the session waited for the disk
        fired.append(True)
        os.kill(daemon, signal.SIGCONT)

    watchdog = threading.Timer(40.0, let_go)  # 40 s from the stop: a loaded machine is slow
    watchdog.daemon = True

    async def main() -> tuple[FileSent, str]:
        stopped = asyncio.Event()
        host_dir, viewer_dir = (fat, other) if way == "to the host" else (other, fat)
        async with _pair(host_dir, viewer_dir, scenario="typing") as (host, viewer):
            if way == "to the host":
                sender = viewer.sender
            else:
                sender = host._runtime.sender_for(next(iter(host._runtime.links)))
            real = sender._send

            async def send(msg: m.Message) -> None:
                if isinstance(msg, m.FileChunk) and msg.offset > 0 and not stopped.is_set():
                    stop_disk(daemon)  # the disk stops answering
                    watchdog.start()
                    stopped.set()
                await real(msg)

            sender._send = send  # type: ignore[method-assign]
            if way == "to the host":
                sending = asyncio.ensure_future(viewer.sender.send(notes))
            else:
                sending = asyncio.ensure_future(host.send(notes, host.viewers[0]))
            await asyncio.wait_for(stopped.wait(), 30)
            screen, host_heard, viewer_heard = viewer.events(), host.events(), viewer.events()
            # While the disk does not answer: the screen, and the chat both ways.
            await _first(screen, FrameDecoded, 3)
            await viewer.chat("still here")
            await _first(host_heard, ChatReceived)
            await host.send_chat("me too")
            await _first(viewer_heard, ChatReceived)
            during = "" if fired else "T" if not sending.done() else "done"
            os.kill(daemon, signal.SIGCONT)  # the disk answers
            return await asyncio.wait_for(sending, 60), during

    try:
        sent, during = run(main(), 120)
    finally:
        watchdog.cancel()
        os.kill(daemon, signal.SIGCONT)
    assert not fired, "the session went on only once the disk answered again"
    assert during == "T", "the file was saved while the disk did not answer"
    assert sent.outcome == "delivered", sent
    assert sorted(p.name for p in fat.iterdir()) == ["notes.bin"]
    assert (fat / "notes.bin").read_bytes() == notes.read_bytes()
