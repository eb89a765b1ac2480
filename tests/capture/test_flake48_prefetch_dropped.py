"""flake48a: a PacedSource that prefetches and is dropped without close().

Its worker thread held the sequence (its target was a bound method), so
the source was never collected and the worker waited for a job for good,
with two frame-sized buffers: the Host does not close a source its caller
passed in, and three files of tests/transport, which never close theirs,
left nine such workers in one pytest process (two of them failed
review47's check that no prefetch worker is left, in a worker process
that ran test_review42_forged_receipts.py first).

Expected: once nothing refers to the source, it is collected and its worker
ends; a source still referred to keeps its worker and goes on prefetching.
"""

from __future__ import annotations

import gc
import threading
import weakref

from screencodec.capture.replay import PacedSource, synthetic_sequence


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _new_workers(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t.name == "screencodec-prefetch" and t not in before]  # fmt: skip


def test_flake48_a_dropped_prefetching_source_lets_its_worker_go() -> None:
    before = set(threading.enumerate())
    clock = _Clock()
    src = PacedSource(synthetic_sequence("typing", 64, 64, fps=10, seconds=1.0), clock=clock)
    for step in range(4):  # frames 0..3: the worker fetched 1..4 ahead
        clock.t = step / 10
        assert src.grab().shape == (64, 64, 4)
    (worker,) = _new_workers(before)
    gone = weakref.ref(src)
    del src
    gc.collect()
    worker.join(5)
    assert gone() is None, "the source was not collected"
    assert not worker.is_alive(), "the dropped source's prefetch worker runs on"


def test_flake48_a_kept_source_keeps_prefetching_after_a_collection() -> None:
    before = set(threading.enumerate())
    clock = _Clock()
    src = PacedSource(synthetic_sequence("typing", 64, 64, fps=10, seconds=1.0), clock=clock)
    same = synthetic_sequence("typing", 64, 64, fps=10, seconds=1.0)  # the worker's is its own
    try:
        src.grab()
        gc.collect()
        for step in range(1, 10):
            clock.t = step / 10
            assert (src.grab() == same.frame(step)).all()
            assert src.frame_index == step
        (worker,) = _new_workers(before)
        assert worker.is_alive()
    finally:
        src.close()
    assert not worker.is_alive()
