"""The session around the picture, in the page: the level and the stats
overlay, chat both ways (peer text shown as text, never markup), files both
ways with consent, monitors, and the banners on revoke and on the end."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.geometry import Monitor
from screencodec.transport import CONTROL, FileReceived, HostConfig
from screencodec.web import WebOptions

from .conftest import canvas_bgr, wait_page
from .harness import LiveSession, StillSource


def _text(browser: Any, element_id: str) -> str:
    return str(
        browser.execute_script(f"return document.getElementById('{element_id}').textContent")
    )


def _until_text(browser: Any, element_id: str, needle: str, _live: LiveSession) -> str:
    wait_page(browser, lambda s: needle in _text(browser, element_id), what=f"{needle!r}")
    return _text(browser, element_id)


def test_session_controls(browser: Any, tmp_path: Path) -> None:
    inbox, outbox = tmp_path / "host-inbox", tmp_path / "agent-downloads"
    inbox.mkdir()
    outbox.mkdir()
    source = StillSource(open_source("synthetic", width=640, height=400, scenario="terminal"))

    async def yes(_info: object) -> bool:
        return True

    live = LiveSession(
        source,
        config=HostConfig(adaptive=False, download_dir=inbox),
        options=WebOptions(control=True, grace=5.0, download_dir=outbox),
        file_consent=yes,
    )
    host_events = live.run(live.host.events)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        assert _text(browser, "level") == "Control"
        stats = _until_text(browser, "stats", "RTT:", live)
        assert "shown:" in stats and "kbit/s" in stats and "lossless" in stats
        options = browser.find_elements(By.CSS_SELECTOR, "#monitor option")
        assert [o.get_attribute("value") for o in options] == ["0", "1"]

        # Chat from the host: shown as text, whatever it holds.
        live.call(live.host.send_chat, "<b>bold</b><img src=x onerror=alert(1)>")
        _until_text(browser, "chat-log", "<b>bold</b>", live)
        assert browser.find_elements(By.CSS_SELECTOR, "#chat-log b") != []  # our label only
        assert browser.find_elements(By.CSS_SELECTOR, "#chat-log img") == []
        assert browser.find_elements(By.CSS_SELECTOR, "#chat-log span b") == []

        # A file to the user: chosen in the page, uploaded, accepted, checked.
        payload = os.urandom(700_000)
        upload = tmp_path / "report.bin"
        upload.write_bytes(payload)
        browser.execute_script("document.getElementById('file-input').hidden = false")
        browser.find_element(By.ID, "file-input").send_keys(str(upload))

        async def received() -> FileReceived:
            async for ev in host_events:
                if isinstance(ev, FileReceived):
                    return ev
            raise AssertionError("no file")

        got = live.call(received)
        assert Path(got.path).read_bytes() == payload
        _until_text(browser, "file-list", "delivered", live)

        # Another, dropped onto the screen.
        browser.execute_script(
            "const dt = new DataTransfer();"
            "dt.items.add(new File(['dropped ' + 'x'.repeat(1000)], 'notes.txt'));"
            "document.getElementById('viewport').dispatchEvent("
            "  new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));"
        )
        got = live.call(received)
        assert Path(got.path).name == "notes.txt"
        assert Path(got.path).read_text() == "dropped " + "x" * 1000

        # A file from the user: the agent accepts in the page, then saves it.
        gift = tmp_path / "gift.txt"
        gift.write_bytes(b"from the host\n" * 1000)
        peer = live.run(lambda: live.host.viewers[0])
        fut = live.run(lambda: asyncio.ensure_future(live.host.send_file(gift, peer)))
        wait_page(browser, lambda s: browser.find_elements(By.XPATH, "//button[text()='Accept']"),
                  what="file offer")  # fmt: skip
        browser.find_element(By.XPATH, "//button[text()='Accept']").click()
        live.wait(fut.done, what="host's send_file")
        assert live.run(fut.result) is True
        _until_text(browser, "file-list", "saved as", live)  # walk44: in its folder
        href = browser.find_element(By.CSS_SELECTOR, "#file-list a").get_attribute("href")
        body = browser.execute_async_script(
            "fetch(arguments[0]).then(r => r.text()).then(arguments[1])", href
        )
        assert body == gift.read_text()
        assert (outbox / "gift.txt").read_bytes() == gift.read_bytes()

        # Revoke: a banner, and the level shows it at once.
        live.call(live.host.revoke, CONTROL)
        _until_text(browser, "banner-text", "took back remote control", live)
        assert _text(browser, "level") == "View only"

        # The user ends the session: the page says so.
        live.call(live.host.disconnect)
        _until_text(browser, "banner-text", "session has ended", live)
        wait_page(browser, lambda s: s["ended"] is not None, what="ended")
    finally:
        live.close()


class _Screen(StillSource):
    """One monitor of a two-monitor layout: 0 (all) 480x300, 1 (primary) 320x200."""

    LAYOUT: ClassVar[list[Monitor]] = [
        Monitor(0, 0, 0, 480, 300, False),
        Monitor(1, 0, 0, 320, 200, True),
    ]

    @property
    def monitors(self) -> list[Monitor]:
        return list(self.LAYOUT)


def test_monitor_switch(browser: Any) -> None:
    screens = {
        i: _Screen(
            open_source("synthetic", width=m.width, height=m.height, scenario="idle", seed=i)
        )
        for i, m in enumerate(_Screen.LAYOUT)
    }
    frames = {i: s.freeze() for i, s in screens.items()}
    live = LiveSession(screens.__getitem__)  # type: ignore[arg-type]
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["width"] == 320, what="the primary monitor")
        options = browser.find_elements(By.CSS_SELECTOR, "#monitor option")
        assert [o.text for o in options] == ["All (480x300)", "1: 320x200 (primary)"]
        browser.execute_script(
            "const s = document.getElementById('monitor'); s.value = '0';"
            "s.dispatchEvent(new Event('change'));"
        )
        wait_page(browser, lambda s: s["width"] == 480, what="the switch to all monitors")
        expect = frames[0][..., :3]
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect), what="exact")
    finally:
        live.close()
