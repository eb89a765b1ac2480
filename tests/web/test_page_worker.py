"""The page decodes in a Web Worker (static/worker): its main thread stays free.

- While an update that takes seconds to decode (crafted, valid: a 4096x4096
  keyframe of ZSTD ops that inflate to 48 MB each) is being decoded, the
  page has it (its bytes counted) but has not applied it, and the agent's
  pointer input reaches the host before the page answers for the update.
  With the old main-thread decoder the page is never seen in that state:
  the bytes and the picture land in the same task.
- A worker that fails (an off-spec message makes it throw; its 'error' while
  it holds an update; an answer that cannot be read) is replaced and a
  keyframe asked for (an update it held is refused): the canvas, another
  picture just before, is the host's screen again, exactly.
- worker/channel.js refuses every off-spec message between page and worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import zstandard
from selenium.webdriver.common.actions.action_builder import ActionBuilder

from screencodec.capture import open_source
from screencodec.geometry import Rect
from screencodec.transport import HostConfig
from screencodec.web import WebOptions
from screencodec.wire.build import EncodedOp, build_update
from screencodec.wire.format import Op

from .conftest import canvas_bgr, wait_page
from .harness import LiveSession, StillSource

W, H = 320, 200
HEAVY = 4096  # the page decoder's default limit: 16 Mpixel frames
DELTA_PLANAR = 3  # ZSTD op flags: DELTA_UP | PLANAR

# Every Worker the page starts, kept where a test can reach it.
_KEEP_WORKERS = """
(() => {
  const Native = window.Worker;
  window.__workers = [];
  window.Worker = class extends Native {
    constructor(...a) {
      super(...a);
      window.__workers.push(this);
    }
  };
})();
"""


def _heavy_update(ops: int) -> bytes:
    """A valid keyframe that takes the page's decoder seconds: ``ops``
    full-frame ZSTD ops (the wire allows 4x the frame) of zeros, each a few
    KB on the wire and 48 MB of B, G, R to inflate and unfilter."""
    payload = zstandard.ZstdCompressor(level=1, write_content_size=True).compress(
        bytes(HEAVY * HEAVY * 3)
    )
    rect = Rect(0, 0, HEAVY, HEAVY)
    return build_update(1, HEAVY, HEAVY, [EncodedOp(Op.ZSTD, rect, payload, DELTA_PLANAR)] * ops,
                        keyframe=True)  # fmt: skip


def _live() -> tuple[LiveSession, Any]:
    source = StillSource(open_source("synthetic", width=W, height=H, scenario="idle"))
    expect = source.freeze()[..., :3]
    live = LiveSession(
        source,
        config=HostConfig(adaptive=False, local_input_pause=0.0),
        options=WebOptions(control=True, grace=5.0),
    )
    return live, expect


def _page(browser: Any, field: str) -> Any:
    return browser.execute_script(f"return window.screencodecPage.{field}")


def _inject(live: LiveSession, data: bytes) -> Any:
    """Hand ``data`` to the page as the viewer hands it an update; the future
    the page's ``applied`` resolves."""

    async def send() -> Any:
        assert live.web.bridge is not None
        return live.web.bridge.update(data)

    return live.call(send)


def test_pointer_input_goes_through_while_an_update_decodes(browser: Any) -> None:
    live, _ = _live()
    heavy = _heavy_update(3)  # about 2 s in the worker (1.3 s for two, quiet machine)
    try:
        browser.get(live.url)
        st = wait_page(browser, lambda s: s["applied"] >= 1 and (s["level"] or {}).get("control"),
                       what="the first picture and control")  # fmt: skip
        applied = st["applied"]
        received = _page(browser, "bytes")
        answered = _inject(live, heavy)
        # The page has the update's bytes and is still decoding it: a state the
        # old page, decoding in the task that received the bytes, never shows.
        wait_page(
            browser,
            lambda s: _page(browser, "bytes") >= received + len(heavy) and s["applied"] == applied
            and s["refused"] == 0,
            timeout=30, what="the heavy update received, not yet applied",
        )  # fmt: skip
        moves_before = live.run(lambda: sum(e[0] == "move" for e in live.injector.events))
        rect = browser.execute_script(
            "const r = document.getElementById('screen').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height];"
        )
        actions = ActionBuilder(browser)
        actions.pointer_action.move_to_location(int(rect[0] + rect[2] / 2),
                                                int(rect[1] + rect[3] / 2))  # fmt: skip
        actions.perform()
        live.wait(lambda: sum(e[0] == "move" for e in live.injector.events) > moves_before,
                  timeout=30, what="the pointer's move at the host")  # fmt: skip
        # Checked on the loop, where the page's answers are handled: the move
        # came in before the page's answer for the heavy update.
        assert not live.run(answered.done), "the page answered the update before the input"
        live.wait(answered.done, timeout=120, what="the heavy update applied")
        assert live.run(answered.result) == (HEAVY, HEAVY)
        assert wait_page(browser, lambda s: s["width"] == HEAVY)["refused"] == 0
    finally:
        live.close()


def _red(live: LiveSession, browser: Any) -> None:
    """A keyframe of another picture (red) through the page: the canvas shows
    it, so that only a new keyframe from the host makes it exact again."""
    red = EncodedOp(Op.FILL, Rect(0, 0, W, H), bytes((0, 0, 255)))
    done = _inject(live, build_update(7, W, H, [red], keyframe=True))
    live.wait(done.done, what="the red picture applied")
    assert live.run(done.result) == (W, H)
    canvas = canvas_bgr(browser)
    assert (canvas == (0, 0, 255)).all()


def test_a_failed_worker_refuses_its_update_and_the_picture_comes_back(browser: Any) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _KEEP_WORKERS})
    live, expect = _live()
    viewer = lambda: live.web.viewer  # noqa: E731
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  what="the canvas equal to the host's screen")  # fmt: skip
        assert browser.execute_script("return window.__workers.length") == 1

        # 1. An error thrown inside the worker (an off-spec message: the
        # channel's check throws there): a new worker, a keyframe asked for.
        _red(live, browser)
        requests = live.run(lambda: viewer().keyframe_requests)  # type: ignore[union-attr]
        browser.execute_script("window.__workers[0].postMessage({t: 'decode', id: 1, data: 5})")
        wait_page(browser, lambda s: _page(browser, "workerFailures") == 1, what="the failure seen")
        assert browser.execute_script("return window.__workers.length") == 2
        live.wait(lambda: viewer().keyframe_requests > requests,  # type: ignore[union-attr]
                  what="a keyframe asked for")  # fmt: skip
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  timeout=30, what="the host's screen again, exactly")  # fmt: skip

        # 2. The worker fails (its 'error' event, as the page gets it) while
        # it holds an update: that update is refused, the picture recovers.
        _red(live, browser)
        applied = wait_page(browser, lambda s: True)["applied"]
        received = _page(browser, "bytes")
        requests = live.run(lambda: viewer().keyframe_requests)  # type: ignore[union-attr]
        heavy = _heavy_update(1)
        answered = _inject(live, heavy)
        wait_page(browser, lambda s: _page(browser, "bytes") >= received + len(heavy)
                  and s["applied"] == applied, what="the heavy update held")  # fmt: skip
        browser.execute_script(
            "window.__workers[1].dispatchEvent(new ErrorEvent('error', {message: 'test'}))"
        )
        live.wait(answered.done, timeout=30, what="the held update answered")
        assert live.run(answered.result) is None, "a failed worker's update is refused"
        assert _page(browser, "workerFailures") == 2
        assert browser.execute_script("return window.__workers.length") == 3
        live.wait(lambda: viewer().keyframe_requests > requests,  # type: ignore[union-attr]
                  what="a keyframe asked for")  # fmt: skip
        st = wait_page(browser, lambda s: s["width"] == W
                       and np.array_equal(canvas_bgr(browser), expect),
                       timeout=30, what="the host's screen again, exactly")  # fmt: skip
        assert st["refused"] >= 1

        # 3. An answer from the worker that cannot be read ('messageerror').
        _red(live, browser)
        browser.execute_script(
            "window.__workers[2].dispatchEvent(new MessageEvent('messageerror'))"
        )
        wait_page(browser, lambda s: _page(browser, "workerFailures") == 3, what="the failure seen")
        assert browser.execute_script("return window.__workers.length") == 4
        wait_page(browser, lambda s: np.array_equal(canvas_bgr(browser), expect),
                  timeout=30, what="the host's screen again, exactly")  # fmt: skip
    finally:
        live.close()


# Off-spec messages both ways: each must be refused by the channel's checks.
_CHANNEL = """
const [base, done] = arguments;
(async () => {
  const ch = await import(base + "worker/channel.js");
  const bitmap = await createImageBitmap(new ImageData(2, 2));
  const done0 = { t: "done", id: 1, kind: "update", width: 2, height: 2, ms: 1, pictures: 0,
    error: "", tiles: [{ x: 0, y: 0, bitmap }], cursor: null };
  const cursor = { x: 1, y: 2, visible: true, shapeId: 5n, known: true,
    shape: { width: 1, height: 1, hotX: 0, hotY: 0, rgba: new Uint8ClampedArray(4) } };
  const good = [
    [ch.checkToWorker, { t: "decode", id: 7, data: new ArrayBuffer(8) }],
    [ch.checkToWorker, { t: "init", mode: "bitmap", canvas: null }],
    [ch.checkToPage, done0],
    [ch.checkToPage, { ...done0, kind: "cursor", tiles: [], cursor }],
  ];
  const bad = [
    [ch.checkToWorker, { t: "decode", id: 7, data: new Uint8Array(8) }],
    [ch.checkToWorker, { t: "decode", id: -1, data: new ArrayBuffer(8) }],
    [ch.checkToWorker, { t: "decode", id: 7, data: new ArrayBuffer(8), extra: 1 }],
    [ch.checkToWorker, { t: "decode", id: 7 }],
    [ch.checkToWorker, { t: "init", mode: "gl", canvas: null }],
    [ch.checkToWorker, { t: "stall", id: 1 }],
    [ch.checkToWorker, null],
    [ch.checkToWorker, [1]],
    [ch.checkToPage, { ...done0, kind: "bogus" }],
    [ch.checkToPage, { ...done0, width: 16385 }],
    [ch.checkToPage, { ...done0, ms: NaN }],
    [ch.checkToPage, { ...done0, id: 1.5 }],
    [ch.checkToPage, { ...done0, error: "x".repeat(501) }],
    [ch.checkToPage, { ...done0, tiles: [{ x: 0, y: 0, bitmap: new ImageData(1, 1) }] }],
    [ch.checkToPage, { ...done0, tiles: Array(65).fill({ x: 0, y: 0, bitmap }) }],
    [ch.checkToPage, { ...done0, cursor: { ...cursor, shapeId: 2n ** 64n } }],
    [ch.checkToPage, { ...done0, cursor: { ...cursor, shape: { ...cursor.shape, width: 2 } } }],
    [ch.checkToPage, { ...done0, cursor: { ...cursor, shape: { ...cursor.shape, hotX: 1 } } }],
    [ch.checkToPage, { t: "ready", probe: { h264_444: true, h264_420: 1, detail: {} } }],
    [ch.checkToPage, { t: "pixels", id: 1, width: 1, height: 1, data: new Uint8Array(4) }],
  ];
  const passed = good.map(([f, m]) => { try { f(m); return true; } catch { return false; } });
  const refused = bad.map(([f, m]) => { try { f(m); return false; } catch (e) {
    return e instanceof ch.ChannelError; } });
  done({ passed, refused });
})().catch((e) => done({ error: String(e && e.message || e) }));
"""


def test_the_channel_refuses_off_spec_messages(browser: Any) -> None:
    live, _ = _live()
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="page up")
        assert live.web.server is not None
        base = f"/s/{live.web.server.access.static_key}/"
        out = browser.execute_async_script(_CHANNEL, base)
        assert "error" not in out, out
        assert all(out["passed"]), out["passed"]
        assert all(out["refused"]), out["refused"]
    finally:
        live.close()


def test_the_page_policy_allows_its_own_worker_only() -> None:
    async def headers() -> str:
        from screencodec.web.server import WebServer

        async def on_page(ws: Any, hello: Any) -> None:
            return None

        server = WebServer(on_page)
        await server.start()
        try:
            import aiohttp

            async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{server.port}/") as r:
                return r.headers["Content-Security-Policy"]
        finally:
            await server.close()

    csp = asyncio.run(headers())
    rules = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert rules["worker-src"] == "'self'"
    assert rules["script-src"] == "'self' 'wasm-unsafe-eval'"  # WebAssembly, not eval
    assert rules["default-src"] == "'none'"
