"""walk37: a page reloaded while it was still copying a file it sends to the
view process ("uploading N%"). The reloaded page showed the row "big.bin
uploading" for good, with a Cancel; the view process kept the half copy
open (its descriptor and temporary file until the session ended) and
counted it among the 4 copies a page may have open: after four such
reloads the page's next file was taken for a protocol error and its socket
closed. The page that had the file is gone: no more of it can come.

Expected: once the page's socket closes, each copy it had under way is
dropped (nothing of it left in the view process) and its row, replayed to
the reloaded page, reads "failed: not sent: the page was reloaded or closed
before it was all copied; send it again", with no button; the session
goes on.

The tests/web harness (host and ``view --web``'s bridge in this process,
the page in headless Chromium); the page's copy is held after its first
chunk (its next read of the file never resolves), so it cannot end before
the reload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_page_file_rows import _rows

_FAILED = ("big.bin failed: not sent: the page was reloaded or closed before it was all"
           " copied; send it again")  # fmt: skip


#: The page's reads of a file after the first never resolve: its copy stops there.
_HOLD_COPY = """
let reads = 0;
const read = Blob.prototype.arrayBuffer;
Blob.prototype.arrayBuffer = function () {
  return ++reads === 1 ? read.call(this) : new Promise(() => {});
};
"""


def test_walk37_reload_mid_copy_ends_the_row(browser: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x5a" * (4 << 20))
    source = StillSource(open_source("synthetic", width=64, height=64, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0, download_dir=tmp_path / "in"))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        bridge = live.web.bridge
        assert bridge is not None and bridge.files is not None
        files = bridge.files
        browser.execute_script(_HOLD_COPY)
        browser.find_element(By.ID, "file-input").send_keys(str(big))
        live.wait(lambda: any(up.received > 0 for up in files._uploads.values()),
                  what="the copy's first chunk")  # fmt: skip
        browser.refresh()
        wait_page(browser, lambda s: s.get("connected") and _FAILED in _rows(browser),
                  what=f"the row {_FAILED!r}")  # fmt: skip
        assert browser.find_elements(By.XPATH, "//li[span[text()='big.bin']]/input") == []
        assert live.run(lambda: dict(files._uploads)) == {}
        assert list(Path(files._tmp.name).iterdir()) == []
        assert live.result.done() is False
    finally:
        live.close()
