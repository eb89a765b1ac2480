"""files41: the link of an agent ('Alice') is lost (a real TCP reset,
through a proxy) while her file is half-received and the disk does not
answer. The host's session may resume (a ticket: she may come back), yet
the removal of what came waits on the disk, and the host says of it a line
(review40a's, for an agent who left).

Found: the line said "the session's end waits for the disk ..." for a
link that was lost, not a session that ended (``files_for`` is per link:
the lost link's receiver is closed as a session's is). Expected: words
true of a lost link: its connection, not the session, and that the agent
may come back. (Found too, not changed: the host's line that the
connection was lost waits for that removal, as the session's end line did.)

The real host CLI on a pty (not ``--once``); the agent's Viewer in this
process through a LinkProxy that is cut; a real FAT image served by
fusefat, stopped (stop_disk) once her file is begun on it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from transport.test_attack_prompts import _credentials
from transport.test_host_cli_commands import LongHost, join, wait
from transport.test_small_file_durable import fat

from .helpers import LinkProxy
from .test_review40a_two_half_files import _held
from .test_stopdisk_host import in_order, stalled

__all__ = ["fat"]  # the fixture

_HALF = r"a\.bin \([^)]* of 300 kB\) from 'Alice' \([^)]*\)"


def _lost_mid_file(fat: Path, tmp_path: Path, *, bob: bool = False) -> tuple[str, int]:
    """'Alice' (through a proxy) sends a.bin, the disk stops once it is
    begun, her link is cut; with ``bob`` another agent watches meanwhile
    and a Ctrl-C stops waiting once the line is said. Returns what the host
    said from the cut on, and its exit status."""
    notes = tmp_path / "a.bin"
    notes.write_bytes(os.urandom(300_000))
    host = LongHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:

            async def body() -> tuple[int, int]:
                port, code, password = _credentials(host)
                proxy = LinkProxy(port)
                await proxy.start()
                held = asyncio.Event()
                if bob:
                    await join(host, (port, code, password), "Bob")
                alice, task = await join(host, (proxy.port, code, password), "Alice")
                alice.sender._send = _held(alice.sender._send, held, daemon, fat, 1)  # type: ignore[method-assign]
                mark = len(host.text)
                sending = asyncio.ensure_future(alice.sender.send(notes))
                await wait(host, r"Question \d+: FILE.*?\[y/N\] ", mark)
                host.type("y")
                await held.wait()
                mark = len(host.text)
                proxy.cut()
                await wait(host, rf"what came of {_HALF}, not received[^\n]*\n", mark)
                if bob:  # the Ctrl-C the line names: the wait only, the disk still stopped
                    host.proc.send_signal(signal.SIGINT)
                    await wait(host, r"'Alice' may reconnect within \d+ s", mark)
                else:
                    await asyncio.sleep(1.0)  # anything else it says meanwhile
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                await wait(host, r"Alice[^\n]*(lost|dropped)[^\n]*\n", mark)
                for t in (sending, task):
                    t.cancel()
                await asyncio.gather(sending, task, return_exceptions=True)
                await proxy.close()
                host.proc.send_signal(signal.SIGINT)
                status = await asyncio.to_thread(host.proc.wait, 20)
                return mark, status

            mark, status = asyncio.run(asyncio.wait_for(body(), 90))
        return host.text[mark:], status
    finally:
        host.close()


def test_files41_a_lost_links_half_file_is_not_said_as_the_sessions_end(
    fat: Path, tmp_path: Path
) -> None:
    text, status = _lost_mid_file(fat, tmp_path)
    in_order(text, rf"the lost connection's end \(the session is not over: the agent may come"
             rf" back\) waits for the disk to remove what came of {_HALF}, not received; press"
             r" Ctrl-C to leave now: it may then stay in the folder as a hidden temporary"
             r" file\n", r"nothing of it was kept\n",
             r"the connection to 'Alice' [^\n]* was lost; ",
             r"'Alice' may reconnect within \d+ s")  # fmt: skip
    assert "the session's end" not in text, text
    assert status == 0, text
    assert os.listdir(fat) == []


def test_files41_a_lost_links_wait_given_up_while_another_agent_watches(
    fat: Path, tmp_path: Path
) -> None:
    """Bob watches: the line says a Ctrl-C stops waiting, and that one
    does; her session is then kept for her to come back (not ended)."""
    text, status = _lost_mid_file(fat, tmp_path, bob=True)
    in_order(text, rf"the lost connection's end \(the session is not over: the agent may come"
             rf" back\) waits for the disk to remove what came of {_HALF}, not received; press"
             r" Ctrl-C to stop waiting: it may then stay in the folder as a hidden temporary"
             r" file, and the other sessions go on\n",
             rf"stopped waiting for the disk: what came of {_HALF}, not received, may stay in"
             r" the folder as a hidden temporary file, removed by a later file received there;"
             r" the other sessions go on\n", r"the connection to 'Alice' [^\n]* was lost",
             r"'Alice' may reconnect within \d+ s")  # fmt: skip
    assert "the session's end" not in text and "you ended it" not in text.split("may reconnect")[0]
    assert status == 0, text
