"""pgdn44's fill of the blocks below a page's exact rows (``_blank``): the
Python loop over the blocks it was (one ``np.unique`` of each block's sample,
one slice written each) against the vectorised ``backgrounds`` + ``fill``
(pgfirst45), on a 1080p frame of few colours, for bands of 256x64 blocks
under a page's exact top and for many small blocks. Best of 5 x 20 calls,
wall clock; printed, not asserted (speed lives here, not in tests).
Run: ``pytest benchmarks/test_bench_blank.py -s`` or ``python`` it."""

from __future__ import annotations

import importlib.util
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from screencodec.quality.controller import backgrounds, fill

W, H = 1920, 1080
Frame = npt.NDArray[np.uint8]


def _reference_loop() -> Callable[[Frame, Frame, npt.NDArray[np.int32]], None]:
    """``_blank`` as pgdn44 wrote it: the loop tests/codec/test_pgfirst45_blank.py
    keeps as the reference the vectorised fill must equal (one copy of it)."""
    path = Path(__file__).resolve().parents[1] / "tests/codec/test_pgfirst45_blank.py"
    spec = importlib.util.spec_from_file_location("_pgfirst45_blank", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.loop  # type: ignore[no-any-return]


loop = _reference_loop()


def vectorised(ref: Frame, frame: Frame, blank: npt.NDArray[np.int32]) -> None:
    fill(ref, blank, backgrounds(frame, blank))


def band(n: int) -> npt.NDArray[np.int32]:
    """``n`` blocks of 256x64 in rows of 7 (a 1080p article's width), the
    band below a page's exact top."""
    top = H - 64 * -(-n // 7)
    return np.array(
        [(256 * (i % 7), top + 64 * (i // 7), 256 if i % 7 < 6 else 200, 64) for i in range(n)],
        np.int32,
    )


def small(n: int) -> npt.NDArray[np.int32]:
    """``n`` blocks of 32x16 scattered on a grid (a page's thin pieces)."""
    cells = np.random.default_rng(0).permutation((W // 32) * (H // 16))[:n]
    across = W // 32
    return np.array([(32 * (c % across), 16 * (c // across), 32, 16) for c in cells], np.int32)


def run() -> list[str]:
    frame = (np.random.default_rng(1).integers(0, 4, (H, W, 4)) * 60).astype(np.uint8)
    lines = []
    for name, blank in [("band of 4", band(4)), ("band of 24", band(24)), ("band of 60", band(60)),
                        ("200 small", small(200)), ("1000 small", small(1000))]:  # fmt: skip
        px = int((blank[:, 2].astype(np.int64) * blank[:, 3]).sum())
        times = {}
        for f in (loop, vectorised):
            ref = np.zeros_like(frame)
            call = lambda f=f, ref=ref, b=blank: f(ref, frame, b)  # noqa: E731
            best = min(timeit.repeat(call, number=20, repeat=5))
            times[f.__name__] = best / 20 * 1e3
        lines.append(f"{name:11s} {px:8,d} px: loop {times['loop']:6.2f} ms, "
                     f"vectorised {times['vectorised']:6.2f} ms")  # fmt: skip
    return lines


def test_bench_blank() -> None:
    for line in run():
        print(line)


if __name__ == "__main__":
    test_bench_blank()
