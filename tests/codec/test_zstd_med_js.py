"""The page's JavaScript decoder against Python's on ZSTD ops with the MED
filter (op flags MED | PLANAR), under node.

Streams, written with tests/web/test_js_decoder.py's tools and checked by
tests/web/js/crosscheck.mjs exactly as there (each message's verdict, the
framebuffer's hash after it, the final framebuffer byte for byte): the start
of the real-screen clips browser-scroll (photos revealed by scrolling) and
window-drag (a 1080p photo wallpaper) re-encoded with MED, the synthetic
browser scenario with history and HASH, photo-like rects of odd sizes down to
1x1 at odd places, every ZSTD flag value the spec refuses between keyframes,
and structural mutations of the MED streams; and a short run of the page
decoder's mutation fuzzer (fuzz/js/fuzz.mjs) seeded with them.
"""

from __future__ import annotations

import json
import runpy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zstandard

from screencodec.capture.replay import Recording, synthetic_sequence
from screencodec.codecs import _pixels
from screencodec.codecs.lossless import ZSTD_FLAG_SETS
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, ZstdFlags, build_update, parse_update, split_message

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
MED_PLANAR = int(ZstdFlags.MED | ZstdFlags.PLANAR)

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def _js_tools() -> dict[str, Any]:
    """tests/web/test_js_decoder.py's globals (tests/ is no package)."""
    return runpy.run_path(str(ROOT / "tests" / "web" / "test_js_decoder.py"))


def med_encoder(
    width: int, height: int, *, history: bool = False, integrity: bool = False
) -> ScreenEncoder:
    """A ScreenEncoder whose photo-like blocks go MED | PLANAR."""
    return ScreenEncoder(
        width, height, threads=1, history=history, integrity=integrity, photo_filter="med"
    )


def clip_stream(name: str, frames: int, *, history: bool) -> list[bytes]:
    if not (CORPUS / name / "manifest.json").exists():
        pytest.skip(f"no corpus/{name} (make corpus)")
    with Recording.open(CORPUS / name) as rec:
        enc = med_encoder(rec.width, rec.height, history=history)
        return [enc.encode(np.array(rec.frame(i))) for i in range(min(frames, len(rec)))]


def synthetic_stream(*, history: bool, integrity: bool) -> list[bytes]:
    seq = synthetic_sequence("browser", 480, 300, fps=10, seconds=1.0, seed=1)
    enc = med_encoder(480, 300, history=history, integrity=integrity)
    return [enc.encode(np.ascontiguousarray(seq.frame(i))) for i in range(len(seq))]


def photo(h: int, w: int, seed: int) -> np.ndarray:
    """Photo-like BGRX: gradients with grain that moves the channels together."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 5 + yy) % 256, (yy * 3 + xx) % 256, (255 - 2 * xx) % 256], axis=-1)
    grain = rng.integers(-6, 7, (h, w, 1)) + rng.integers(-2, 3, (h, w, 3))
    out = np.full((h, w, 4), 255, np.uint8)
    out[..., :3] = (base + grain) % 256
    return out


W, H = 61, 47
SIZES = [(1, 1), (1, 9), (9, 1), (2, 2), (3, 5), (17, 1), (1, 23), (31, 29), (61, 47), (7, 46)]


def med_op(picture: np.ndarray, rect: Rect, flags: int = MED_PLANAR) -> EncodedOp:
    packed = _pixels.pack_med(picture, rect.x, rect.y, rect.w, rect.h)
    cctx = zstandard.ZstdCompressor(write_content_size=True)
    return EncodedOp(Op.ZSTD, rect, cctx.compress(packed), flags)


def rects_stream() -> list[bytes]:
    """A keyframe of one MED op, then deltas of MED ops over odd rects at odd
    places, several per update (later ones over earlier ones)."""
    rng = np.random.default_rng(5)
    full = Rect(0, 0, W, H)
    out = [build_update(0, W, H, [med_op(photo(H, W, 0), full)], keyframe=True)]
    for seq, (w, h) in enumerate(SIZES, start=1):
        ops = []
        for k in range(3):
            x, y = int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1))
            ops.append(med_op(photo(H, W, 10 * seq + k), Rect(x, y, w, h)))
        out.append(build_update(seq, W, H, ops))
    return out


def refused_stream() -> list[bytes]:
    """Between keyframes, one ZSTD op with each flag value the spec refuses
    (a valid MED payload): both decoders refuse every one and recover."""
    picture, rect = photo(H, W, 3), Rect(5, 4, 20, 11)
    out = []
    for seq, flags in enumerate(sorted(set(range(256)) - ZSTD_FLAG_SETS)):
        out.append(build_update(2 * seq, W, H, [med_op(photo(H, W, seq), Rect(0, 0, W, H))],
                                keyframe=True))  # fmt: skip
        out.append(build_update(2 * seq + 1, W, H, [med_op(picture, rect, flags)]))
    return out


def med_ops(messages: list[bytes]) -> int:
    return sum(
        op.op is Op.ZSTD and op.flags == MED_PLANAR
        for m in messages
        for op in parse_update(split_message(m)[1]).ops
    )


def streams() -> Iterator[tuple[str, list[bytes]]]:
    tools = _js_tools()
    scroll = clip_stream("browser-scroll", 19, history=True)
    drag = clip_stream("window-drag", 10, history=False)
    rects = rects_stream()
    browser = synthetic_stream(history=True, integrity=True)
    for name, messages in [("med-browser-scroll", scroll), ("med-window-drag", drag),
                           ("med-rects", rects), ("med-synthetic-browser", browser)]:  # fmt: skip
        assert med_ops(messages) >= 2, name
        yield name, messages
    yield "med-refused", refused_stream()
    for k in range(4):
        yield f"mutated-med-rects-{k}", tools["mutated"](rects, 100 + k, 4)
        yield f"mutated-med-browser-{k}", tools["mutated"](browser, 200 + k, 3)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tools = _js_tools()
    directory = tmp_path_factory.mktemp("jsmed")
    for name, messages in streams():
        tools["write_stream"](directory, name, messages)
    return directory


def test_js_decoder_agrees_with_python_on_med(written: Path) -> None:
    tools = _js_tools()
    proc = tools["run_node"](str(tools["JS"] / "crosscheck.mjs"), str(written), timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["streams"] == 13
    assert report["mismatches"] == []


def test_python_refuses_each_undefined_flag_value(written: Path) -> None:
    rows = json.loads((written / "med-refused.expect.json").read_text())
    assert [r[0] for r in rows] == [False, True] * (256 - len(ZSTD_FLAG_SETS))


def test_js_fuzz_short_run_on_med(written: Path) -> None:
    """The page decoder's mutation fuzzer seeded with the MED streams: only
    DecodeErrors, refusals leave the framebuffer as it was."""
    tools = _js_tools()
    fuzz = str(ROOT / "fuzz" / "js" / "fuzz.mjs")
    proc = tools["run_node"](fuzz, "--seconds", "2", "--seed", "3", str(written))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["iterations"] > 0
    assert report["failures"] == []
