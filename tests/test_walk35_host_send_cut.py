"""walk35: the host's user offers a file with /send, the agent accepts it in
the page of ``view --web``, and mid-way the host's user types /end. Walked
by hand (20 MB over a 1 MB/s loopback proxy, the agent's own file coming
the other way): the host's terminal said of the agent's file "not received
from 'Alice' (ADDRESS): 'big2.bin' (5.2 MB of 20.0 MB, you ended the
session); nothing of it was kept", and of its own only "(not sent to
'Alice' (ADDRESS): you ended the session)": which file, and how much of
it went, was not said (the page's row said both). Expected: the host's
line names the file and how much of it had gone, as the line of the file
coming the other way does.

Real ``screencodec host`` on a pty, ``view --web``'s page in headless
Chromium, over the 1 Mbit/s shaping proxy of tests/test_walk4_files.py."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from test_walk4_files import _alice_through, _big, _partly_in, browser, page_accepts_a_hosts_file
from transport.helpers import run
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_ux import stop

__all__ = ["browser"]


def test_host_end_mid_send_names_the_file_and_how_much_went(browser: Any,
                                                             tmp_path: Path) -> None:  # fmt: skip
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = _big(tmp_path)
    host = PtyHost()
    port, code, password = _credentials(host)

    async def main() -> str:
        way, view = await _alice_through(port, code, password, "--web", "--no-open",
                                         "--download-dir", str(downloads))  # fmt: skip
        try:
            await page_accepts_a_hosts_file(browser, host, view, big)
            while not _partly_in(downloads):
                await asyncio.sleep(0.05)
            host.type("/end")
            said = await asyncio.to_thread(host.wait_for, r"\(not sent to [^\n]*\n")
            return said.group(0)
        finally:
            stop(view)
            await way.close()

    try:
        line = run(main(), 60)
    finally:
        host.close()
    told = re.fullmatch(r"\(not sent to 'Alice' \(127\.0\.0\.1:\d+\): 'big\.bin' \((\d+(\.\d)?"
                        r" [kM]B) of 4\.0 MB had gone, you ended the session\); nothing of it"
                        r" was kept there\)\r?\n", line)  # fmt: skip
    assert told, line
