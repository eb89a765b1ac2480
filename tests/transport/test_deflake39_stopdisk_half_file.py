"""deflake39: Ctrl-C twice of ``screencodec host`` while a file whose end
has not come is on a disk that stopped answering (stopdisk's case, a
moment earlier: the agent's FileEnd not yet sent).

Found while deflaking test_stopdisk_host (whose Ctrl-C, on a loaded
machine, could come before the host had the FileEnd): the first Ctrl-C
says "not received ... nothing of it was kept" (its removal waits on the
disk thread, behind the writes), the second "(stopping: ending the session
and closing what it opened; one moment)", and the host then waits,
silent, 10.2 s (measured, unloaded; the disk still stopped), then says
"Screen sharing stopped." with no "session ... ended" line. Expected: as
with a file being saved (stopdisk), the second Ctrl-C leaves at once.

The real CLI on a pty; a real FAT image served by fusefat, whose daemon
is stopped (SIGSTOP) as the agent's FileEnd is about to go (it never
does). The bound is generous: the host that leaves does so at once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_host_cli_commands import join, wait
from transport.test_small_file_durable import fat

from .test_stopdisk_host import stalled, state

__all__ = ["fat"]  # the fixture, imported for the FAT test here

#: How long the host is given to leave after the second Ctrl-C (s): with a
#: file being saved it leaves at once (stopdisk: 0.3 s); here it took 10.2 s
#: (its closes' own bounds, one after the other), with no "ended" line.
LEAVES_WITHIN = 5.0


@pytest.mark.xfail(strict=True, reason=(
    "found: the second Ctrl-C, while a half-received file's removal waits for a disk"
    " that does not answer, says '(stopping: ... one moment)' and the host leaves"
    " 10 s later, silent meanwhile and with no 'ended' line; expected: it leaves at"
    " once, as with a file being saved (stopdisk)"))  # fmt: skip
def test_deflake39_a_second_ctrl_c_leaves_while_a_half_files_removal_waits(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> bool:
                viewer, _task = await join(host, _credentials(host), "Alice")
                real = viewer.sender._send
                held = asyncio.Event()

                async def send(msg: m.Message) -> None:
                    if isinstance(msg, m.FileEnd):  # the disk stops; the end never goes
                        os.kill(daemon, signal.SIGSTOP)
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
                await wait(host, r"not received from 'Alice' [^\n]*nothing of it was kept\n",
                           mark)  # fmt: skip
                host.proc.send_signal(signal.SIGINT)
                deadline = time.monotonic() + LEAVES_WITHIN
                while state(host.proc.pid) != "Z" and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                left = state(host.proc.pid) == "Z"
                sending.cancel()
                return left

            left = asyncio.run(asyncio.wait_for(body(), 60))
        assert left, host.text
    finally:
        host.close()
