"""Writes docs/img/web-viewer.png: the web viewer showing a synthetic desktop,
with the level (control), the stats overlay and a chat line.

Run: ``.venv/bin/python -m tests.web.screenshot`` (needs chromium and chromedriver).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.web import WebOptions

from .conftest import _driver, wait_page
from .harness import LiveSession, StillSource

OUT = Path(__file__).resolve().parents[2] / "docs" / "img" / "web-viewer.png"


def main() -> int:
    driver = _driver()
    driver.set_window_size(1440, 900)
    source = StillSource(open_source("synthetic", width=1440, height=810, scenario="terminal"))
    live = LiveSession(
        source,
        config=HostConfig(adaptive=False),
        options=WebOptions(who="Alice (support)", control=True, grace=5.0),
    )
    try:
        driver.get(live.url)
        wait_page(driver, lambda s: (s["level"] or {}).get("control", False), what="control")
        live.call(live.host.send_chat, "Hi Alice, the printer dialog is on the left.")
        stats = "return document.getElementById('stats').textContent"
        wait_page(driver, lambda s: re.search(r"shown: +[1-9]\d* fps.*sent: +[1-9]\d* fps",
                  driver.execute_script(stats)) is not None, what="stats", timeout=30)  # fmt: skip
        driver.save_screenshot(str(OUT))
        print(f"wrote {OUT}")
    finally:
        live.close()
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
