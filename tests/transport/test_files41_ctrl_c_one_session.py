"""files41: two agents' sessions; one agent ('Alice') leaves while her file
is half-received and the disk does not answer: the host says her session's
end waits for the disk to remove what came of it, and what a Ctrl-C does.

Found: that Ctrl-C (the host's "press Ctrl-C to leave now") stopped the
host: it ended Bob's live session too ("ended: you ended it") and gave up
every receiver's wait, which the line never said. Expected: while another
session goes on, the line says the Ctrl-C stops waiting for what it
named; that Ctrl-C gives up only that (Alice's end comes at once), and
Bob's session goes on: his chat still reaches the host's user. ``/help``
says what Ctrl-C does then (not "stop sharing: end the session with every
agent, then quit").

With ``--once`` the line's words stay "press Ctrl-C to leave now": her
session's end ends that host, and every session with it.

The real CLI on a pty (not ``--once``); a real FAT image served by fusefat, stopped
(stop_disk) once Alice's file is begun on it (her FileEnd never goes)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

from transport.test_attack_prompts import _credentials
from transport.test_host_cli_commands import LongHost, join, wait
from transport.test_small_file_durable import fat

from .test_review40a_two_half_files import _held
from .test_stopdisk_host import in_order, stalled, state

__all__ = ["fat"]  # the fixture

_HALF = r"a\.bin \([^)]* of 300 kB\) from 'Alice' \([^)]*\)"
#: Said at once, Bob's session going on: Ctrl-C stops waiting, not the host.
ENDING = (rf"the session's end waits for the disk to remove what came of {_HALF}, not received;"
          r" press Ctrl-C to stop waiting: it may then stay in the folder as a hidden temporary"
          r" file, and the other sessions go on\n")  # fmt: skip
STOPPED_WAITING = (rf"stopped waiting for the disk: what came of {_HALF}, not received, may stay"
                   r" in the folder as a hidden temporary file, removed by a later file received"
                   r" there; the other sessions go on\n")  # fmt: skip


async def alice_left_mid_file(
    host: LongHost, daemon: int, fat: Path, notes: Path
) -> tuple[Any, asyncio.Task[Any], asyncio.Future[Any], int]:
    """Bob and Alice join; Alice's file is taken, held once all of it is
    written (the disk stopped), and she leaves: the host says its ENDING
    line. Bob's viewer and task, Alice's send, the host's text mark."""
    held = asyncio.Event()
    where = _credentials(host)
    bob, bob_task = await join(host, where, "Bob")
    alice, _task = await join(host, where, "Alice")
    alice.sender._send = _held(alice.sender._send, held, daemon, fat, 1)
    mark = len(host.text)
    sending = asyncio.ensure_future(alice.sender.send(notes))
    await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
    host.type("y")
    await held.wait()
    mark = len(host.text)
    await alice.bye("done")
    await wait(host, ENDING, mark)
    return bob, bob_task, sending, mark


def test_files41_ctrl_c_gives_up_only_the_session_it_named(fat: Path, tmp_path: Path) -> None:
    notes = tmp_path / "a.bin"
    notes.write_bytes(os.urandom(300_000))
    host = LongHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, int, bool]:
                bob, bob_task, sending, mark = await alice_left_mid_file(host, daemon, fat, notes)
                host.type("/help")  # what Ctrl-C does now, as the line said
                await wait(host, r"Ctrl-C +stop waiting for the disk to remove what came of the"
                           r" half files said \(they may then stay in the folder as hidden"
                           r" temporary files\); the other sessions go on\n", mark)  # fmt: skip
                host.proc.send_signal(signal.SIGINT)
                await wait(host, r"session with 'Alice' [^\n]* ended: the agent left", mark)
                assert state(daemon) == "T", "the disk was to answer only after Alice's end"
                await bob.chat("still here")
                await wait(host, r"Bob[^\n]*: still here\n", mark)
                running = host.proc.poll() is None and not bob_task.done()
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                await bob.bye("done")
                await wait(host, r"session with 'Bob' [^\n]* ended", mark)
                host.proc.send_signal(signal.SIGINT)  # (not --once: it runs on)
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return mark, status, running

            mark, status, running = asyncio.run(asyncio.wait_for(body(), 60))
        text = host.text[mark:]
        assert running, text
        in_order(text, ENDING, STOPPED_WAITING,
                 r"session with 'Alice' [^\n]* ended: the agent left, saying: done\n",
                 r"Bob[^\n]*: still here\n",
                 r"session with 'Bob' [^\n]* ended: the agent left, saying: done\n")  # fmt: skip
        assert "you ended it" not in text and "leave now" not in text, text
        assert status == 0, text
        kept = os.listdir(fat)  # the disk stopped until after her end
        assert len(kept) <= 1 and all(re.fullmatch(r"\.a\.bin\.part-[0-9a-f]{8}", k) for k in kept)
    finally:
        host.close()
