"""The terminals say how far a file has gone while it moves (cli/progress.py):
a real ``host`` on a pty with a download folder and a real ``view``
subprocess through the shaping proxy (linkbench/shaper.py) at 1 Mbit/s,
40 ms, so that a file of 2 MB takes some 16 s."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path

from screencodec.cli.progress import Progress
from screencodec.linkbench.shaper import Link, ShapingProxy

from .helpers import run
from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_ux import read_until, stop, viewer

SLOW = Link.symmetric(125_000, 0.04)
SIZE = 2_000_000
#: A progress line: "(sending NAME to the host: 31% (620.0 kB of 2.0 MB) at 1.0 Mbit/s, ...".
LINE = re.compile(r"\(sending big\.bin to the host: (\d+)% \(\S+ \w+ of 2\.0 MB\) at [\d.]+"
                  r" [kM]bit/s, about \d+ s left\)")  # fmt: skip


def test_view_says_how_far_a_file_it_sends_has_gone(tmp_path: Path) -> None:
    """The agent's /send of 2 MB at 1 Mbit/s: between 'offering' and 'delivered'
    the view says how far it is, in a few lines (not one a chunk), each further
    on than the last. The old view said nothing for the 16 s it took."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    host = PtyHost("--download-dir", str(inbox))
    port, code, password = _credentials(host)

    async def main() -> str:
        proxy = ShapingProxy(port, SLOW)
        way = await proxy.start()
        view = viewer(f"127.0.0.1:{way}", "--code", code, "--password", password,
                      "--name", "Alice", stdin=subprocess.PIPE)  # fmt: skip
        assert view.stdin is not None
        try:
            await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            host.type("y")
            await asyncio.to_thread(read_until, view, "decoded")
            view.stdin.write(f"/send {big}\n".encode())
            view.stdin.flush()
            await asyncio.to_thread(host.wait_for, r"Question 2: .*?\[y/N\] ")
            host.type("y")
            return await asyncio.to_thread(read_until, view, "delivered big.bin", 60)
        finally:
            stop(view)
            await proxy.close()

    try:
        said = run(main(), 90)
    finally:
        host.close()
    said = said[said.index("offering big.bin"):]
    shares = [int(p) for p in LINE.findall(said)]
    assert shares, said
    assert len(shares) <= 3 and shares == sorted(set(shares)), said
    assert all(0 < p < 100 for p in shares), said
    # One line a chunk would be hundreds: only the progress lines say "%".
    assert said.count("%") == len(shares), said


def test_progress_lines_come_at_new_quarters_at_most_every_5_s() -> None:
    """A file of 100 bytes fed a byte a second: a line at most each 5 s and
    only past a new quarter (3 lines at most); none for one done in 4 s."""
    progress = Progress("sending f to the host", 100)
    lines = [(t, progress.line(t, float(t))) for t in range(100)]
    told = [(t, text) for t, text in lines if text is not None]
    assert [t for t, _ in told] == [25, 50, 75], told
    assert told[0][1] == ("(sending f to the host: 25% (25 bytes of 100 bytes) at 0 kbit/s,"
                          " about 75 s left)"), told  # fmt: skip
    quick = Progress("sending f to the host", 100)
    assert [quick.line(d, d / 25) for d in range(0, 100, 5)] == [None] * 20
