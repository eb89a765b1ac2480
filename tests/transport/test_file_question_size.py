"""The host's user is asked about a file in a person's units: walk5 read
"sends the file 'big.iso' (300000000 bytes)" in the question of a real
``screencodec host`` on a terminal. Expected: "(300 MB)", and the same units
in the lines about files (display.amount, which the progress lines use)."""

from __future__ import annotations

import re
from pathlib import Path

from screencodec.transport.channel.display import amount
from screencodec.transport.session import messages as m

from .secure_fixtures import run
from .test_attack_prompts import PROMPT_END, PtyHost, _credentials, _drain, _next_of, _viewer


def test_the_file_question_gives_the_size_in_a_persons_units(tmp_path: Path) -> None:
    host = PtyHost("--download-dir", str(tmp_path))
    try:
        port, code, password = _credentials(host)

        async def offer() -> None:
            ch = await _viewer(port, code, password, "agent")
            host.wait_for(r"Question 1: .*?" + re.escape(PROMPT_END))
            host.type("y")
            await _next_of(ch, m.PermissionGrant)
            mark = len(host.text)
            await ch.send(m.encode(m.FileOffer(7, "big.iso", 300_000_000)))
            q2 = host.wait_for(r"Question 2: (.*?)" + re.escape(PROMPT_END), mark)
            assert "'big.iso' (300 MB)" in q2.group(1), q2.group(1)
            assert "300000000" not in q2.group(1)
            host.type("n")
            assert await _next_of(ch, m.FileAccept) == m.FileAccept(7, False)
            await ch.send(m.encode(m.Bye("")))
            await _drain(ch)

        run(offer(), timeout=60)
        host.wait_for(r"session with .* ended")
    finally:
        host.close()


def test_amounts_read_as_a_person_says_them() -> None:
    assert [amount(n) for n in (0, 999, 1000, 12_345, 6_300_000, 300_000_000, 1.2e9)] == [
        "0 bytes", "999 bytes", "1.0 kB", "12.3 kB", "6.3 MB", "300 MB", "1.2 GB"]  # fmt: skip


def test_an_amount_that_rounds_up_is_said_in_three_figures_or_the_next_unit() -> None:
    """review32b: 99 950 bytes read "100.0 kB" (four figures where every other
    is three) and 999 500 bytes "1000 kB"; the page says the same (ui.js size,
    compared in tests/web/test_review32b_page_sizes.py)."""
    assert [amount(n) for n in (99_949, 99_950, 99_999, 999_499, 999_500, 999_999_999)] == [
        "99.9 kB", "100 kB", "100 kB", "999 kB", "1.0 MB", "1.0 GB"]  # fmt: skip
