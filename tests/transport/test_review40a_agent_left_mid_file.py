"""review40a: the agent leaves (its Bye) while its file is half-received,
and the removal of what came waits on a disk that stopped answering: the
session's end waits for it (``FileReceiver.settle``, since filesleft), and
``screencodec host`` says nothing of it meanwhile.

Found (not fixed; before files40 the same): for as long as the disk does
not answer, no line at all: no "session with 'Alice' ... ended", no word
of the disk, the banner "YOUR SCREEN IS BEING SHARED WITH: 'Alice'" still
the last thing on the screen; a ``--once`` host does not end. Once the disk
answered (here after 3 s), the lines came at once. ``Host.removing()``
(files40) names the file; only the host's stop (Ctrl-C) says it.

The real CLI on a pty; a real FAT image served by fusefat, whose daemon is
stopped (SIGSTOP) once the file is begun on it (its FileEnd never goes)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_host_cli_commands import join, wait
from transport.test_small_file_durable import fat

from .test_review40a_two_half_files import _held
from .test_stopdisk_host import gone_within, in_order, stalled, state

__all__ = ["fat"]  # the fixture, imported for the FAT test here


#: What the host says at once (disk41): the session's end waits, and how to leave.
ENDING = (r"the session's end waits for the disk to remove what came of a\.bin \([^)]* of 300"
          r" kB\) from 'Alice' \([^)]*\), not received; press Ctrl-C to leave now: it may then"
          r" stay in the folder as a hidden temporary file\n")  # fmt: skip


def _left_mid_file(fat: Path, tmp_path: Path, then: Callable[[PtyHost, int, int], Awaitable[None]],
                   ) -> tuple[str, int]:  # fmt: skip
    """A ``--once`` host on a pty, ``fat`` its download folder: 'Alice'
    sends a.bin, the host's user says yes; once it is begun on the disk, the
    disk stops answering (her FileEnd never goes) and she leaves; once the
    host said :data:`ENDING`, ``then(host, daemon, where her Bye is in
    host.text)``. Returns what the host said from her Bye on, and its exit
    status."""
    notes = tmp_path / "a.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, int]:
                held = asyncio.Event()
                alice, _task = await join(host, _credentials(host), "Alice")
                alice.sender._send = _held(alice.sender._send, held, daemon, fat, 1)  # type: ignore[method-assign]
                mark = len(host.text)
                sending = asyncio.ensure_future(alice.sender.send(notes))
                await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                host.type("y")
                await held.wait()
                mark = len(host.text)
                await alice.bye("done")
                await wait(host, ENDING, mark)
                await then(host, daemon, mark)
                os.kill(daemon, signal.SIGCONT)  # (if it was not already)
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return mark, status

            mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        return host.text[mark:], status
    finally:
        host.close()


def test_review40a_agent_left_mid_file_while_the_disk_does_not_answer(
    fat: Path, tmp_path: Path
) -> None:
    """Said at once (before: nothing, for as long as the disk did not
    answer); once the disk answers, the removal is told, then the end."""

    async def answers(host: PtyHost, daemon: int, mark: int) -> None:
        await asyncio.sleep(1.0)  # a moment more: still waiting, nothing else said
        assert "ended" not in host.text[mark:], host.text[mark:]
        os.kill(daemon, signal.SIGCONT)  # the disk answers
        await wait(host, r"session with 'Alice' [^\n]* ended: the agent left", mark)

    text, status = _left_mid_file(fat, tmp_path, answers)
    in_order(text, ENDING, r"nothing of it was kept\n",
             r"session with 'Alice' [^\n]* ended: the agent left")  # fmt: skip
    assert "left without" not in text, text
    assert status == 0, text
    assert os.listdir(fat) == []


def test_disk41_a_once_host_leaves_with_ctrl_c_while_the_removal_waits(
    fat: Path, tmp_path: Path
) -> None:
    """The Ctrl-C the line names leaves at once (one: it was said), saying
    what may stay, though the disk still does not answer."""

    async def ctrl_c(host: PtyHost, daemon: int, mark: int) -> None:
        host.proc.send_signal(signal.SIGINT)
        await gone_within(host.proc.pid)
        assert state(host.proc.pid) == "Z", host.text[mark:]  # the interpreter is gone
        assert state(daemon) == "T", "the disk was to answer only after the host left"

    text, status = _left_mid_file(fat, tmp_path, ctrl_c)
    in_order(text, ENDING, r"left without waiting for the disk: what came of a\.bin \([^)]*"
             r" of 300 kB\) from 'Alice' [^\n]*, not received, may stay in the folder as a"
             r" hidden temporary file, ", r"Screen sharing stopped\.")  # fmt: skip
    assert "nothing of it was kept" not in text, text
    assert status == 0, text
    kept = os.listdir(fat)  # the disk was stopped until the host had gone
    assert len(kept) == 1 and re.fullmatch(r"\.a\.bin\.part-[0-9a-f]{8}", kept[0]), kept
