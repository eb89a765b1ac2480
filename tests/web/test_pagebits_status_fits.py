"""The bar's status line is read whole in a laptop's window: at 1280x720
and at 1024x768, with control, the host's figures in the stats overlay, a
file on its way and the longest status and a host's notice beside it, none
of the status line's text is cut or runs out of the window, and nothing of
the bar or the overlay runs out of it either. Before, the status and the
notice shared what room the buttons left in one row, each cut with an
ellipsis: at 1280 px the status had 77 px ("Reconn..."), and at 1024 px the
row was wider than the window (the page scrolled sideways) and the notice
had none."""

from __future__ import annotations

import re
from typing import Any

from .conftest import wait_page
from .test_page_resume import controlling

#: The longest status the page takes (schema.js: 200 characters), in the
#: words of the longest one the view process says: a failed reconnection
#: attempt with the relay's reason (web/run.py _telling).
STATUS = ("Reconnecting, for up to 30 s more: the host has not been heard from for 12 s; its "
          "connection to the relay was lost; the relay at relay.example.com:17443 says it "
          "is still waiting for the host to return")  # fmt: skip
NOTICE = "this host cannot be controlled remotely: it has no way to inject input"

_MEASURE = """
const inside = (r) => r.left >= 0 && r.right <= innerWidth + 0.5 && r.bottom <= innerHeight + 0.5;
const whole = (e) => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight
  && inside(e.getBoundingClientRect());
const $ = (id) => document.getElementById(id);
// Its text as laid out, each line's box: within the window and within the
// element's own box (text cut with an ellipsis, or hidden by an overflow,
// is laid out beyond it), and above the picture.
const shown = (e) => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const box = e.getBoundingClientRect(), top = $('viewport').getBoundingClientRect().top;
  return [...range.getClientRects()].every((r) => inside(r) && r.right <= box.right + 0.5
    && r.bottom <= box.bottom + 0.5 && r.bottom <= top + 0.5) && e.textContent;
};
const bar = [...$('bar').querySelectorAll('button, select, .level, .file-button')]
  .filter((e) => e.checkVisibility());
return {
  page: document.documentElement.scrollWidth <= innerWidth,
  status: shown($('status')),
  notice: shown($('notice')),
  bar: bar.length >= 8 && bar.every((e) => inside(e.getBoundingClientRect())),
  stats: whole($('stats')) && $('stats').textContent,
  files: whole($('file-list')) && whole($('files')) && $('file-list').textContent,
};
"""


def test_the_status_line_is_whole_at_1280_and_1024(browser: Any) -> None:
    assert len(STATUS) == 200  # the most the page takes
    with controlling(browser) as (live, bridge, _):
        try:
            live.run(lambda: bridge.send({"t": "notice", "text": NOTICE, "code": 5}))
            live.run(lambda: bridge.send({"t": "file_progress", "id": 1, "state": "sending",
                                          "name": "quarterly-report-final-v3 (copy).xlsx",
                                          "pct": 42}))  # fmt: skip
            live.run(lambda: bridge.status(STATUS))
            stats = "return document.getElementById('stats').textContent"
            wait_page(browser, lambda s: re.search(r"sent: +\d+ fps", browser.execute_script(stats))
                      is not None, what="the host's figures")  # fmt: skip
            for width, height in ((1280, 720), (1024, 768)):
                size = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
                browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", size)
                got = browser.execute_script(_MEASURE)
                assert got["status"] == STATUS, (width, got)
                assert got["notice"] == NOTICE, (width, got)
                assert "RTT:" in got["stats"] and "control" in got["stats"], (width, got)
                assert "sending 42%" in got["files"], (width, got)
                assert got["page"] and got["bar"], (width, got)
        finally:
            browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
