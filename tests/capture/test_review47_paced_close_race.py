"""review47: lead47's lock in ``Recording`` (held by a read and by close())
under a :class:`PacedSource` that prefetches (its worker thread reads the
recording while the caller grabs), the way a replayed host runs: a capture
thread grabs, the session's owner closes the clip, then the source.

Expected, in every trial: the grabbing thread gets frames, then only
CaptureError (a frame the worker fetched before the close may still be
returned); the recording's close and the source's close return (no
deadlock, no close waiting on a read that never ends), and no prefetch
worker is left running. The committed real-screen clip (vim under Xvfb),
real threads, the switch interval at 1 us so a close lands anywhere.
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from pathlib import Path

from screencodec.capture.recording import Recording
from screencodec.capture.replay import PacedSource
from screencodec.errors import CaptureError

DATA = Path(__file__).resolve().parent.parent / "data" / "recording"


def _grab_until_closed(paced: PacedSource, started: threading.Event,
                       seen: list[BaseException]) -> None:  # fmt: skip
    try:
        while True:
            paced.grab()
            started.set()
    except BaseException as exc:  # judged by the test
        seen.append(exc)
        started.set()


def _trial(close_source_first: bool, workers: list[threading.Thread]) -> list[str]:
    rec = Recording.open(DATA / "vim-typing")
    span = float(rec.times[-1] - rec.times[0])
    ticks = itertools.count()
    # Each grab's clock is a few frames on (a replay skipping frames), wrapping.
    step = 3 * span / max(1, len(rec) - 1)
    paced = PacedSource(rec, clock=lambda: next(ticks) * step, loop=True)
    started, seen = threading.Event(), []
    grabber = threading.Thread(
        target=_grab_until_closed, args=(paced, started, seen), daemon=True
    )
    grabber.start()
    started.wait(10)
    time.sleep(random.random() * 0.005)
    order = (paced.close, rec.close) if close_source_first else (rec.close, paced.close)
    closing = threading.Thread(target=lambda: [close() for close in order], daemon=True)
    closing.start()
    closing.join(5)
    grabber.join(5)
    fetcher = paced._fetcher
    if fetcher is not None and fetcher._shared.thread is not None:
        workers.append(fetcher._shared.thread)
    wrong = [f"{type(e).__name__}: {e}" for e in seen if not isinstance(e, CaptureError)]
    if closing.is_alive() or grabber.is_alive():
        wrong.append(f"hung: close {closing.is_alive()}, grab {grabber.is_alive()}")
    return wrong


def test_review47_a_prefetching_paced_recording_closed_mid_grab_ends_cleanly() -> None:
    # Only this test's workers count: a file run before this one in the same
    # process (make test: --dist loadfile) may have left its own, as an
    # unclosed PacedSource's worker waits for good (flake48a: run after
    # tests/transport/test_review42_forged_receipts.py, which leaves two,
    # this failed every time).
    before = set(threading.enumerate())
    ours: list[threading.Thread] = []
    wrong: list[str] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for i in range(30):
            wrong += _trial(bool(i % 2), ours)
    finally:
        sys.setswitchinterval(switch)
    assert not wrong, wrong[:3]
    assert ours, "no trial started a prefetch worker"
    assert not [t for t in ours if t.is_alive()]
    workers = [t for t in threading.enumerate() if t.name == "screencodec-prefetch"]
    assert not [t for t in workers if t.is_alive() and t not in before]
