"""photo46: ``split_pictures`` on a keyframe's blocks with the photo row
measure in C (quality/_photorows.pyx), with its NumPy reference (the same
code, the kernel off) and as it was before strips46 added the measure
(classify.py at 37979332, read with ``git show``), all in the same run.

Workloads: the first frame of the real-screen clips window-drag (an xterm
over a photo wallpaper), browser-scroll (an article with photos) and
browser-docs (text), and browser-scroll's frame 172 (a dark photo's edge),
from ``corpus/``; each cut into the encoder's blocks whole (136 at 1080p).
Each variant is called in turn, ``CALLS`` times each; reported per workload:
the median and the least thread CPU time a call (CPU, not wall: the machine
is shared), and the ratios of the medians, C to NumPy and C to before
strips46. The parts and kinds of the C and NumPy variants are checked equal.

Run with ``pytest benchmarks/test_bench_photo_rows.py --benchmark-only``.
"""

from __future__ import annotations

import subprocess
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _report import CORPUS, write_lines
from screencodec.capture.recording import Recording
from screencodec.quality import classify
from screencodec.quality.plan import cut_blocks

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "37979332"  # main before strips46
CALLS = 200
WORKLOADS = [
    ("window-drag", 0), ("browser-scroll", 0), ("browser-scroll", 172), ("browser-docs", 0),
]  # fmt: skip
ROWS: list[str] = []


@pytest.fixture(scope="module")
def before() -> types.ModuleType:
    """classify.py as it was before strips46, as a module of its own."""
    try:
        src = subprocess.run(
            ["git", "show", f"{BEFORE}:src/screencodec/quality/classify.py"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no git history to read classify.py at {BEFORE} from: {exc}")
    mod = types.ModuleType("classify_before_strips46")
    exec(compile(src, f"classify.py@{BEFORE}", "exec"), mod.__dict__)
    return mod


@pytest.fixture(scope="module", autouse=True)
def table(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    head = [
        f"split_pictures a call, thread CPU ms, median (least) of {CALLS}:",
        "| frame | blocks | C | NumPy | before strips46 | C / NumPy | C / before |",
        "|---|---|---|---|---|---|---|",
    ]
    write_lines(request, head + ROWS)


def _numpy(frame: Any, blocks: Any, owner: Any) -> Any:
    """split_pictures with the kernel off: classify takes the reference for
    a frame it cannot read, and is told it cannot read this one."""
    packed = classify._packed
    classify._packed = lambda f: False  # type: ignore[assignment]
    try:
        return classify.split_pictures(frame, blocks, owner)
    finally:
        classify._packed = packed  # type: ignore[assignment]


@pytest.mark.parametrize(("clip", "index"), WORKLOADS)
def test_split_pictures_on_a_keyframe(
    clip: str, index: int, before: types.ModuleType, benchmark: Any
) -> None:
    path = CORPUS / clip
    if not (path / "frames.bin").exists():
        pytest.skip(f"corpus clip {clip} not present (make corpus)")
    with Recording.open(path) as rec:
        frame = np.array(rec.frame(index))
    h, w = frame.shape[:2]
    blocks, owner = cut_blocks(np.array([[0, 0, w, h]], np.int32))
    got, want = classify.split_pictures(frame, blocks, owner), _numpy(frame, blocks, owner)
    for a, b in zip(got, want, strict=True):
        assert a.tolist() == b.tolist()
    variants: dict[str, Callable[[], Any]] = {
        "C": lambda: classify.split_pictures(frame, blocks, owner),
        "NumPy": lambda: _numpy(frame, blocks, owner),
        "before": lambda: before.split_pictures(frame, blocks, owner),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}

    def run() -> None:
        for _ in range(CALLS):
            for name, fn in variants.items():
                t0 = time.thread_time()
                fn()
                times[name].append(time.thread_time() - t0)

    benchmark.pedantic(run, rounds=1, iterations=1)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    least = {k: min(v) * 1e3 for k, v in times.items()}
    info = {
        "blocks": len(blocks),
        **{f"{k}_median_ms": round(v, 3) for k, v in med.items()},
        **{f"{k}_least_ms": round(v, 3) for k, v in least.items()},
        "c_to_numpy": round(med["C"] / med["NumPy"], 3),
        "c_to_before": round(med["C"] / med["before"], 3),
    }
    benchmark.extra_info.update(info)
    cells = " | ".join(f"{med[k]:.2f} ({least[k]:.2f})" for k in variants)
    ROWS.append(
        f"| {clip} {index} | {len(blocks)} | {cells} | {info['c_to_numpy']:.2f} "
        f"| {info['c_to_before']:.2f} |"
    )
