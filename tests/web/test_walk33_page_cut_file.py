"""walk33: the host's user ends the session while the page is receiving a
file the agent accepted. Walked by hand (``screencodec host``, ``/send`` of
400 MB, Accept in the page, ``/end``): the page's row read "big.bin 400 MB
from the user: could not be saved: the connection ended before all of it
came (11968542 of 400000000 bytes)": a connection blamed for what the user
did, and bytes a person has to count. The host's terminal says the same
cut in its own words already ("(not sent to AGENT: you ended the
session)"), and the host's terminal of an agent's file cut short reads
sizes in a person's units (tests/transport/test_words32_host_ends_transfer.py).

A lost link cuts it short too: that row says the connection was lost, and
that the user may send it again (as a question the link's loss closed
says, tests/web/test_pagefiles_rows.py).

Real host and ``view --web``'s bridge and page in headless Chromium (the
tests/web harness, over a real sealed channel through a cuttable proxy):
the host ends the session (or the proxy cuts the link) from inside the
host's send, right after the first chunk went, so the file is mid-way for
sure."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from .conftest import wait_page
from .test_page_file_rows import _rows
from .test_walk34_left_upload import _linked_page

SIZE = 8_000_000
ROW = "big.bin 8.0 MB from the user: not saved: "
ENDED = "the session ended before all of it came ("
LOST = "the connection to the user's computer was lost before all of it came ("


@pytest.mark.parametrize("cut", ["the host ends it", "the link is lost"])
def test_walk33_a_file_cut_mid_way_is_worded_for_a_person(
    browser: Any, tmp_path: Path, cut: str
) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    with _linked_page(browser, downloads) as live:
        peer = live.run(lambda: live.host.viewers[0])
        ending: list[asyncio.Future[None] | None] = []  # the /end under way, once

        def sending(sent: int, size: int) -> None:
            if not sent or ending:
                return
            if cut == "the link is lost":
                live.proxy.cut()
                ending.append(None)
            else:  # the first chunk went: the user types /end
                reason = "the host's user ended the session"
                ending.append(asyncio.ensure_future(live.host.disconnect(reason=reason)))

        sent = live.run(lambda: asyncio.ensure_future(live.host.send(big, peer,
                                                                     on_sending=sending)))
        accept = "//li[span[text()='big.bin']]/button[text()='Accept']"
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, accept), what="the offer")
        browser.find_element(By.XPATH, accept).click()
        live.wait(sent.done, what="the host's send of big.bin")
        # Its send ends in SessionClosedError (what the host's /end answers in
        # words, cli/host_files.py), or in an outcome that is not "delivered".
        assert sent.exception() is not None or sent.result().outcome != "delivered"
        row = ROW + (ENDED if cut == "the host ends it" else LOST)
        wait_page(browser, lambda s: any(r.startswith(row) for r in _rows(browser)),
                  what=f"a row starting {row!r}: {_rows(browser)}")  # fmt: skip
        (words,) = _rows(browser)
        came, rest = words.removeprefix(row).split(" of 8.0 MB); ", 1)
        assert re.fullmatch(r"\d+(\.\d)? (bytes|kB|MB)", came), words  # a person's units
        kept = "nothing of it was kept"
        assert rest == (kept if cut == "the host ends it"
                        else f"{kept}; the user may send it again"), words  # fmt: skip
        assert not any(downloads.iterdir())  # and nothing is
