"""The terminals say how far a file has gone while it moves (cli/progress.py):
a real ``host`` on a pty with a download folder and a real ``view``
subprocess through the shaping proxy (linkbench/shaper.py) at 1 Mbit/s,
40 ms, so that a file of 300 kB takes some 2.4 s. Both programs run on a
shorter bound between lines than the real 5 s (cli/progress.EVERY, through
its test-only environment variable; the unit test below holds the 5 s): the
agent's file is one transfer, read on both sides, and the host's own /send
another."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import test_walk3_page as walk3
import test_walk4_files as walk4
from screencodec.cli.progress import Progress, amount
from screencodec.linkbench.shaper import ShapingProxy

from .helpers import run
from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_ux import let_in_and_send, read_until, stop, viewer

browser = walk3.browser  # a headless Chromium (a fixture)

SLOW = walk4.SLOW  # 1 Mbit/s, 40 ms
#: A file of 300 kB (2.4 s at 1 Mbit/s), its lines at least 0.5 s apart.
SIZE, EVERY = 300_000, 0.5
KNOB = {"SCREENCODEC_TEST_PROGRESS_EVERY": str(EVERY)}


def _line(what: str, size: int = SIZE) -> re.Pattern[str]:
    """A progress line: "(WHAT: 31% (620.0 kB of 2.0 MB) at 1.0 Mbit/s, about 11 s left)"."""
    return re.compile(rf"\({what}: (\d+)% \(\S+ \w+ of {re.escape(amount(size))}\) at"
                      r" [\d.]+ [kM]bit/s, about \d+ s left\)")  # fmt: skip


LINE = _line(r"sending big\.bin to the host")


@pytest.fixture(scope="module")
def alice_sends(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A --once host on a pty with a download folder and 'Alice' (view)
    through the shaping proxy; Alice offers a file of 300 kB with /send, the
    host's user says yes. What the host and the view said from the offer to
    'delivered': one transfer of 2.4 s, which the tests of each side read."""
    tmp_path = tmp_path_factory.mktemp("alice_sends")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCREENCODEC_TEST_PROGRESS_EVERY", str(EVERY))  # the host's
        host = PtyHost("--download-dir", str(inbox))
    port, code, password = _credentials(host)

    async def main() -> str:
        proxy = ShapingProxy(port, SLOW)
        way = await proxy.start()
        view = viewer(f"127.0.0.1:{way}", "--code", code, "--password", password,
                      "--name", "Alice", stdin=subprocess.PIPE, env=KNOB)  # fmt: skip
        assert view.stdin is not None
        try:
            await let_in_and_send(host, view, big)
            await asyncio.to_thread(host.wait_for, r"Question 2: .*?\[y/N\] ")
            host.type("y")
            said = await asyncio.to_thread(read_until, view, "delivered big.bin", 60)
            await asyncio.to_thread(host.wait_for, r"saved \S*big\.bin")
            return said
        finally:
            stop(view)
            await proxy.close()

    try:
        said = run(main(), 90)
    finally:
        host.close()
    return host.text[host.text.index("Question 2: yes"):], said[said.index("offering big.bin"):]


def _shares(said: str, line: re.Pattern[str]) -> list[int]:
    """The percentages of the progress lines ``line`` finds in ``said``: a
    few (not one a chunk), each further on than the last."""
    shares = [int(p) for p in line.findall(said)]
    assert shares, said
    assert len(shares) <= 3 and shares == sorted(set(shares)), said
    assert all(0 < p < 100 for p in shares), said
    return shares


def test_view_says_how_far_a_file_it_sends_has_gone(alice_sends: tuple[str, str]) -> None:
    """The agent's /send of 300 kB at 1 Mbit/s: between 'offering' and
    'delivered' the view says how far it is, in a few lines (not one a chunk),
    each further on than the last. The old view said nothing while it went."""
    _, said = alice_sends
    _shares(said, LINE)
    # One line a chunk would be hundreds: only the progress lines say "%".
    assert said.count("%") == len(LINE.findall(said)), said


def test_host_says_how_far_a_file_it_receives_has_gone(alice_sends: tuple[str, str]) -> None:
    """The host receives the agent's 300 kB at 1 Mbit/s (2.4 s): a few lines say how far."""
    host, _ = alice_sends
    _shares(host, _line(r"receiving big\.bin from 'Alice' \(127\.0\.0\.1:\d+\)"))


def test_host_says_how_far_a_file_it_sends_has_gone(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The host's /send of 300 kB at 1 Mbit/s to the agent's page (view
    --web; the terminal view takes no files), accepted there: the host, its
    lines at least 0.5 s apart, says how far it has gone."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    monkeypatch.setenv("SCREENCODEC_TEST_PROGRESS_EVERY", str(EVERY))  # the host's
    host = PtyHost()
    port, code, password = _credentials(host)

    async def main() -> None:
        way, view = await walk4._alice_through(port, code, password, "--web", "--no-open",
                                               "--download-dir", str(downloads))  # fmt: skip
        try:
            await walk4.page_accepts_a_hosts_file(browser, host, view, big)
            await asyncio.to_thread(host.wait_for, "delivered big.bin", 60)
        finally:
            stop(view)
            await way.close()

    try:
        run(main(), 90)
    finally:
        host.close()
    said = host.text[host.text.index("offering"):]
    _shares(said, _line(r"sending big\.bin to 'Alice' \(127\.0\.0\.1:\d+\)"))


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
