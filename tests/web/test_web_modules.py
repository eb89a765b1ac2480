"""The page's own modules, run in the page.

- VIDEO ops through WebCodecs: the page's decoder with its WebCodecs sink
  replays a stream of the video scenario written by the Python encoder, and
  its framebuffer after each update is compared with the Python
  ScreenDecoder's (the reference decode): PSNR >= 45 dB, and in practice
  equal byte for byte.
- schema.js refuses every server message that is off-spec.
- keys.js maps KeyboardEvents to the right X keysyms.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from screencodec import ScreenDecoder, ScreenEncoder
from screencodec.capture import open_source
from screencodec.web.schema import dumps

from .conftest import wait_page
from .harness import LiveSession, StillSource

FRAMES = 24
W, H = 480, 272

# Replays base64 updates through ScreenDecoder + WebCodecsVideo; returns the
# framebuffers (RGBA, base64) after the last `keep` updates and the VIDEO count.
_REPLAY = """
const [base, updates, keep, done] = arguments;
(async () => {
  const { ScreenDecoder } = await import(base + "decoder/index.js");
  const { WebCodecsVideo } = await import(base + "app/video.js");
  const video = new WebCodecsVideo();
  const dec = new ScreenDecoder({ video });
  const out = [];
  for (let i = 0; i < updates.length; i++) {
    const bytes = Uint8Array.from(atob(updates[i]), (c) => c.charCodeAt(0));
    await dec.decode(bytes);
    if (i >= updates.length - keep) {
      let s = "";
      const fb = dec.framebuffer;
      for (let j = 0; j < fb.length; j += 0x8000) {
        s += String.fromCharCode.apply(null, fb.subarray(j, j + 0x8000));
      }
      out.push(btoa(s));
    }
  }
  done({ frames: out, pictures: video.pictures });
})().catch((e) => done({ error: String(e && e.message || e) }));
"""


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.fixture(scope="module")
def page_base(browser: Any) -> Any:
    source = StillSource(open_source("synthetic", width=160, height=100, scenario="idle"))
    live = LiveSession(source)
    browser.get(live.url)
    wait_page(browser, lambda s: s["applied"] >= 1, what="page up")
    assert live.web.server is not None
    yield f"/s/{live.web.server.access.static_key}/"
    live.close()


@pytest.mark.parametrize("chroma", ["444", "420"])
def test_webcodecs_matches_reference_decode(browser: Any, page_base: str, chroma: str) -> None:
    probe = wait_page(browser, lambda s: s["probe"] is not None)["probe"]
    if not probe["h264_444" if chroma == "444" else "h264_420"]:
        pytest.skip(f"this Chromium's VideoDecoder does not take {chroma}: {probe}")
    src = open_source("synthetic", width=W, height=H, scenario="video")
    t = [0.0]
    enc = ScreenEncoder(W, H, video=True, video_chroma=chroma, clock=lambda: t[0])  # type: ignore[arg-type]
    ref = ScreenDecoder()
    updates, refs = [], []
    for i in range(FRAMES):
        t[0] = i / 30
        data = enc.encode(src.grab())
        updates.append(base64.b64encode(data).decode())
        refs.append(ref.decode(data).copy())
    keep = 6
    browser.set_script_timeout(30)
    result = browser.execute_async_script(_REPLAY, page_base, updates, keep)
    assert "error" not in result, result
    assert result["pictures"] >= 5, "the stream should have video pictures"
    for got_b64, want in zip(result["frames"], refs[-keep:], strict=True):
        rgba = np.frombuffer(base64.b64decode(got_b64), np.uint8).reshape(H, W, 4)
        got = rgba[..., 2::-1]
        assert _psnr(got, want[..., :3]) >= 45.0
    exact = [
        np.array_equal(np.frombuffer(base64.b64decode(g), np.uint8).reshape(H, W, 4)[..., 2::-1],
                       w[..., :3])
        for g, w in zip(result["frames"], refs[-keep:], strict=True)
    ]  # fmt: skip
    assert all(exact), "software H.264 and the normative conversion should be exact"


_SCHEMA = """
const [base, cases, done] = arguments;
import(base + "app/schema.js").then(({ parseServerMessage }) => {
  done(cases.map((text) => {
    try { parseServerMessage(text); return true; } catch (e) { return e.constructor.name; }
  }));
}).catch((e) => done(String(e)));
"""

SERVER_GOOD = [
    {"t": "level", "view": True, "control": False},
    {"t": "stats", "fps": 29.5, "kbps": 1200, "rtt": 0.4, "skipped": 0},
    {"t": "chat", "from": "host", "text": "<b>hi</b>"},
    {"t": "file_progress", "id": 3, "state": "failed", "text": "too large"},
    {"t": "monitors", "list": [{"index": 1, "width": 10, "height": 10, "primary": True}],
     "current": 1},
    {"t": "blank"},
]  # fmt: skip
SERVER_BAD = [
    '{"t": "level", "view": true}',
    '{"t": "level", "view": true, "control": false, "x": 1}',
    '{"t": "level", "view": 1, "control": false}',
    '{"t": "chat", "from": "admin", "text": "x"}',
    '{"t": "chat", "from": "host", "text": "' + "x" * 4001 + '"}',
    '{"t": "stats", "fps": -1, "kbps": 1, "rtt": 1, "skipped": 0}',
    '{"t": "monitors", "list": [{"index": 1}], "current": 1}',
    '{"t": "monitors", "list": [{"index": 1, "width": 10, "height": 10, "primary": true,'
    ' "__proto__": 1}], "current": 1}',
    '{"t": "blank", "us": 0}',
    '{"t": "__proto__"}',
    '{"t": "toString"}',
    "[]",
    "null",
    "nope",
]


def test_page_schema_refuses_off_spec_messages(browser: Any, page_base: str) -> None:
    cases = [dumps(g) for g in SERVER_GOOD] + SERVER_BAD  # the server sends them all
    result = browser.execute_async_script(_SCHEMA, page_base, cases)
    assert result[: len(SERVER_GOOD)] == [True] * len(SERVER_GOOD), result
    assert result[len(SERVER_GOOD) :] == ["ServerMessageError"] * len(SERVER_BAD), result


_KEYS = """
const [base, cases, done] = arguments;
import(base + "app/keys.js").then(({ keysymOf, textOf }) => {
  done(cases.map(([key, code, ctrl]) => {
    const e = new KeyboardEvent("keydown", { key, code, ctrlKey: ctrl });
    return [keysymOf(e), textOf(e)];
  }));
}).catch((e) => done(String(e)));
"""

KEYS = [
    (("a", "KeyA", False), (0x61, "a")),
    (("A", "KeyA", False), (0x41, "A")),
    (("a", "KeyA", True), (0x61, "")),  # Ctrl+A types nothing
    (("\u00e9", "Digit2", False), (0xE9, "\u00e9")),
    (("\u20ac", "KeyE", False), (0x10020AC, "\u20ac")),
    (("Enter", "Enter", False), (0xFF0D, "")),
    (("Shift", "ShiftRight", False), (0xFFE2, "")),
    (("Control", "ControlLeft", False), (0xFFE3, "")),
    (("ArrowLeft", "ArrowLeft", False), (0xFF51, "")),
    (("F12", "F12", False), (0xFFC9, "")),
    (("Dead", "BracketLeft", False), (0, "")),
    ((" ", "Space", False), (0x20, " ")),
]


def test_page_keysyms(browser: Any, page_base: str) -> None:
    result = browser.execute_async_script(_KEYS, page_base, [list(k) for k, _ in KEYS])
    assert [tuple(r) for r in result] == [want for _, want in KEYS]
