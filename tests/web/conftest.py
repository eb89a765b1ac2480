"""One headless Chromium per test process, a fresh tab per test module.

Starting Chromium for each of the 60-odd page modules cost about a minute
of the web tests' 4.4 (-n 4, stop 34). A module gets a new tab, the others
closed: its sessionStorage, the scripts and emulation it set up through CDP
(which belong to the tab) and its page go with the old tab; the browser's
log is drained and held keys let go. A module that does something to the
browser itself (crashes its GPU process) sets ``OWN_BROWSER = True`` and
gets one of its own. A browser that died is started again."""

from __future__ import annotations

import base64
import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--disable-extensions", "--mute-audio"):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=opts)


def _fresh_tab(drv: Any) -> None:
    """A new blank tab, every other one closed, the log drained, every key
    and button let go: what a module left does not reach the next."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.timeouts import Timeouts

    drv.switch_to.new_window("tab")
    keep = drv.current_window_handle
    for handle in drv.window_handles:
        if handle != keep:
            drv.switch_to.window(handle)
            drv.close()
    drv.switch_to.window(keep)
    # In front, as a module's own browser's one tab was: a page in a tab
    # behind shows no focus (the agent page's outline test found it).
    drv.execute_cdp_cmd("Page.bringToFront", {})
    drv.get_log("browser")
    ActionChains(drv).reset_actions()  # keys and buttons held belong to the session
    # Timeouts belong to the browser's session, not the tab: back to a new
    # one's (W3C WebDriver's), or a module's 300 s script timeout would last.
    drv.timeouts = Timeouts(implicit_wait=0, page_load=300, script=30)


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest, _shared_chromium: list[Any]) -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromedriver are needed (scripts/bootstrap.sh installs them)")
    pytest.importorskip("selenium")
    if getattr(request.module, "OWN_BROWSER", False):
        own = _driver()
        try:
            yield own
        finally:
            own.quit()
        return
    drv = _shared_chromium[0] if _shared_chromium else None
    if drv is not None:
        try:
            _fresh_tab(drv)
        except Exception:  # it died or hangs in a dialog: a new one
            with contextlib.suppress(Exception):
                drv.quit()
            _shared_chromium.clear()
            drv = None
    if drv is None:
        drv = _driver()
        _shared_chromium.append(drv)
    yield drv
    # The module's page goes now, not when the next page module comes: until
    # then it would keep its timers, its worker and its link (or its tries to
    # reconnect) running while this process runs other files.
    with contextlib.suppress(Exception):
        drv.get("about:blank")


@pytest.fixture(scope="session")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short session recorded at a real Host (test_web_playback's
    ``_record``), made once per test process for the playback modules
    (test_web_playback, test_walk33, test_odds40, test_tail39): each made
    its own, 3.5 s and 0.5 s of CPU apiece (time49), and only reads it."""
    import asyncio

    from .test_web_playback import _record

    return asyncio.run(asyncio.wait_for(_record(tmp_path_factory.mktemp("rec")), 60))


_STATE = (
    "const p = window.screencodecPage; if (!p) return null;"
    "return {applied: p.applied, refused: p.refused, level: p.level, ended: p.ended,"
    " banner: p.banner, width: p.width, height: p.height, connected: p.connected,"
    " probe: p.probe, videoOps: p.videoOps, closed: p.closed};"
)

# The page waits for its own state to change (looked at every 50 ms, in the
# page: no round trip) and answers then, at least SOON ms and at most LATE ms
# after it was asked. A look from the test is a WebDriver round trip, ~9 ms
# of CPU between this process, chromedriver, the browser and the page
# (stop 54); made every 50 ms by every wait, they were a steady load on the
# 2 cores for the whole of the web tests' waits. Now a wait whose page
# changes nothing costs one look per LATE ms; one whose page changes costs
# what it did (one per change, at most one per SOON ms).
_SOON_MS = 50
_LATE_MS = 250
_STATE_CHANGED = (
    "const [seen, soon, late] = arguments; const done = arguments[arguments.length - 1];"
    "const read = () => { " + _STATE + " };"
    "const t0 = performance.now();"
    "const look = () => { const st = read(); const s = JSON.stringify(st);"
    "  const ms = performance.now() - t0;"
    "  if (ms >= late || (ms >= soon && s !== seen)) done([st, s]); else setTimeout(look, 50); };"
    "look();"
)


def page_state(browser: Any) -> dict[str, Any]:
    state = browser.execute_script(_STATE)
    return state or {}


def wait_page(
    browser: Any, cond: Callable[[dict[str, Any]], bool], timeout: float = 20, what: str = ""
) -> dict[str, Any]:
    """The page's state once ``cond`` holds for it. ``cond`` is tried at
    once, then each time the state changes, and at least every 250 ms
    (``cond`` may look at more than the state: the canvas, the page)."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    st = page_state(browser)
    seen = None
    while True:
        if st and cond(st):
            return st
        if time.monotonic() > deadline:
            logs = [e["message"] for e in browser.get_log("browser")][-10:]
            raise AssertionError(f"timed out waiting for {what}: {st} {logs}")
        try:
            got, seen = browser.execute_async_script(_STATE_CHANGED, seen, _SOON_MS, _LATE_MS)
            st = got or {}
        except WebDriverException:
            # The page went while it waited (a reload, a navigation): look
            # again at whatever page is there now.
            time.sleep(0.05)
            st, seen = page_state(browser), None


def canvas_bgr(browser: Any) -> npt.NDArray[np.uint8]:
    """The screen canvas read back (the page's ``readPixels``: its decoding
    worker draws into it, and only the worker can read it), as (H, W, 3) B, G, R."""
    data = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; const p = window.screencodecPage;"
        "(p && p.readPixels ? p.readPixels() : Promise.resolve(null)).then((px) => {"
        "  if (!px) return done([1, 1, btoa('\\0\\0\\0\\xff')]);"
        "  const d = px.data; let s = ''; const n = 0x8000;"
        "  for (let i = 0; i < d.length; i += n)"
        "    s += String.fromCharCode.apply(null, d.subarray(i, i + n));"
        "  done([px.width, px.height, btoa(s)]);"
        "});"
    )
    w, h, b64 = data
    rgba = np.frombuffer(base64.b64decode(b64), np.uint8).reshape(h, w, 4)
    return rgba[..., 2::-1].copy()
