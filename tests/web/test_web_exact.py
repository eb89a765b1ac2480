"""The page shows the host's screen bit-exact: synthetic lossless scenarios
streamed through ``WebViewer`` into headless Chromium, the canvas read back
with getImageData once the screen is still."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from screencodec.capture import open_source

from .conftest import canvas_bgr, wait_page
from .harness import LiveSession, StillSource


@pytest.mark.parametrize("scenario", ["typing", "terminal", "browser", "drag", "idle"])
def test_canvas_equals_host_screen(browser: Any, scenario: str) -> None:
    source = StillSource(open_source("synthetic", width=480, height=320, scenario=scenario))
    live = LiveSession(source)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 15, what="15 updates applied")
        frame = source.freeze()
        expect = frame[..., :3]
        # Still: the host sends what changed up to the frozen frame, then nothing.
        deadline_ok = False
        for _ in range(200):
            got = canvas_bgr(browser)
            if got.shape == expect.shape and np.array_equal(got, expect):
                deadline_ok = True
                break
            wait_page(browser, lambda s: True)
        assert deadline_ok, "canvas never equalled the host's frozen screen"
        st = wait_page(browser, lambda s: True)
        assert st["refused"] == 0
        assert st["level"] == {"view": True, "control": False}
    finally:
        live.close()
