"""host37: the host's ``/stop`` reaches a file an agent sends (a) that its
user said yes to and that is not taken yet (the folder is looked at), and
(b) all of which came, while the disk saves it (fsync, rename).

``Host.stop_receiving`` stopped both since files37, but ``/stop`` picked its
files from ``Host.receiving()``, which lists neither: measured on main
(b8ccd6e), both said "(no file is being sent or received: nothing to stop)"
and the file was saved, the agent told it was.

The real CLI on a pty (``--download-dir``: a real FAT image served by
fusefat); the agent a viewer in this process. Each window, milliseconds
long, is held open by stopping the FUSE daemon (SIGSTOP): (a) as the user
answers y (the look at the folder waits for it), (b) as the agent's FileEnd
goes (the save's fsync waits). Nothing is timed: the host is seen waiting
for the daemon, the lines are waited for in order."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from screencodec.transport.session.events import FileSent
from screencodec.transport.session.files.wire import STOPPED_THERE_WHY
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_host_cli_commands import AGENT, goes_on, join, leave, wait
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import stalled, stop_at_end, stop_disk, waits_on_the_disk

__all__ = ["fat"]  # the fixture, imported for the FAT tests here

NOTHING = "nothing to stop"
STOPPED = (r"you stopped receiving 'notes\.bin' from " + AGENT.format(who="Alice")
           + r" \({came} of 300 kB had come\); nothing of it was kept\n")  # fmt: skip


async def _until_empty(folder: Path) -> list[str]:
    """What is left in ``folder`` once it is empty, or after 3 s (the
    removal is on the host's disk thread, told as it is done)."""
    for _ in range(300):
        if not os.listdir(folder):
            break
        await asyncio.sleep(0.01)
    return os.listdir(folder)


def _stop_while_held(fat: Path, notes: Path, *, at_the_end: bool) -> None:
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:
            async def body() -> None:
                viewer, task = await join(host, _credentials(host), "Alice")
                if at_the_end:  # the disk stops as the FileEnd goes
                    viewer.sender._send = stop_at_end(  # type: ignore[method-assign]
                        viewer.sender._send, daemon, notes, fat)
                mark = len(host.text)
                sending = asyncio.ensure_future(viewer.sender.send(notes))
                asked = await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
                if not at_the_end:  # the disk stops before the yes: its folder is looked at
                    stop_disk(daemon)
                host.type("y")
                while not waits_on_the_disk(host.proc.pid, daemon):
                    await asyncio.sleep(0.05)
                host.type("/stop")
                if at_the_end:  # said at once: the stop waits for the disk
                    said = await wait(host, r"stopping 'notes\.bin' from "
                                      + AGENT.format(who="Alice") + r": all of it came and"
                                      r" the disk is still saving it; it is removed once the"
                                      r" disk answers\n", asked.end())  # fmt: skip
                else:  # commands are done in order: /help's line, /stop's is done
                    host.type("/help")
                    said = await wait(host, r"/stop", asked.end())
                assert NOTHING not in host.text[asked.end():]
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                came = r"300 kB" if at_the_end else r"0 bytes"
                said = await wait(host, STOPPED.format(came=came), said.end())
                sent = await asyncio.wait_for(sending, 10)
                assert isinstance(sent, FileSent)
                assert (sent.outcome, sent.why) == ("failed", STOPPED_THERE_WHY)
                assert await _until_empty(fat) == []
                await goes_on(host, viewer, said.end())
                await leave(viewer, task)

            asyncio.run(asyncio.wait_for(body(), 40))
        host.wait_for(r"ended: the agent left, saying: done")
    finally:
        host.close()
    assert "notes.bin (300 kB) from" not in host.text  # "saved PATH (300 kB) from 'Alice' ..."
    assert os.listdir(fat) == []


def test_host_stop_reaches_a_file_said_yes_to_and_not_taken_yet(fat: Path, tmp_path: Path
                                                                ) -> None:  # fmt: skip
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    _stop_while_held(fat, notes, at_the_end=False)


def test_host_stop_reaches_a_file_being_saved(fat: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    _stop_while_held(fat, notes, at_the_end=True)
