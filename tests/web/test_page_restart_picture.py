"""The page keeps its picture while its decoding worker is replaced.

The worker draws into a canvas transferred to it, which cannot be taken
back: a new worker gets a fresh, empty canvas and has nothing to show until
the host's keyframe comes (a round trip; on a slow link, long). The picture
the agent sees must not vanish meanwhile: the failed worker's canvas stays
shown, as it was, until the new one has painted, then goes.

Checked by reading the pixels shown (screenshots of the page, what the agent
sees), with the page's incoming frames held back (a slow link) so that the
gap between the restart and the keyframe lasts: sampled several times it
shows the last picture; once the keyframe is let through, the canvas read
back (the new worker's) is the host's screen exactly, and so is what is shown.
"""

from __future__ import annotations

import base64
import io
import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from screencodec.capture import open_source
from screencodec.geometry import Rect
from screencodec.transport import HostConfig
from screencodec.web import WebOptions
from screencodec.wire.build import EncodedOp, build_update
from screencodec.wire.format import Op

from .conftest import canvas_bgr, wait_page
from .harness import LiveSession, StillSource
from .test_page_worker import _KEEP_WORKERS

W, H = 320, 200
RED = (0, 0, 255)  # B, G, R
COVERED = (1, 2, 3)  # no pixel of these pictures

# Every Worker the page starts kept where the test can reach it, and the
# page's incoming WebSocket messages held back while window.__hold is set
# (released in order by window.__release()): a slow link, on demand.
_SLOW_LINK = (
    """
(() => {
  if (window.__release) return; // added once per test, in one browser
"""
    + _KEEP_WORKERS
    + """
  const Kept = window.Worker; // each marked once it says it is ready
  window.Worker = class extends Kept {
    constructor(...a) {
      super(...a);
      this.addEventListener("message", (ev) => {
        if (ev.data && ev.data.t === "ready") this.__ready = true;
      });
    }
  };
  window.__hold = false;
  window.__held = [];
  let deliver = null;
  window.__release = () => {
    window.__hold = false;
    for (const ev of window.__held.splice(0)) deliver(ev);
  };
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    set onmessage(handler) {
      deliver = (ev) => handler.call(this, ev);
      super.onmessage = (ev) => {
        if (window.__hold) window.__held.push(ev);
        else deliver(ev);
      };
    }
  };
})();
"""
)


def _shown(browser: Any) -> npt.NDArray[np.uint8]:
    """What the page shows where its screen canvas is, as (H, W, 3) B, G, R
    (a screenshot). What lies over the picture by design, the host's pointer
    and the note over a frozen picture, is filled with ``COVERED``."""
    where = (
        "const r = (e) => { const b = e.getBoundingClientRect();"
        " return [b.left, b.top, b.width, b.height]; };"
        "const over = [...document.querySelectorAll('#cursor, .frozen-note')].filter("
        " (e) => !e.hidden).map(r);"
        "return [r(document.getElementById('screen')), over];"
    )
    rect, over = browser.execute_script(where)
    png = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    # What lay over it before the screenshot or after: the page's state and
    # the frame the screenshot composes are not read at one instant (the fresh
    # clone of 320cdd8 saw a note just hidden still in the picture, once).
    over = over + browser.execute_script(where)[1]
    shot = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"))[..., ::-1]
    x, y, w, h = (round(v) for v in rect)
    out = shot[y : y + h, x : x + w].copy()
    covered = np.zeros(out.shape[:2], bool)
    for ox, oy, ow, oh in over:
        x0, y0 = max(0, math.floor(ox) - x - 1), max(0, math.floor(oy) - y - 1)
        covered[y0 : math.ceil(oy + oh) - y + 1, x0 : math.ceil(ox + ow) - x + 1] = True
    out[covered] = COVERED
    return out


def _shows(shown: npt.NDArray[np.uint8], expect: npt.NDArray[np.uint8] | tuple[int, ...]) -> bool:
    """``shown`` is ``expect`` (a picture, or one colour) where it is not covered."""
    want = np.broadcast_to(np.asarray(expect, np.uint8), shown.shape)
    covered = (shown == COVERED).all(axis=2)
    return bool(((shown == want).all(axis=2) | covered).all() and covered.mean() < 0.1)


# Ways a worker fails (test_page_worker.py has each end in a new worker):
# an error thrown in it (an off-spec message: the channel's check throws);
# its 'error' event as the page gets it; an answer that cannot be read.
FAILURES = {
    "thrown": "window.__workers[0].postMessage({t: 'decode', id: 1, data: 5})",
    "error": "window.__workers[0].dispatchEvent(new ErrorEvent('error', {message: 'test'}))",
    "messageerror": "window.__workers[0].dispatchEvent(new MessageEvent('messageerror'))",
    # Then the new worker fails too, once ready, before its first picture:
    # the same picture stays.
    "twice": "window.__workers[0].postMessage({t: 'decode', id: 1, data: 5})",
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_the_picture_stays_until_the_new_worker_paints(browser: Any, failure: str) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _SLOW_LINK})
    source = StillSource(open_source("synthetic", width=W, height=H, scenario="idle"))
    expect = source.freeze()[..., :3]
    live = LiveSession(source, config=HostConfig(adaptive=False),
                       options=WebOptions(grace=5.0))  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  what="the canvas equal to the host's screen")  # fmt: skip

        # A picture that only the page has (red): what stays shown is
        # told apart from the host's keyframe.
        async def red() -> Any:
            assert live.web.bridge is not None
            fill = EncodedOp(Op.FILL, Rect(0, 0, W, H), bytes(RED))
            return live.web.bridge.update(build_update(7, W, H, [fill], keyframe=True))

        done = live.call(red)
        live.wait(done.done, what="the red picture applied")
        wait_page(browser, lambda s: _shows(_shown(browser), RED), what="red shown")

        # The link goes slow; the worker fails; the page starts another and
        # asks for a keyframe.
        browser.execute_script("window.__hold = true;")
        browser.execute_script(FAILURES[failure])
        failed = (
            "return window.screencodecPage.workerFailures === arguments[0]"
            " && window.__workers.length === arguments[0] + 1 && window.__held.length > 0"
        )
        wait_page(browser, lambda s: browser.execute_script(failed, 1),
                  what="a new worker, the keyframe held")  # fmt: skip
        if failure == "twice":
            # (A worker that fails before it is ready is not started again.)
            ready = "return window.__workers[1].__ready === true"
            wait_page(browser, lambda s: browser.execute_script(ready), what="the new worker ready")
            browser.execute_script("window.__workers[1].dispatchEvent(new ErrorEvent('error'))")
            wait_page(browser, lambda s: browser.execute_script(failed, 2),
                      what="another worker, the keyframe held")  # fmt: skip
        # Between the restart and the keyframe: the last picture, every time.
        for _ in range(6):
            shown = _shown(browser)
            assert shown.shape == (H, W, 3)
            assert _shows(shown, RED), f"{np.mean(np.any(shown != RED, axis=2)):.0%} not red"
            time.sleep(0.25)
        # The read-back is the new worker's canvas, not the frozen picture.
        assert not (canvas_bgr(browser) == RED).all()

        # The keyframe let through: each picture shown until the host's
        # screen is the last one or the new one, never an empty canvas.
        browser.execute_script("window.__release();")
        deadline = time.monotonic() + 30
        while not _shows(shown := _shown(browser), expect):
            assert _shows(shown, RED), "neither the last picture nor the new one"
            assert time.monotonic() < deadline, "the host's screen never shown"
        assert np.array_equal(canvas_bgr(browser), expect)
        gone = ("return !document.querySelector('canvas.frozen')"
                " && document.querySelector('.frozen-note').hidden")  # fmt: skip
        wait_page(browser, lambda s: browser.execute_script(gone), what="the frozen picture gone")
    finally:
        live.close()
