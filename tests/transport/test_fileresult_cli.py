"""The host's user reads what became of a file they sent with /send: saved
by the agent's viewer, or accepted there and not saved, and why. Before, a
file the agent's viewer could not save (its disk full) was reported "sent".
Real host on a pty; the agents are viewers in this process, whose writes
meet the file size limit (RLIMIT_FSIZE, EFBIG as ENOSPC would be)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from screencodec.transport.session.sidechannels import FileOfferInfo

from .test_attack3_file_space import _file_size_limit
from .test_host_cli_commands import AGENT, LongHost, Where, join, session, wait


async def _yes(offer: FileOfferInfo) -> bool:
    return True


def test_send_says_delivered_or_why_the_agent_could_not_save_it(tmp_path: Path) -> None:
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_text("fits\n")
    big.write_bytes(os.urandom(2048 * 1024))
    inbox = tmp_path / "in"
    inbox.mkdir()
    host = LongHost()
    try:
        async def body(at: Where) -> None:
            alice, run = await join(host, at, "Alice", download_dir=inbox, file_consent=_yes)
            mark = len(host.text)
            host.type(f"/send {small}")
            await wait(host, "delivered small.txt to " + AGENT.format(who="Alice")
                       + ": saved there\n", mark)  # fmt: skip
            with _file_size_limit(900 * 1024):  # this process: the agent's viewer
                host.type(f"/send {big}")
                await wait(host, AGENT.format(who="Alice")
                           + " could not save big.bin: File too large\n", mark)  # fmt: skip
            await alice.bye("done")
            await asyncio.wait_for(run, 20)

        session(host, body)
    finally:
        host.close()
    assert [p.name for p in inbox.iterdir()] == ["small.txt"]
