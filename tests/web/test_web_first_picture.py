"""A lossy first picture in the page: a keyframe too large for its rate comes
as H.264 stills (text included), the page shows it through WebCodecs, and the
updates after it refine the canvas to bit-exact. A canvas whose GPU context
is lost and restored (blank) is painted again from the page's framebuffer."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.quality import LossyOptions
from screencodec.wire import Op

from .conftest import canvas_bgr, page_state, wait_page
from .harness import LiveSession, StillSource

#: A test here crashes Chromium's GPU process: it gets a browser of its own
#: (conftest.py), not the one the other modules share.
OWN_BROWSER = True

W, H = 480, 320


def page_decodes_h264_420(browser: Any) -> bool:
    live = LiveSession(StillSource(open_source("synthetic", width=W, height=H, scenario="idle")))
    try:
        browser.get(live.url)
        st = wait_page(browser, lambda s: s["probe"] is not None, what="the decoder probe")
        return bool(st["probe"]["h264_420"])
    finally:
        live.close()


class Recorded(ScreenEncoder):
    """The session's encoder at a fixed rate, keeping each update's op counts."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(
            width, height, lossy=True, video_chroma="420", history=True, photo_filter="med",
            lossy_options=LossyOptions(first_picture=0.05),
        )  # fmt: skip
        self.set_rate(1e6, interval=1 / 20)
        self.updates: list[dict[Op, int]] = []

    def encode(self, frame: Any, /, **kw: Any) -> bytes:
        data = super().encode(frame, **kw)
        self.updates.append(dict(self.last.ops))
        return data


def explain(
    browser: Any, live: LiveSession, expect: npt.NDArray[np.uint8], encoders: list[Recorded]
) -> str:
    """What the canvas, the page, the web viewer and the host's encoder showed,
    and the page's console: a failure says what went wrong without a rerun."""
    lines = []
    try:
        got = canvas_bgr(browser)
    except Exception as exc:  # the page may be what failed
        lines.append(f"canvas: unreadable ({exc!r})")
    else:
        if got.shape != expect.shape:
            lines.append(f"canvas: {got.shape[1]}x{got.shape[0]}, expected {W}x{H}")
        else:
            wrong = (got != expect).any(axis=2)
            ys, xs = np.nonzero(wrong)
            if len(ys):
                worst = int(np.abs(got.astype(np.int16) - expect).max())
                lines.append(
                    f"canvas: {len(ys)} of {wrong.size} pixels differ from the host's screen, "
                    f"within x {xs.min()}..{xs.max()}, y {ys.min()}..{ys.max()} "
                    f"(by up to {worst} in a channel)"
                )
            else:
                lines.append("canvas: equal to the host's screen")
    try:
        lines.append(f"page: {page_state(browser)}")
    except Exception as exc:
        lines.append(f"page: unreadable ({exc!r})")
    ended = live.result
    if not ended.done():
        lines.append("web viewer: running")
    elif ended.cancelled():
        lines.append("web viewer: cancelled")
    elif ended.exception() is not None:
        lines.append(f"web viewer: failed ({ended.exception()!r})")
    else:
        lines.append(f"web viewer: ended ({ended.result()})")
    for n, enc in enumerate(encoders):
        updates = list(enc.updates)
        ops = [{op.name: k for op, k in u.items()} for u in updates if u]
        try:
            lossy = f"{enc.lossy_area} px"
        except Exception as exc:  # closed with its session
            lossy = f"unreadable ({exc!r})"
        lines.append(
            f"encoder {n}: {len(updates)} encodes, {len(ops)} with ops, lossy area {lossy}; "
            f"ops first {ops[:1]}, last {ops[-3:]}"
        )
    try:
        logs = [f"{e['level']} {e['message']}" for e in browser.get_log("browser")]
    except Exception as exc:
        logs = [f"unreadable ({exc!r})"]
    lines.append("console (lines wait_page already read are in its message):")
    lines += [f"  {line}" for line in logs[-30:]] or ["  (nothing)"]
    return "\n".join(lines)


def test_a_lossy_first_picture_is_refined_to_exact_on_the_canvas(browser: Any) -> None:
    if not page_decodes_h264_420(browser):
        pytest.skip("this Chromium's WebCodecs decodes no H.264")
    encoders: list[Recorded] = []

    def factory(width: int, height: int) -> Recorded:
        encoders.append(Recorded(width, height))
        return encoders[-1]

    source = StillSource(open_source("synthetic", width=W, height=H, scenario="typing"))
    expect = source.freeze()[..., :3]
    live = LiveSession(source, encoder_factory=factory)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
        assert len(encoders) == 1, "the host opened one encoder for the one viewer"
        enc = encoders[0]
        # The keyframe went lossy as a whole: stills only, no lossless text.
        first = enc.updates[0]
        assert first.get(Op.VIDEO, 0) >= 1 and not first.get(Op.ZSTREAM), first
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  what="the canvas refined to the host's screen")  # fmt: skip
        assert enc.lossy_area == 0, "the canvas is exact before the encoder refined all"
        st = wait_page(browser, lambda s: True)
        assert st["refused"] == 0, "the page refused an update"
    except Exception as exc:
        raise AssertionError(f"{exc}\n{explain(browser, live, expect, encoders)}") from exc
    finally:
        live.close()


def test_canvases_that_lost_their_gpu_context_are_painted_again(browser: Any) -> None:
    """The GPU process restarts (a crash, a driver reset, its watchdog on a
    starved machine): the screen's and the pointer's 2D contexts come back
    blank, and a still screen sends nothing more, so the page paints both
    again from what it holds."""
    source = StillSource(open_source("synthetic", width=W, height=H, scenario="drag"))
    expect = source.freeze()[..., :3]
    live = LiveSession(source)
    pointer = (
        "const c = document.getElementById('cursor'); if (c.hidden) return null;"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);"
    )
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  what="the canvas equal to the host's screen")  # fmt: skip
        wait_page(browser, lambda s: browser.execute_script(pointer), what="the host's pointer")
        shape = browser.execute_script(pointer)
        browser.execute_script(
            "window.restored = {screen: 0, cursor: 0}; for (const id of ['screen', 'cursor'])"
            "  document.getElementById(id).addEventListener('contextrestored',"
            "    () => window.restored[id]++);"
        )
        applied = wait_page(browser, lambda s: True)["applied"]
        browser.execute_cdp_cmd("Browser.crashGpuProcess", {})
        restored = "return window.restored.screen && window.restored.cursor"
        try:
            wait_page(browser, lambda s: browser.execute_script(restored), timeout=10,
                      what="both canvases' contexts restored")  # fmt: skip
        except AssertionError:
            pytest.skip("a canvas kept its context (not on the GPU in this Chromium)")
        st = wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect)
                       and browser.execute_script(pointer) == shape,
                       what="both canvases painted again")  # fmt: skip
        assert st["applied"] == applied, "painted by the page, not by a new update"
    finally:
        live.close()
