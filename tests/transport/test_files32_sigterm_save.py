"""SIGTERM to ``screencodec host`` while a received file is still being
written to a disk that does not answer (files32). Before, the host said
"press Ctrl-C again to leave now", which nobody can under a service manager
(systemd sends SIGTERM; there is no terminal), and a second SIGTERM changed
nothing: the host waited for the disk until the manager killed it outright
(the agent's keys then left down, the recording incomplete). Now it says to
send SIGTERM again, and a second SIGTERM leaves as a second Ctrl-C does.

The real CLI on a pty; the download folder a real FAT image served by
fusefat, whose daemon is stopped (SIGSTOP) as the agent's FileEnd goes
(tests/transport/test_stopdisk_host.py). Nothing is timed: the host is
seen waiting for the FUSE daemon, and the lines are waited for in order."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import wait
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import ctrl_c_while_saving, in_order, stalled, state

__all__ = ["fat"]  # the fixture

WAITING = (r"waiting for the disk to finish saving notes\.bin \(300 kB\) from [^\n]*;"
           r" send SIGTERM again to leave now: it may then not be saved\n")  # fmt: skip


def test_files32_a_second_sigterm_leaves_while_the_disk_does_not_answer(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, int]:
                mark, sending = await ctrl_c_while_saving(host, daemon, notes, fat,
                                                          sig=signal.SIGTERM, waiting=WAITING)
                host.proc.send_signal(signal.SIGTERM)  # and again
                await wait(host, r"left without waiting for the disk", mark)
                while state(host.proc.pid) != "Z":  # the interpreter ended
                    await asyncio.sleep(0.05)
                assert state(daemon) == "T", "the disk was to answer only after the host left"
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return mark, status

            mark, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
    finally:
        host.close()
    in_order(text, WAITING, r"left without waiting for the disk: notes\.bin \(300 kB\)"
             r" from [^\n]* may not be saved", r"Screen sharing stopped\.")  # fmt: skip
    assert "Ctrl-C" not in text, text
    assert status == 0, text
    left = os.listdir(fat)
    assert len(left) == 1 and re.fullmatch(r"\.notes\.bin\.part-[0-9a-f]{8}", left[0]), left
