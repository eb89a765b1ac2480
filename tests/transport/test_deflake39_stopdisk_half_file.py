"""deflake39: Ctrl-C twice of ``screencodec host`` while a file whose end
has not come is on a disk that stopped answering (stopdisk's case, a
moment earlier: the agent's FileEnd not yet sent).

Found while deflaking test_stopdisk_host (whose Ctrl-C, on a loaded
machine, could come before the host had the FileEnd): the first Ctrl-C
said "not received ... nothing of it was kept" (its removal still waiting
on the disk thread, behind the writes), the second "(stopping: ending the
session and closing what it opened; one moment)", and the host then
waited, silent, 10.2 s (measured, unloaded; the disk still stopped; its
close's two 5 s bounds), then said "Screen sharing stopped." with no
"session ... ended" line. Now, as with a file being saved (stopdisk), the
first Ctrl-C says which half file's removal it waits for and how to stop
waiting, the second leaves at once, saying what may stay in the folder, and
the session is told ended; "nothing of it was kept" is said only once it
is so (files40), as it is when the disk answers before a second Ctrl-C.

The real CLI on a pty; a real FAT image served by fusefat, whose daemon
is stopped (SIGSTOP) as the agent's FileEnd is about to go (it never
does). The bound is generous: the host that leaves does so at once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

from screencodec.transport.session import messages as m
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_host_cli_commands import join, wait
from transport.test_small_file_durable import fat

from .test_stopdisk_host import gone_within, in_order, stalled, stop_disk

__all__ = ["fat"]  # the fixture, imported for the FAT test here

#: What the host says as it starts waiting for the half file's removal.
WAITING = (r"waiting for the disk to remove what came of notes\.bin \([^)]* of 300 kB\)"
           r" from 'Alice' [^\n]*, not received; press Ctrl-C again to leave now: it may then"
           r" stay in the folder as a hidden temporary file\n")  # fmt: skip


async def ctrl_c_with_a_half_file(host: PtyHost, daemon: int, notes: Path, fat: Path,
                                  ) -> tuple[int, asyncio.Future[object]]:  # fmt: skip
    """'Alice' sends ``notes``, the host's user says yes; once the file is
    begun in ``fat`` the disk stops answering as her FileEnd is about to go
    (it never does); then Ctrl-C. Returns where the Ctrl-C is in
    ``host.text``, once the host said it waits for the half file's removal
    (:data:`WAITING`), and Alice's sending."""
    viewer, _task = await join(host, _credentials(host), "Alice")
    real = viewer.sender._send
    held = asyncio.Event()

    async def send(msg: m.Message) -> None:
        if isinstance(msg, m.FileEnd):  # the disk stops; the end never goes
            while not any(fat.iterdir()):  # once the file is begun on it (files40)
                await asyncio.sleep(0.05)
            stop_disk(daemon)
            held.set()
            await asyncio.Event().wait()
        await real(msg)

    viewer.sender._send = send  # type: ignore[method-assign]
    mark = len(host.text)
    sending = asyncio.ensure_future(viewer.sender.send(notes))
    await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
    host.type("y")
    await held.wait()
    mark = len(host.text)
    host.proc.send_signal(signal.SIGINT)
    await wait(host, WAITING, mark)
    return mark, sending


def test_deflake39_a_second_ctrl_c_leaves_while_a_half_files_removal_waits(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[bool, int, int]:
                mark, sending = await ctrl_c_with_a_half_file(host, daemon, notes, fat)
                host.proc.send_signal(signal.SIGINT)
                left = await gone_within(host.proc.pid)
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return left, mark, status

            left, mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        assert left, host.text
        text = host.text[mark:]
        in_order(text, WAITING, r"left without waiting for the disk: what came of notes\.bin"
                 r" \([^)]* of 300 kB\) from 'Alice' [^\n]*, not received, may stay in the"
                 r" folder as a hidden temporary file, removed by a later file received there;"
                 r" while the disk does not answer, the system may hold this program's very"
                 r" end\n", r"session with 'Alice' [^\n]* ended: you ended it\n",
                 r"Screen sharing stopped\.")  # fmt: skip
        assert "nothing of it was kept" not in text, text  # it was not removed
        assert status == 0, text
        # What stays: what came of it, under its temporary name only.
        kept = os.listdir(fat)
        assert len(kept) == 1 and re.fullmatch(r"\.notes\.bin\.part-[0-9a-f]{8}", kept[0]), kept
    finally:
        host.close()


def test_files40_once_the_disk_answers_the_half_file_is_removed_then_told(
    fat: Path, tmp_path: Path
) -> None:
    """No Ctrl-C more: the host waits for the removal (beyond its close's
    5 s bounds, as for a save), then says the file not received and nothing
    of it kept, then the session's end, then the banner; nothing stays."""
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, int]:
                mark, sending = await ctrl_c_with_a_half_file(host, daemon, notes, fat)
                assert host.proc.poll() is None, host.text[mark:]  # it waits for the disk
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                status = await asyncio.to_thread(host.proc.wait, 30)
                sending.cancel()
                return mark, status

            mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        in_order(text, WAITING, r"not received from 'Alice' [^\n]*'notes\.bin' \([^)]* of"
                 r" 300 kB, you ended the session\); nothing of it was kept\n",
                 r"session with 'Alice' [^\n]* ended: you ended it\n",
                 r"Screen sharing stopped\.")  # fmt: skip
        assert "left without" not in text, text
        assert status == 0, text
        assert os.listdir(fat) == []
    finally:
        host.close()
