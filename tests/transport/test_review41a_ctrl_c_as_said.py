"""review41a: files41's Ctrl-C while a session's end waits for the disk
does what the host's line said it does, whatever changed since.

Found: the line said "press Ctrl-C to stop waiting: ... and the other
sessions go on" while Bob watched; Bob then left, and the Ctrl-C, looking
afresh at who was there, left the host (the line said nothing of leaving):
"Screen sharing stopped", the host gone, where the words promised it ran
on. Expected: that Ctrl-C stops waiting for Alice's half file only, says so,
and the host runs on (a next agent may join); a Ctrl-C more quits it.

The real CLI on a pty (not ``--once``); a real FAT image served by
fusefat, stopped once Alice's file is begun on it (as
test_files41_ctrl_c_one_session.py)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from transport.test_host_cli_commands import LongHost, wait
from transport.test_small_file_durable import fat

from .test_files41_ctrl_c_one_session import (
    ENDING,
    STOPPED_WAITING,
    alice_left_mid_file,
)
from .test_stopdisk_host import in_order, stalled

__all__ = ["fat"]  # the fixture


def test_ctrl_c_stops_waiting_as_said_after_the_other_agent_left(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "a.bin"
    notes.write_bytes(os.urandom(300_000))
    host = LongHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, bool, int]:
                bob, bob_task, sending, mark = await alice_left_mid_file(host, daemon, fat, notes)
                await bob.bye("done")  # the other session ends after the line
                await bob_task
                await wait(host, r"session with 'Bob' [^\n]* ended", mark)
                host.proc.send_signal(signal.SIGINT)  # as the line said: stop waiting
                await wait(host, r"session with 'Alice' [^\n]* ended: the agent left", mark)
                await asyncio.sleep(1.0)  # a host that leaves is gone by then
                running = host.proc.poll() is None
                os.kill(daemon, signal.SIGCONT)
                host.proc.send_signal(signal.SIGINT)  # now it quits
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return mark, running, status

            mark, running, status = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        in_order(text, ENDING, r"session with 'Bob' [^\n]* ended", STOPPED_WAITING,
                 r"session with 'Alice' [^\n]* ended: the agent left, saying: done\n")  # fmt: skip
        assert running, text
        assert status == 0, text
    finally:
        host.close()
