"""The page's JavaScript decoder (src/screencodec/web/static/decoder) under
node against Python's ScreenDecoder, on the same messages in the same run.

Workloads: the synthetic desktop's typing, terminal and browser scenarios at
1080p, 60 frames after the keyframe, encoded once by ``ScreenEncoder`` as a
live session does (and terminal again with ``history=True``, the ZSTREAM
path); and, when ``make corpus`` recorded them, the real-screen clips
terminal-log and browser-docs (120 frames, ``history=True``). Each decoder
decodes each stream three times from a fresh state and the last pass counts
(node's JIT is warm by then). Reported per workload: the median and mean
decode time per delta update on each side, node's median as a ratio to
Python's, and the keyframe's decode time in the last pass. Browser
canvas upload (putImageData) is not included.
Target: the page keeps up with 60 fps, i.e. a median under 16.7 ms.
Run with ``make bench`` or ``pytest benchmarks/test_bench_web_decoder.py -s``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _report import CORPUS
from screencodec.capture.replay import Recording, synthetic_sequence
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder

ROOT = Path(__file__).resolve().parent.parent
BENCH_JS = ROOT / "tests" / "web" / "js" / "bench_decode.mjs"
NODE = shutil.which("node")
W, H = 1920, 1080
FRAMES = 60
PASSES = 3
WORKLOADS = {
    "typing": ("typing", False),
    "terminal": ("terminal", False),
    "terminal (history)": ("terminal", True),
    "browser": ("browser", False),
}
CORPUS_CLIPS = ("terminal-log", "browser-docs")
CORPUS_FRAMES = 120

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def encode(scenario: str, history: bool) -> list[bytes]:
    seq = synthetic_sequence(scenario, W, H, fps=30, seconds=(FRAMES + 1) / 30, seed=0)
    enc = ScreenEncoder(W, H, history=history)
    return [enc.encode(np.ascontiguousarray(seq.frame(i))) for i in range(len(seq))]


def encode_clip(clip: str) -> list[bytes]:
    rec = Recording.open(CORPUS / clip)
    frames = [np.array(rec.frame(i)) for i in range(min(len(rec), CORPUS_FRAMES + 1))]
    height, width = frames[0].shape[:2]
    enc = ScreenEncoder(width, height, history=True)
    return [enc.encode(f) for f in frames]


def python_times(messages: list[bytes]) -> list[float]:
    times: list[float] = []
    for _ in range(PASSES):
        dec = ScreenDecoder()
        times = []
        for m in messages:
            t0 = time.perf_counter()
            dec.decode(m)
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def run_all(directory: Path) -> list[dict[str, Any]]:
    streams = {name: encode(scenario, history) for name, (scenario, history) in WORKLOADS.items()}
    for clip in CORPUS_CLIPS:
        if (CORPUS / clip).is_dir():
            streams[f"corpus:{clip}"] = encode_clip(clip)
    for i, name in enumerate(streams):
        with open(directory / f"w{i:02d}.msgs", "wb") as f:
            for m in streams[name]:
                f.write(struct.pack("<I", len(m)) + m)
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(BENCH_JS), str(directory), str(PASSES)],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    node = json.loads(proc.stdout)
    rows = []
    for i, (name, messages) in enumerate(streams.items()):
        py = python_times(messages)[1:]  # delta updates only
        js = node[f"w{i:02d}"][1:]
        rows.append(
            {
                "workload": name,
                "py_key": python_times(messages[:1])[0],
                "js_key": node[f"w{i:02d}"][0],
                "bytes": statistics.fmean(len(m) for m in messages[1:]),
                "py_median": statistics.median(py),
                "py_mean": statistics.fmean(py),
                "js_median": statistics.median(js),
                "js_mean": statistics.fmean(js),
            }
        )
    return rows


def test_web_decoder_against_python(benchmark: Any, tmp_path: Path) -> None:
    rows = benchmark.pedantic(run_all, args=(tmp_path,), rounds=1, iterations=1)
    print()
    print("| workload (1080p) | bytes/update | Python ms median / mean | node ms median / mean "
          "| node / Python (median) | keyframe ms Python / node |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workload']} | {r['bytes']:,.0f} | {r['py_median']:.2f} / {r['py_mean']:.2f} | "
            f"{r['js_median']:.2f} / {r['js_mean']:.2f} | "
            f"{r['js_median'] / max(r['py_median'], 1e-9):.2f}x | "
            f"{r['py_key']:.1f} / {r['js_key']:.1f} |"
        )
    benchmark.extra_info["rows"] = rows
