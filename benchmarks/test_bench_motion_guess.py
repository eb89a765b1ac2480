"""Motion: windows dragged together, and what a dragged window's guessed step
costs when it holds and when it fails (1080p, one encoder thread).

``test_clip``: every delta update of a workload encoded as a host does
(``encode(frame, keep=True)``, ``history=True``), each decoded and checked
bit-exact; reported: bytes of the whole clip (delta updates), the encode's
median and p90 CPU time, and ``memcmp`` of two equal frames timed in the same
loop (the floor: the ratio is the figure to compare across runs and
machines), COPY ops, 2-D searches, guessed regions and the guess's kernel
calls (``MotionStats.guess_calls``, 0 where the stage has no such count).
Workloads: the real-screen corpus's window-drag, terminal-log,
browser-scroll and vim-typing (skipped without ``corpus/``), the synthetic
desktop's drag, and ``two-windows``: two terminals side by side, one band of
rows, dragged together by one step over a photo-like wallpaper (with a turn
and a speed change, as a hand drags).

``test_failed_guess``: the screening of a dragged window's 11 guessed steps
on a frame where the drag turned (every guess fails), 900 x 620 px as the
corpus drag: 11 ``match_runs`` calls on every 16th row (how it was screened
before) against one ``screen_shifts`` pass over the same rows, 200 rounds
each, in the same run; and the same on a frame where the step held. (A
terminal's blank margins and title bar match wrong steps too: the failed
guesses are not free, and the one pass sums every run a row has.)
``test_guess_screening_on_recorded_guesses``: every region the stage
guessed a step for on window-drag and two-windows, screened both ways in
alternation (best of 5 CPU times each), totals per clip.

Run with ``pytest benchmarks/test_bench_motion_guess.py -s``; the same file
run against another checkout (``PYTHONPATH=.../src``) gives its figures.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from _report import CORPUS, write_lines
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.damage import memcmp_equal
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.motion import _rowhash

Frame = npt.NDArray[np.uint8]
W, H = 1920, 1080
CLIPS = ["window-drag", "terminal-log", "browser-scroll", "vim-typing"]
ROWS: list[str] = []


def _photo(rng: np.random.Generator, h: int, w: int) -> Frame:
    yy, xx = np.mgrid[0:h, 0:w]
    f = np.empty((h, w, 4), np.uint8)
    grain = rng.normal(0, 5, (3, h, w))
    f[..., 0] = (128 + 60 * np.sin(xx / 37) + 40 * np.cos(yy / 23) + grain[0]).clip(0, 255)
    f[..., 1] = (100 + 80 * np.sin((xx + yy) / 60) + grain[1]).clip(0, 255)
    f[..., 2] = (90 + 70 * np.cos(xx / 81 - yy / 29) + grain[2]).clip(0, 255)
    f[..., 3] = 255
    return f


def _terminal(rng: np.random.Generator, h: int, w: int) -> Frame:
    """Light 'words' on a dark terminal, lines of 14 px, a title bar."""
    f = np.zeros((h, w, 4), np.uint8)
    f[..., :3] = 24
    f[..., 3] = 255
    for top in range(20, h - 14, 14):
        x = int(rng.integers(4, 16))
        while x < w - 10 and rng.random() < 0.97:
            n = min(int(rng.integers(3, 40)), w - x)
            glyphs = rng.random((10, n)) < 0.4
            f[top + 2 : top + 12, x : x + n, :3][glyphs] = rng.integers(120, 256, 3)
            x += n + int(rng.integers(6, 14))
    f[:18, :, :3] = 70
    return f


def _two_windows() -> Iterator[Frame]:
    """Two terminals side by side (40 px apart, the second 30 px lower),
    dragged together: a keyframe, 24 px right and 12 down for 20 updates,
    twice that for 5, then left and up (a turn) for 30, still for 5."""
    rng = np.random.default_rng(0)
    wall = _photo(rng, H, W)
    a, b = _terminal(rng, 560, 560), _terminal(rng, 500, 500)
    steps = [(0, 0)] + [(24, 12)] * 20 + [(48, 24)] * 5 + [(-24, -8)] * 30 + [(0, 0)] * 5
    x, y = 40, 40
    for dx, dy in steps:
        x, y = x + dx, y + dy
        f = wall.copy()
        f[y : y + 560, x : x + 560] = a
        f[y + 30 : y + 530, x + 600 : x + 1100] = b
        yield f


def _frames(workload: str) -> list[Frame]:
    if workload == "two-windows":
        return list(_two_windows())
    if workload == "drag":
        desk = SyntheticDesktop(W, H, scenario="drag", seed=0)
        return [desk.frame_at(i).copy() for i in range(91)]
    from screencodec.capture.replay import Recording

    path = CORPUS / workload
    if not (path / "manifest.json").exists():
        pytest.skip(f"no real-screen corpus in {CORPUS} (make corpus)")
    with Recording.open(path) as rec:
        return [np.array(rec.frame(i)) for i in range(len(rec))]


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if ROWS:
        write_lines(request, ROWS)


def _measure(
    benchmark: Any, run: Callable[[], dict[str, float]], row: Callable[[dict[str, float]], str]
) -> None:
    """One round of ``run``; its figures kept with the benchmark and as a table row."""
    r = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(r)
    ROWS.append(row(r))


@pytest.mark.parametrize("workload", [*CLIPS, "drag", "two-windows"])
def test_clip(workload: str, benchmark: Any) -> None:
    frames = _frames(workload)

    def run() -> dict[str, float]:
        enc = ScreenEncoder(W, H, threads=1, history=True)
        dec = ScreenDecoder()
        other = np.zeros((H, W, 4), np.uint8)
        cpu, floor = [], []
        total = copies = searches = guessed = calls = 0
        for i, f in enumerate(frames):
            spare = enc.take_spare()
            buf = spare if spare is not None else np.zeros_like(other)
            buf[...] = f
            c0 = time.thread_time()
            data = enc.encode(buf, keep=True)
            c1 = time.thread_time()
            other[...] = f
            t2 = time.perf_counter()
            memcmp_equal(f, other)
            t3 = time.perf_counter()
            assert np.array_equal(dec.decode(data)[..., :3], f[..., :3]), (workload, i)
            if not i:
                continue
            cpu.append(c1 - c0)
            floor.append(t3 - t2)
            total += len(data)
            m = enc.motion_stage.last if enc.motion_stage is not None else None
            if m is not None:
                copies += m.copies
                searches += m.searches
                guessed += m.guessed
                calls += getattr(m, "guess_calls", 0)
        return {
            "bytes": total, "p50_ms": statistics.median(cpu) * 1e3,
            "p90_ms": float(np.percentile(cpu, 90)) * 1e3,
            "memcmp_ms": statistics.median(floor) * 1e3, "copies": copies,
            "searches": searches, "guessed": guessed, "guess_calls": calls,
            "updates": len(cpu),
        }  # fmt: skip

    _measure(
        benchmark, run,
        lambda r: f"| {workload} | {r['bytes']:,.0f} | {r['p50_ms']:.2f} / {r['p90_ms']:.2f} | "
        f"{r['memcmp_ms']:.2f} | {r['p50_ms'] / r['memcmp_ms']:.2f}x | {r['copies']:.0f} | "
        f"{r['searches']:.0f} | {r['guessed']:.0f} | {r['guess_calls']:.0f} | "
        f"{r['updates']:.0f} |",
    )  # fmt: skip


# -- the guess's screening, failed and held ---------------------------------------

SCREEN_STEP = 16


def _guesses(dx: int, dy: int) -> list[tuple[int, int]]:
    out = [(dx, dy)] + [(dx + ex, dy + ey) for ey in (-1, 0, 1) for ex in (-1, 0, 1) if ex or ey]
    return [*out, (2 * dx, 2 * dy), (dx // 2, dy // 2)]


def _turn() -> tuple[Frame, Frame, Frame, tuple[int, int, int, int]]:
    """A 900 x 620 terminal at (500, 200) in ``ref``; in ``held`` moved by the
    last step (24, 16), in ``turned`` by (-16, 24); the region's box."""
    rng = np.random.default_rng(1)
    wall = _photo(rng, H, W)
    win = _terminal(rng, 620, 900)

    def at(x: int, y: int) -> Frame:
        f = wall.copy()
        f[y : y + 620, x : x + 900] = win
        return f

    box = (484, 200, 940, 660)
    return at(500, 200), at(524, 216), at(484, 224), box


def _eleven_calls(ref: Frame, cur: Frame, box: tuple[int, int, int, int]) -> int:
    """The screening as it was: one masked match_runs call per guess."""
    sampled = np.zeros(box[3], np.bool_)
    sampled[SCREEN_STEP // 2 :: SCREEN_STEP] = True
    best = 0
    for dx, dy in _guesses(24, 16):
        s, e = _rowhash.match_runs(ref, cur, box, dx, dy, min_run=32, row_mask=sampled)
        best = max(best, int((e[sampled] - s[sampled]).sum()))
    return best


def _one_pass(ref: Frame, cur: Frame, box: tuple[int, int, int, int]) -> int:
    screen = getattr(_rowhash, "screen_shifts", None)
    if screen is None:
        pytest.skip("no screen_shifts in this checkout")
    return int(screen(ref, cur, box, _guesses(24, 16), row_step=SCREEN_STEP, min_run=32).max())


@pytest.mark.parametrize("frame", ["turned", "held"])
@pytest.mark.parametrize("impl", ["eleven calls", "one pass"])
def test_failed_guess(impl: str, frame: str, benchmark: Any) -> None:
    ref, held, turned, box = _turn()
    cur = turned if frame == "turned" else held
    fn = _eleven_calls if impl == "eleven calls" else _one_pass
    best = benchmark.pedantic(fn, args=(ref, cur, box), rounds=200, iterations=1, warmup_rounds=5)
    if frame == "held":
        assert best >= 900 * 30
    stats = benchmark.stats.stats
    ROWS.append(
        f"| screening 11 guesses, {frame} | {impl} | min {stats.min * 1e6:.1f} us | "
        f"median {stats.median * 1e6:.1f} us |"
    )


Guess = tuple[Frame, Frame, tuple[int, int, int, int], tuple[int, int]]


def _guess_calls(frames: list[Frame]) -> list[Guess]:
    """Every (reference, frame, box, step) the stage guessed a drag step for
    while encoding ``frames``."""
    enc = ScreenEncoder(W, H, threads=1, history=True)
    stage = enc.motion_stage
    assert stage is not None
    seen: list[Guess] = []
    guess = stage._guess_move

    def keeping(ref: Frame, frame: Frame, box: Any, step: Any, known: Any) -> Any:
        seen.append((ref.copy(), frame.copy(), (box.x, box.y, box.w, box.h), step))
        return guess(ref, frame, box, step, known)

    stage._guess_move = keeping  # type: ignore[method-assign]
    for f in frames:
        enc.encode(f.copy())
    return seen


@pytest.mark.parametrize("workload", ["window-drag", "two-windows"])
def test_guess_screening_on_recorded_guesses(workload: str, benchmark: Any) -> None:
    """Every guess the stage made on the workload, screened both ways in
    alternation (best of 5 each), in the same run: total and the failed
    guesses' share (no guess matched a copy's worth more than the typical)."""
    if getattr(_rowhash, "screen_shifts", None) is None:
        pytest.skip("no screen_shifts in this checkout")
    calls = _guess_calls(_frames(workload))

    def run() -> dict[str, float]:
        old = new = old_failed = new_failed = 0.0
        failed = 0
        for ref, cur, box, (dx, dy) in calls:
            gs = _guesses(dx, dy)
            sampled = np.zeros(box[3], np.bool_)
            sampled[SCREEN_STEP // 2 :: SCREEN_STEP] = True
            best_old = best_new = float("inf")
            for _ in range(5):
                t0 = time.thread_time()
                for gx, gy in gs:
                    _rowhash.match_runs(ref, cur, box, gx, gy, min_run=32, row_mask=sampled)
                t1 = time.thread_time()
                m = _rowhash.screen_shifts(ref, cur, box, gs, row_step=SCREEN_STEP, min_run=32)
                t2 = time.thread_time()
                best_old, best_new = min(best_old, t1 - t0), min(best_new, t2 - t1)
            old += best_old
            new += best_new
            typical = int(np.sort(m)[(len(m) - 1) // 2])
            if (int(m.max()) - typical) * SCREEN_STEP < 2048:
                failed += 1
                old_failed += best_old
                new_failed += best_new
        return {"guesses": len(calls), "failed": failed, "old_ms": old * 1e3,
                "new_ms": new * 1e3, "old_failed_ms": old_failed * 1e3,
                "new_failed_ms": new_failed * 1e3}  # fmt: skip

    _measure(
        benchmark, run,
        lambda r: f"| {workload}: screening of its {r['guesses']:.0f} guessed regions "
        f"({r['failed']:.0f} failed) | 11 calls {r['old_ms']:.2f} ms | one pass "
        f"{r['new_ms']:.2f} ms | {r['new_ms'] / max(r['old_ms'], 1e-9):.2f}x | failed only: "
        f"{r['old_failed_ms']:.2f} -> {r['new_failed_ms']:.2f} ms |",
    )  # fmt: skip
