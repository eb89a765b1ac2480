"""The page's digest of the picture it kept, in headless Chromium on the page's
own origin (its server, its Content-Security-Policy): made with hash-wasm's
WebAssembly BLAKE2b (static/vendor/hash-wasm), equal to Python's
``KeptPicture`` for the same pictures and keys, 1x1 to 1920x1080 with partial
tiles. Each picture is a keyframe the Python encoder wrote, decoded by the
page's decoding worker (app/decoding.js, worker/main.js), which answers
``keep`` with the digest as it does after a lost link; the page's main thread
decodes it too and digests it with either BLAKE2b (kept.js's ``kind``).

Under a policy without 'wasm-unsafe-eval' (the page's before hash-wasm, or
what an older browser enforces as if so) WebAssembly cannot be compiled: the
page falls back to blakejs and its digests are still Python's. Under either
policy the page cannot eval."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from loop_thread import LoopThread
from screencodec.encoder import ScreenEncoder
from screencodec.transport.session.kept import KeptPicture
from screencodec.web import server as server_module
from screencodec.web.server import WebServer

#: Odd sizes: one pixel, partial last rows and columns, exact tiles, 1080p.
SIZES = [(1, 1), (63, 65), (64, 64), (65, 64), (130, 129), (1920, 1080)]

# Decodes each case's keyframe in the page's decoding worker and asks it to
# keep the picture; decodes it on the main thread too and digests it there.
_DIGESTS = """
const [base, cases, done] = arguments;
(async () => {
  const kept = await import(base + "decoder/kept.js");
  const { ScreenDecoder } = await import(base + "decoder/index.js");
  const { DecodeWorker } = await import(base + "app/decoding.js");
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const hex = (a) => Array.from(a, (x) => x.toString(16).padStart(2, "0")).join("");
  const unhex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
  let evalRefused = false;
  try {
    new Function("return 1")();
  } catch (e) {
    evalRefused = e instanceof EvalError;
  }
  let failed = null;
  const worker = new DecodeWorker({
    url: base + "worker/main.js", mode: "bitmap", canvas: null,
    onAnswer: (entry, m) => {
      for (const t of m.tiles || []) t.bitmap.close();
      if (m.kind === "refused") failed = m.error;
    },
    onLost: () => {},
    onFailed: (reason) => (failed = reason),
  });
  await worker.start();
  const out = {};
  for (const c of cases) {
    const update = bytes(c.update);
    const key = unhex(c.key);
    worker.decode(update.slice().buffer);
    const fromWorker = await worker.keep(key);
    const dec = new ScreenDecoder();
    await dec.decode(update);
    const fb = dec.framebuffer;
    const k = fromWorker;
    out[c.name] = {
      worker: k && { size: [k.width, k.height], digests: hex(k.digests) },
      wasm: hex(await kept.tileDigests(fb, dec.width, dec.height, key, "wasm").catch(() => [])),
      blakejs: hex(await kept.tileDigests(fb, dec.width, dec.height, key, "blakejs")),
    };
  }
  worker.worker.terminate();
  done({ kind: await kept.blake2bKind(), evalRefused, failed, out });
})().catch((e) => done({ error: String((e && e.message) || e) }));
"""


@pytest.fixture(scope="module")
def served() -> Iterator[WebServer]:
    """The page's server (no session behind it: only its files are asked)."""

    async def on_page(ws: Any, hello: Any) -> None:
        return None

    with LoopThread(timeout=20) as loop:
        server = WebServer(on_page)
        loop.call(server.start())
        try:
            yield server
        finally:
            loop.call(server.close())


@pytest.fixture(scope="module")
def cases() -> tuple[list[dict[str, str]], dict[str, str]]:
    """Keyframes of random pictures (flat tiles in some) and random keys, and
    Python's digests of them."""
    rng = np.random.default_rng(11)
    out, expected = [], {}
    for i, (w, h) in enumerate(SIZES):
        frame = rng.integers(0, 256, (h, w, 4), np.uint8)
        frame[..., 3] = 0
        if i % 2:
            frame[h // 2 :, : w // 2] = (10, 20, 30, 0)
        key = secrets.token_bytes(16)
        update = ScreenEncoder(w, h, threads=1).encode(frame)
        name = f"{w}x{h}"
        out.append({"name": name, "key": key.hex(), "update": base64.b64encode(update).decode()})
        expected[name] = KeptPicture.of(frame, key).digests.hex()
    return out, expected


def _run(browser: Any, server: WebServer, cases: list[dict[str, str]]) -> dict[str, Any]:
    browser.get(f"http://127.0.0.1:{server.port}/")  # the page's origin and policy; no key
    browser.set_script_timeout(300)
    got: dict[str, Any] = browser.execute_async_script(
        _DIGESTS, f"/s/{server.access.static_key}/", cases
    )
    assert "error" not in got, got
    assert got["failed"] is None and got["evalRefused"] is True, got
    return got


def test_the_pages_wasm_digest_is_pythons(
    browser: Any, served: WebServer, cases: tuple[list[dict[str, str]], dict[str, str]]
) -> None:
    got = _run(browser, served, cases[0])
    assert got["kind"] == "wasm"
    for name, digest in cases[1].items():
        w, h = (int(v) for v in name.split("x"))
        assert got["out"][name]["worker"] == {"size": [w, h], "digests": digest}, name
        assert got["out"][name]["wasm"] == digest, name
        assert got["out"][name]["blakejs"] == digest, name


def test_without_wasm_in_its_policy_the_page_digests_with_blakejs(
    browser: Any, served: WebServer, cases: tuple[list[dict[str, str]], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    csp = server_module._csp
    monkeypatch.setattr(server_module, "_csp",
                        lambda port: csp(port).replace(" 'wasm-unsafe-eval'", ""))  # fmt: skip
    got = _run(browser, served, cases[0])
    assert got["kind"] == "blakejs"
    for name, digest in cases[1].items():
        assert got["out"][name]["worker"]["digests"] == digest, name
        assert got["out"][name]["wasm"] == "", name  # refused: nothing made
        assert got["out"][name]["blakejs"] == digest, name
