"""A received file is made durable off the session's loop (files2): its
write-back hints, the fsync before it is named, the link (or on FAT the
exclusive name and the rename) that names it, and the fsync of its folder
run on the receiver's disk thread, one after the other in that order. Before,
they ran on the loop that also carries the screen and the input, and the
receive loop waited for them: a slow disk held the session for up to the
last ~16 MB of write-out.

Not timed: a disk that stops answering (the FUSE daemon of a real FAT file
system, stopped with SIGSTOP right as the host takes the file's end) does
not stop the host from answering the agent's next request while the file
waits; once the disk answers again, the file is saved whole under its name.
(test_small_file_durable's strace -f session shows each of those calls
made by a thread other than the loop's.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from screencodec.transport import VIEW, Viewer
from screencodec.transport.session.events import FileSent
from screencodec.transport.session.sidechannels import FileOfferInfo, FileReceiver
from test_review1_files import _with_viewer
from transport.helpers import run
from transport.test_small_file_durable import fat

__all__ = ["fat"]  # the fixture, imported for the FAT test here


def _daemon(mount: Path) -> int:
    """The process id of the fusefat that serves ``mount`` (the fixture's)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                args = (entry / "cmdline").read_bytes().split(b"\0")
                if os.path.basename(args[0]) == b"fusefat" and os.fsencode(mount) in args:
                    return int(entry.name)
    raise AssertionError(f"no fusefat serves {mount}")


def test_files2_the_host_answers_while_a_received_file_waits_on_a_stopped_disk(
    fat: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host's download folder on FAT (FUSE). As the host takes the
    file's end, its disk stops answering: every call on it waits until the
    daemon goes on. The agent then asks for VIEW again (held: the host answers
    at once): answered while the file is not yet saved. Before, the host's
    loop waited in the fsync and answered only after the disk did (here: when
    the watchdog let the daemon go on)."""
    # (Here, not at the top: test_stopdisk_host imports this module's _daemon.)
    from transport.test_stopdisk_host import stop_disk

    daemon = _daemon(fat)
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    # Only a failing run; 15 s, not 5, which a held request's answer on a
    # loaded machine can take (flake41), still before the request's own 30 s.
    watchdog = threading.Timer(15.0, os.kill, (daemon, signal.SIGCONT))

    async def yes(info: FileOfferInfo) -> bool:
        return True

    async def use(viewer: Viewer) -> tuple[bool, FileSent]:
        taken = asyncio.Event()
        real_end = FileReceiver.end

        def stopping_end(self: FileReceiver, *args: Any) -> Any:
            stop_disk(daemon)  # the disk stops answering, every thread of it
            watchdog.start()
            taken.set()
            return real_end(self, *args)

        monkeypatch.setattr(FileReceiver, "end", stopping_end)
        sending = asyncio.ensure_future(viewer.sender.send(notes))
        await asyncio.wait_for(taken.wait(), 20)
        assert await viewer.request(VIEW, timeout=30)  # sent after the file's end
        waiting = not sending.done()  # its FileResult: once it is saved
        os.kill(daemon, signal.SIGCONT)
        return waiting, await asyncio.wait_for(sending, 20)

    try:
        waiting, sent = run(_with_viewer(fat, yes, use), 60)
    finally:
        watchdog.cancel()
        os.kill(daemon, signal.SIGCONT)
    assert waiting, "the host answered only once the file was saved"
    assert sent.outcome == "delivered", sent
    assert sorted(p.name for p in fat.iterdir()) == ["notes.bin"]
    assert (fat / "notes.bin").read_bytes() == notes.read_bytes()
