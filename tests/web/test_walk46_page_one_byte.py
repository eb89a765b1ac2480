"""walk46 (a host in tmux sends a 1-byte file to the page): the page's row
read "rtlgol.exe 1 bytes from the user", the host's terminal "(1 bytes)",
the agent's "saved 'rtlgol.exe' (1 bytes)". One byte is "1 byte", in the
page (ui.js ``size``, ``limitSize``) and the terminals (display.py
``amount``, ``limit_amount``) alike; checked in the real page."""

from __future__ import annotations

from typing import Any

from screencodec.transport.channel.display import amount, limit_amount

from .test_page_shown_text_cut import _in_page
from .test_review32b_page_sizes import _IMPORT


def test_walk46_one_byte_is_one_byte_in_the_page_and_the_terminals(browser: Any) -> None:
    got = _in_page(browser, _IMPORT, [0, 1, 2])["out"]
    # Found: ["1 bytes", "1 bytes"] and amount(1) == "1 bytes".
    assert got == [["0 bytes", "0 bytes"], ["1 byte", "1 byte"], ["2 bytes", "2 bytes"]]
    assert (amount(1), limit_amount(1)) == ("1 byte", "1 byte")
