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
        enough = 3 if scenario == "idle" else 15  # idle changes once a second (its clock)
        wait_page(browser, lambda s: s["applied"] >= enough, what=f"{enough} updates applied")
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


def test_cursor_and_capabilities(browser: Any) -> None:
    """The host's pointer is drawn where the host says, with its exact shape;
    the viewer declared to the host what this browser's WebCodecs decodes."""
    source = StillSource(open_source("synthetic", width=480, height=320, scenario="drag"))
    source.freeze()
    cur = source.cursor()
    assert cur is not None and cur.shape is not None
    live = LiveSession(source)
    try:
        browser.get(live.url)
        st = wait_page(browser, lambda s: s["applied"] >= 1, what="first picture")
        probe = st["probe"]
        caps = live.run(lambda: live.web.viewer.capabilities)  # type: ignore[union-attr]
        assert bool(caps.video & 2) == probe["h264_444"]
        assert bool(caps.video & 1) == probe["h264_420"]
        state = wait_page(
            browser,
            lambda s: browser.execute_script("return !document.getElementById('cursor').hidden"),
            what="the host's pointer drawn",
        )
        assert state["width"] == 480  # shown 1:1 (it fits the window)
        left, top, w, h, data = browser.execute_script(
            "const c = document.getElementById('cursor');"
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "return [c.style.left, c.style.top, c.width, c.height, Array.from(d)];"
        )
        hx, hy = cur.hotspot
        assert (left, top) == (f"{cur.x - hx}px", f"{cur.y - hy}px")
        shape = cur.shape
        assert (h, w) == shape.shape[:2]
        rgba = np.array(data, np.uint8).reshape(h, w, 4)
        opaque = shape[..., 3] == 255  # canvas stores premultiplied: compare opaque pixels
        assert np.array_equal(rgba[opaque][:, :3], shape[opaque][:, 2::-1])
        assert np.array_equal(rgba[..., 3], shape[..., 3])
    finally:
        live.close()


def test_a_refused_update_recovers_exact(browser: Any) -> None:
    """A damaged update (as a bug or an attack could make one): the page refuses
    it, the viewer asks for a keyframe after its Receipt, the canvas is exact again."""
    source = StillSource(open_source("synthetic", width=480, height=320, scenario="terminal"))
    live = LiveSession(source)
    damaged: list[int] = []
    bridge = live.web.bridge
    assert bridge is not None
    forward = bridge.update

    def damaging(data: bytes, /) -> Any:
        keyframe = data[12] & 1
        if not damaged and not keyframe and len(data) > 24:
            damaged.append(len(data))
            data = data[:20] + b"\xff\xff\xff\xff" + data[24:]  # an impossible op count
        return forward(data)

    bridge.update = damaging  # type: ignore[method-assign]
    try:
        browser.get(live.url)
        st = wait_page(browser, lambda s: s["refused"] >= 1 and s["applied"] >= 10,
                       what="a refusal, then more updates")  # fmt: skip
        assert damaged
        viewer = live.web.viewer
        assert viewer is not None and live.run(lambda: viewer.keyframe_requests) >= 1
        expect = source.freeze()[..., :3]
        ok = False
        for _ in range(200):
            if np.array_equal(canvas_bgr(browser), expect):
                ok = True
                break
            wait_page(browser, lambda s: True)
        assert ok and st["refused"] >= 1
    finally:
        live.close()
