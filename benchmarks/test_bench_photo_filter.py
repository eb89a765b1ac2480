"""The ZSTD op's MED filter (MED | PLANAR) against DELTA_UP | PLANAR on photos,
at 1080p, both in the same run.

Workloads: the real-screen clips browser-scroll (Chromium scrolling an article
with photos) and window-drag (an xterm dragged over a photo wallpaper) from
``corpus/`` (``make corpus``), and the synthetic desktop's browser scenario.
Two encoders as a session runs them (history on, one thread), one per filter,
encode each frame in turn (alternating which goes first); every update is
decoded and checked bit-exact. Reported per workload: the photo-like blocks
(ZSTD ops) in bytes and every update after the keyframe in kbit/s, for each
filter and as a ratio; then per photo block the encode time
(LosslessEncoder.encode_rect: filter and zstd), the Python decode time
(inflate and unfilter) and the page's JS decode time (node, the same blocks
as one update each), MED's as a ratio to DELTA_UP's, all on the same blocks
in the same run (best of 3 alternating rounds). Then window-drag's first
picture (a 1080p keyframe, mostly its photo wallpaper): bytes and seconds at
4 Mbit/s with each filter.

Run with ``make bench`` or ``pytest benchmarks/test_bench_photo_filter.py``.
"""

from __future__ import annotations

import functools
import json
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from _report import CORPUS, write_lines
from screencodec.capture.replay import Recording
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.codecs.lossless import LosslessDecoder, LosslessEncoder, PhotoFilter
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.wire import EncodedOp, Op, build_update, parse_update, split_message

Frame = npt.NDArray[np.uint8]
W, H = 1920, 1080
ROOT = Path(__file__).resolve().parent.parent
BENCH_JS = ROOT / "tests" / "web" / "js" / "bench_decode.mjs"
FILTERS: tuple[PhotoFilter, PhotoFilter] = ("delta", "med")
SYNTHETIC_FRAMES = 120  # after the keyframe
ROUNDS = 3
LINK = 4e6  # bit/s
ROWS: list[str] = []
KEYFRAME_ROWS: list[str] = []


def encoder(photo_filter: PhotoFilter, *, history: bool = True) -> ScreenEncoder:
    """A session's lossless encoder with the given photo filter."""
    return ScreenEncoder(W, H, threads=1, history=history, photo_filter=photo_filter)


@dataclass
class Side:
    total: int = 0  # every update after the keyframe
    photo: int = 0  # the ZSTD ops among them (header and payload)
    keyframe: int = 0


@dataclass
class Workload:
    name: str
    fps: float
    frames: int = 0
    sides: dict[str, Side] = field(default_factory=lambda: {f: Side() for f in FILTERS})
    blocks: list[tuple[Rect, Frame]] = field(default_factory=list)  # the photo blocks, as sent


def run_stream(name: str, fps: float, frames: Iterator[Frame]) -> Workload:
    work = Workload(name, fps)
    pairs = [(f, encoder(f), ScreenDecoder()) for f in FILTERS]
    for i, frame in enumerate(frames):
        work.frames += 1
        for f, enc, dec in pairs if i % 2 else pairs[::-1]:
            data = enc.encode(frame)
            fb = dec.decode(data)
            assert np.array_equal(fb[..., :3], frame[..., :3]), f"{name} frame {i} ({f})"
            zstd = [op for op in parse_update(split_message(data)[1]).ops if op.op is Op.ZSTD]
            side = work.sides[f]
            if i == 0:
                side.keyframe = len(data)
                continue
            side.total += len(data)
            side.photo += sum(14 + len(op.payload) for op in zstd)
            if f == "delta":
                for op in zstd:
                    r = op.rect
                    work.blocks.append((r, frame[r.y : r.bottom, r.x : r.right].copy()))
    for _, enc, _ in pairs:
        enc.close()
    return work


def best(fn: Callable[[], None]) -> float:
    out = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def block_ops(blocks: list[tuple[Rect, Frame]], f: PhotoFilter) -> list[EncodedOp]:
    """Each block encoded alone, placed where it was on the screen."""
    enc = LosslessEncoder(photo_filter=f)
    out = []
    for r, px in blocks:
        op = enc.encode_rect(px, Rect(0, 0, r.w, r.h))
        out.append(EncodedOp(op.op, r, op.payload, op.flags))
    return out


def timings(blocks: list[tuple[Rect, Frame]]) -> dict[str, dict[str, float]]:
    """Seconds per block: encode, Python decode, JS decode, per filter."""
    out: dict[str, dict[str, float]] = {f: {} for f in FILTERS}
    ops: dict[str, list[EncodedOp]] = {f: block_ops(blocks, f) for f in FILTERS}
    views = {
        f: [parse_update(split_message(build_update(1, W, H, [op]))[1]).ops[0] for op in ops[f]]
        for f in FILTERS
    }
    fb = np.zeros((H, W, 4), np.uint8)

    def encode(f: PhotoFilter) -> None:
        enc = LosslessEncoder(photo_filter=f)
        for _, px in blocks:
            enc.encode_rect(px, Rect(0, 0, px.shape[1], px.shape[0]))

    def decode(f: PhotoFilter) -> None:
        dec = LosslessDecoder()
        for view in views[f]:
            dec.apply(dec.prepare(view, (W, H)), fb)

    for _ in range(ROUNDS):  # alternate: load from others hits both alike
        for f in FILTERS:
            out[f]["encode"] = min(out[f].get("encode", 1e9), best(functools.partial(encode, f)))
            out[f]["decode"] = min(out[f].get("decode", 1e9), best(functools.partial(decode, f)))
    for name, js in js_decode(ops).items():
        out[name]["js"] = js
    for f in FILTERS:
        for k in out[f]:
            out[f][k] /= max(1, len(blocks))
    return out


def js_decode(ops: dict[str, list[EncodedOp]]) -> dict[str, float]:
    """Seconds the page's decoder (node) takes over all blocks, per filter:
    a FILL keyframe, then each block as a delta of its own."""
    if shutil.which("node") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        for f, fops in ops.items():
            fill = EncodedOp(Op.FILL, Rect(0, 0, W, H), b"\0\0\0")
            msgs = [build_update(0, W, H, [fill], keyframe=True)]
            msgs += [build_update(i, W, H, [op]) for i, op in enumerate(fops, start=1)]
            Path(tmp, f"{f}.msgs").write_bytes(
                b"".join(struct.pack("<I", len(m)) + m for m in msgs)
            )
        proc = subprocess.run(
            ["node", str(BENCH_JS), tmp, str(ROUNDS + 1)],
            capture_output=True, text=True, timeout=600, check=True, cwd=ROOT,
        )  # fmt: skip
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    return {f: sum(times[f][1:]) / 1e3 for f in ops}


def ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}x" if a else "-"


def report(work: Workload) -> None:
    d, m = work.sides["delta"], work.sides["med"]
    t = timings(work.blocks)
    js = (
        f"{t['delta']['js'] * 1e3:.2f} / {t['med']['js'] * 1e3:.2f} "
        f"({ratio(t['delta']['js'], t['med']['js'])})"
        if "js" in t["med"]
        else "-"
    )
    seconds = (work.frames - 1) / work.fps
    ROWS.append(
        f"| {work.name} | {len(work.blocks)} | {d.photo / 1000:,.0f} / {m.photo / 1000:,.0f} kB "
        f"(**{ratio(d.photo, m.photo)}**) | {d.total * 8e-3 / seconds:,.0f} / "
        f"{m.total * 8e-3 / seconds:,.0f} kbit/s ({ratio(d.total, m.total)}) | "
        f"{t['delta']['encode'] * 1e3:.2f} / {t['med']['encode'] * 1e3:.2f} "
        f"({ratio(t['delta']['encode'], t['med']['encode'])}) | "
        f"{t['delta']['decode'] * 1e3:.2f} / {t['med']['decode'] * 1e3:.2f} "
        f"({ratio(t['delta']['decode'], t['med']['decode'])}) | {js} |"
    )


RUNS: dict[str, Workload] = {}


def _recorded(clip: str) -> tuple[float, Iterator[Frame]]:
    if not (CORPUS / clip / "manifest.json").exists():
        pytest.skip(f"no corpus/{clip} (make corpus)")
    rec = Recording.open(CORPUS / clip)
    if (rec.width, rec.height) != (W, H):
        pytest.skip(f"corpus/{clip} is {rec.width}x{rec.height}, not 1080p")
    return rec.fps, (np.array(rec.frame(i)) for i in range(len(rec)))


def _synthetic() -> tuple[float, Iterator[Frame]]:
    src = SyntheticDesktop(W, H, scenario="browser", seed=0)
    return src.fps, (src.frame_at(i) for i in range(SYNTHETIC_FRAMES + 1))


@pytest.fixture(scope="module", autouse=True)
def _table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = [
        "",
        "| workload | photo blocks | photo bytes DELTA_UP / MED (ratio) | all updates after "
        "the keyframe DELTA_UP / MED | encode ms per block DELTA_UP / MED | Python decode ms "
        "per block | JS decode ms per block |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *ROWS,
    ]
    if KEYFRAME_ROWS:
        lines += ["", *KEYFRAME_ROWS]
    write_lines(request, lines)


@pytest.mark.parametrize("workload", ["corpus/browser-scroll", "corpus/window-drag", "browser"])
def test_photo_filter(workload: str, benchmark: Any) -> None:
    fps, frames = _synthetic() if workload == "browser" else _recorded(workload[7:])
    work = benchmark.pedantic(lambda: run_stream(workload, fps, frames), rounds=1, iterations=1)
    assert work.blocks, "no photo-like blocks"
    d, m = work.sides["delta"], work.sides["med"]
    report(work)
    benchmark.extra_info.update(photo_delta=d.photo, photo_med=m.photo, blocks=len(work.blocks))
    assert m.photo < d.photo  # MED must pay on photos


def test_window_drag_keyframe(benchmark: Any) -> None:
    """The first picture of a session showing a photo wallpaper."""
    _, frames = _recorded("window-drag")
    first = next(iter(frames))

    def run() -> dict[str, tuple[int, float, float]]:
        out: dict[str, tuple[int, float, float]] = {}
        for f in FILTERS:
            enc, dec = encoder(f), ScreenDecoder()
            t0 = time.perf_counter()
            data = enc.encode(first)
            t1 = time.perf_counter()
            fb = dec.decode(data)
            t2 = time.perf_counter()
            assert np.array_equal(fb[..., :3], first[..., :3])
            out[f] = (len(data), t1 - t0, t2 - t1)
            enc.close()
        return out

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    (db, de, dd), (mb, me, md) = out["delta"], out["med"]
    KEYFRAME_ROWS.append(
        f"window-drag keyframe (1080p): DELTA_UP {db / 1000:,.0f} kB = {db * 8 / LINK:.2f} s at "
        f"4 Mbit/s, MED {mb / 1000:,.0f} kB = {mb * 8 / LINK:.2f} s ({ratio(db, mb)}); encode "
        f"{de * 1e3:.0f} / {me * 1e3:.0f} ms, Python decode {dd * 1e3:.0f} / {md * 1e3:.0f} ms"
    )
    assert mb < db
