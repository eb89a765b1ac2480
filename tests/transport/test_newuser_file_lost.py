"""A file the host's user said yes to that cannot be saved (the download
directory went away, or filled up, during the session): the host's user
reads that it could not be saved, and why (before: nothing after their yes),
and the agent reads that the host did not accept it. Real host on a pty; the
agent is a viewer in this process."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import join, session, wait


def test_a_file_accepted_but_not_saved_is_told_to_the_hosts_user(tmp_path: Path) -> None:
    dl = tmp_path / "dl"
    dl.mkdir()
    sent = tmp_path / "notes.txt"
    sent.write_bytes(b"some notes")
    host = PtyHost("--download-dir", str(dl))
    try:
        async def body(at: tuple[int, str, str]) -> None:
            viewer, task = await join(host, at, "Alice")
            shutil.rmtree(dl)  # gone while the session runs
            mark = len(host.text)
            sending = asyncio.ensure_future(viewer.send_file(sent))
            asked = await wait(host, r"Question 2: .*?\[y/N\] ", mark)
            host.type("y")
            assert await sending is False
            await wait(host, r"notes\.txt.*(not saved|could not be saved)", asked.end())
            await viewer.bye("done")
            await task

        session(host, body)
    finally:
        host.close()
