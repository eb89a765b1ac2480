"""files36: two uploads of one name under way at once (the agent chose
``a/same.bin``, 4 MiB, then ``b/same.bin``, 8 MiB, from two folders), and
one of them is cut: the host could not save the second (its disk full
after the first chunk: the Viewer's FileCut "failed"). Then the host's user
ends the session while the first is still under way. Expected: each row
says what became of its own file: the second "failed: the host could not
save it", the first that the host ended the session and how much of its 4.2
MB had arrived. Before, the bridge tied a FileCut to its upload row by the
file's NAME: the second file's cut was taken for the first's (the first
upload of that name under way), and the first's row then read the second's
amounts ("... of 8.4 MB had arrived"), its own cut dropped.

Real host and ``view --web``'s bridge and page in headless Chromium (the
tests/web harness, over a real sealed channel). The first file's chunks
past 1 MiB are held on the agent's side until the session has ended, so it
is under way for sure when the second is cut and when the session ends."""

from __future__ import annotations

import asyncio
import errno
import os
import re
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from screencodec.transport import HostConfig
from screencodec.transport.session import messages as m
from screencodec.transport.session.files import incoming

from .conftest import wait_page
from .test_page_file_rows import _rows
from .test_page_resume import _LinkedSession
from .test_walk34_left_upload import _linked_page, _yes

MiB = 1 << 20
#: The first file's chunks from here on wait until the session has ended.
HELD_FROM = 1 * MiB
FIRST_ENDED = re.compile(r"same\.bin failed: the host ended the session, [\d.]+ (bytes|kB|MB)"
                         r" of 4\.2 MB had arrived; nothing of it was kept there")
SECOND_FAILED = "same.bin failed: the host could not save it: No space left on device"


@pytest.fixture
def _full_disk_for_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host's disk takes the first chunk of the 8 MiB file, then is full."""
    real = incoming.Incoming.write

    def write(self: incoming.Incoming, data: bytes) -> None:
        if self.size == 8 * MiB and self.written and self.error is None:
            self.error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            raise self.error
        real(self, data)

    monkeypatch.setattr(incoming.Incoming, "write", write)


@pytest.mark.usefixtures("_full_disk_for_the_second")
def test_two_uploads_of_one_name_each_row_tells_its_own_cut(
    browser: Any, tmp_path: Path
) -> None:
    first, second = tmp_path / "a" / "same.bin", tmp_path / "b" / "same.bin"
    for path, size in ((first, 4 * MiB), (second, 8 * MiB)):
        path.parent.mkdir()
        path.write_bytes(os.urandom(size))
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    config = HostConfig(adaptive=False, download_dir=downloads)
    with _linked_page(browser, file_consent=_yes, config=config) as live:
        held, release = _hold_the_first(live)
        browser.find_element(By.ID, "file-input").send_keys(str(first))
        live.wait(held.is_set, what="the first file under way, held past 1 MiB")
        browser.find_element(By.ID, "file-input").send_keys(str(second))
        wait_page(browser, lambda s: _rows(browser)[1:] == [SECOND_FAILED],
                  what=f"the second cut: {_rows(browser)}")  # fmt: skip
        # The second's FileCut was handled before that row went: the Viewer
        # tells it before its send returns, and the bridge's event task,
        # woken then, runs before the upload's task resumes.

        async def end() -> None:  # the host's user types /end; then the held chunk goes
            await live.host.disconnect(reason="the host's user ended the session")
            release.set()

        live.run(lambda: asyncio.ensure_future(end()))
        seen: list[list[str]] = []
        try:
            wait_page(browser, lambda s: seen.append(_rows(browser)) or (
                len(seen[-1]) == 2 and FIRST_ENDED.fullmatch(seen[-1][0]) is not None),
                what="the first row ended")  # fmt: skip
        except AssertionError as exc:
            raise AssertionError(f"rows: {seen[-1:]}") from exc
        assert _rows(browser)[1] == SECOND_FAILED
        assert not any(downloads.iterdir())


def _hold_the_first(live: _LinkedSession) -> tuple[asyncio.Event, asyncio.Event]:
    """The agent's chunks of its first transfer past :data:`HELD_FROM` wait
    for the second event; the first is set once one waits."""
    held, release = live.run(lambda: (asyncio.Event(), asyncio.Event()))
    sender = live.run(lambda: live.web.viewer.sender)  # type: ignore[union-attr]
    real = sender._send

    async def send(msg: m.Message) -> None:
        if isinstance(msg, m.FileChunk) and msg.transfer == 1 and msg.offset >= HELD_FROM:
            held.set()
            await release.wait()
        await real(msg)

    sender._send = send
    return held, release
