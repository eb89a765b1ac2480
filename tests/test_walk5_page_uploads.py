"""Several files chosen at once in the page's Send file (walk5: the page of
``view --web`` in headless Chromium, files sent from its Send file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

import test_walk3_page as walk3
from screencodec.transport import HostConfig
from screencodec.transport.session.sidechannels import FileOfferInfo
from screencodec.web import WebOptions
from web.conftest import page_state, wait_page
from web.harness import LiveSession
from web.test_page_file_rows import _rows

browser = walk3.browser  # the module's headless Chromium (a fixture)
_source, _watching = walk3._source, walk3._watching


def test_walk5_six_files_chosen_at_once_are_all_sent_and_the_page_stays(
    browser: Any, tmp_path: Path
) -> None:
    """walk5: the agent picks six small files at once in the page's Send file. The page
    offered all six to the view process before copying any, which takes at most 4 copies
    open at once and took the fifth for a page breaking the protocol: it closed the page's
    socket, the page said 'Not connected' with the banner 'too many uploads, or an id in
    use', five rows stayed 'waiting', and 10 s later the session ended ('you closed the web
    viewer page (it did not come back within 10 s)'). Expected: every file is sent (the
    page copies at most 4 at a time) and the page stays in the session."""
    out = tmp_path / "in"
    out.mkdir()
    names = []
    for k in range(6):
        path = tmp_path / f"small{k}.txt"
        path.write_text(f"file {k}\n" * 100)
        names.append(str(path))

    async def yes(info: FileOfferInfo) -> bool:
        return True

    live = LiveSession(_source(), options=WebOptions(grace=5.0), file_consent=yes,
                       config=HostConfig(adaptive=False, download_dir=out))  # fmt: skip
    with _watching(browser, live):
        browser.find_element(By.ID, "file-input").send_keys("\n".join(names))
        delivered = " delivered: the host saved it"
        # The host asks about 3 at a time (MAX_PENDING_OFFERS), and says so (files2).
        busy = (" not accepted by the host: its user has 3 questions open already: send it"
                " again once they are answered")  # fmt: skip

        def ended(row: str) -> bool:
            return row.endswith((delivered, busy))

        wait_page(browser, lambda s: len(_rows(browser)) == 6 and all(map(ended, _rows(browser))),
                  timeout=20, what="every row to end")  # fmt: skip
        rows = _rows(browser)
        assert [r.split(" ")[0] for r in rows] == [f"small{k}.txt" for k in range(6)], rows
        assert all(map(ended, rows)), rows
        assert page_state(browser)["connected"], page_state(browser)
        assert not live.result.done()
    saved = [f"small{k}.txt" for k in range(6) if rows[k].endswith(delivered)]
    assert len(saved) >= 3, rows
    assert sorted(p.name for p in out.iterdir()) == saved
    for name in saved:
        k = int(name[5])
        assert (out / name).read_text() == f"file {k}\n" * 100
