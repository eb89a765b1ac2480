"""Review of the session probe's sample buffers (faulted in by a thread) and
of ``bgr_equal`` in C.

The probe copies a sampled framebuffer into a buffer a thread of its own
allocated and touched. Here: a frame size that changes while a buffer is on
its way, decodes from two threads in turn (the viewer decodes large updates
in a worker thread) racing the buffer's thread, ``max_samples`` reached or
zero, and a buffer thread that fails. Threads are held (run when the test
says) except in the race test, which waits on the threads themselves.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from screencodec.linkbench import session as session_module
from screencodec.linkbench.metrics import bgr_equal
from screencodec.linkbench.session import _Probe


def _frame(value: int, h: int = 4, w: int = 6) -> np.ndarray:
    f = np.full((h, w, 4), value, np.uint8)
    f[..., 3] = 255
    return f


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def _probe(loop: asyncio.AbstractEventLoop, max_samples: int) -> _Probe:
    # sample_period 0: every decode after the first is due for a sample.
    return _Probe(None, _frame(255), 10**9, loop=loop, sample_period=0.0,  # type: ignore[arg-type]
                  max_samples=max_samples)  # fmt: skip


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Threads the probe starts, not running until the test runs them."""
    started: list[threading.Thread] = []

    class HeldThread(threading.Thread):
        def start(self) -> None:
            started.append(self)

    # (the session module's threading is this module: patched for the test)
    monkeypatch.setattr(threading, "Thread", HeldThread)
    return started


def test_a_size_change_while_a_buffer_is_on_its_way(
    loop: asyncio.AbstractEventLoop, held: list[threading.Thread]
) -> None:
    """The screen changes size while the buffer for the old size is being
    faulted in: that buffer is dropped when it arrives, one for the new size
    is prepared, and the next decode is sampled at the new size."""
    probe = _probe(loop, 4)
    probe.on_decoded(0, 0.0, _frame(1))
    assert len(held) == 1  # the buffer for 4x6, not run yet
    probe.on_decoded(1, 0.0, _frame(2, 8, 10))
    assert probe.samples == {} and len(held) == 1  # one buffer at a time
    held.pop().run()
    probe.on_decoded(2, 0.0, _frame(3, 8, 10))  # gets the 4x6 buffer: dropped
    assert probe.samples == {} and len(held) == 1
    held.pop().run()
    probe.on_decoded(3, 0.0, _frame(4, 8, 10))
    assert list(probe.samples) == [3] and bgr_equal(probe.samples[3], _frame(4, 8, 10))


def test_max_samples_reached_leaves_no_buffer_and_no_thread(
    loop: asyncio.AbstractEventLoop, held: list[threading.Thread]
) -> None:
    probe = _probe(loop, 2)
    for pos in range(6):
        probe.on_decoded(pos, 0.0, _frame(pos))
        while held:
            held.pop().run()
    assert sorted(probe.samples) == [1, 2]
    assert probe._spare is None and not probe._preparing


def test_no_samples_wanted_no_buffer_prepared(
    loop: asyncio.AbstractEventLoop, held: list[threading.Thread]
) -> None:
    probe = _probe(loop, 0)
    probe.on_decoded(0, 0.0, _frame(1))
    probe.on_decoded(1, 0.0, _frame(2))
    assert held == [] and probe.samples == {}


class _NumpyFailingEmpty:
    """numpy for the session module, except that the next ``np.empty``
    raises MemoryError (a buffer thread that cannot allocate)."""

    def __init__(self) -> None:
        self.fail = True

    def empty(self, *args: Any, **kw: Any) -> Any:
        if self.fail:
            self.fail = False
            raise MemoryError("test: no room for the sample buffer")
        return np.empty(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def test_a_failed_buffer_thread_does_not_stop_sampling(
    loop: asyncio.AbstractEventLoop,
    held: list[threading.Thread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "np", _NumpyFailingEmpty())
    probe = _probe(loop, 4)
    probe.on_decoded(0, 0.0, _frame(1))
    with pytest.raises(MemoryError):
        held.pop().run()  # the thread dies (its excepthook prints this)
    for pos in range(1, 5):  # later decodes: a buffer is prepared again
        probe.on_decoded(pos, 0.0, _frame(pos))
        while held:
            held.pop().run()
    assert probe.samples, "no sample after one failed allocation"


def test_decodes_from_two_threads_race_the_buffer_thread(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decodes one at a time, alternately from two threads (the event loop,
    a worker), while buffer threads finish whenever they do: at most one
    buffer thread at a time, every sample a buffer of its own holding the
    framebuffer of its position, max_samples reached, no buffer left over
    and no thread left running."""
    lock = threading.Lock()
    alive, most = [0], [0]
    buffer_threads: list[threading.Thread] = []

    class CountedThread(threading.Thread):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            buffer_threads.append(self)

        def run(self) -> None:
            with lock:
                alive[0] += 1
                most[0] = max(most[0], alive[0])
            try:
                super().run()
            finally:
                with lock:
                    alive[0] -= 1

    plain_thread = threading.Thread
    monkeypatch.setattr(threading, "Thread", CountedThread)
    probe = _probe(loop, 24)
    turn = [threading.Event(), threading.Event()]
    pos = [0]

    def fb(p: int) -> np.ndarray:
        return _frame(p % 251, 16, 24)

    def decoder(me: int) -> None:
        while True:
            assert turn[me].wait(30)
            turn[me].clear()
            if pos[0] < 100_000 and len(probe.samples) < 24:
                probe.on_decoded(pos[0], 0.0, fb(pos[0]))
                pos[0] += 1
                turn[1 - me].set()
            else:
                turn[1 - me].set()  # the other one stops too
                return

    workers = [plain_thread(target=decoder, args=(i,)) for i in (0, 1)]
    for t in workers:
        t.start()
    turn[0].set()
    for t in workers:
        t.join(60)
    for t in buffer_threads:
        t.join(10)
    assert len(probe.samples) == 24, f"{len(probe.samples)} samples in {pos[0]} decodes"
    assert most[0] == 1
    assert len({id(s) for s in probe.samples.values()}) == 24
    for p, s in probe.samples.items():
        assert np.array_equal(s, fb(p))
    assert probe._spare is None and not probe._preparing
    assert not any(t.is_alive() for t in buffer_threads)
    assert len(buffer_threads) == 24  # one per sample (the first picture's included)
    assert pos[0] >= 25


def test_bgr_equal_compares_views_that_are_not_packed_rows() -> None:
    """Frames as any (H, W, 4) uint8 arrays: a mirrored view, a column-strided
    crop, Fortran order. The C pass needs packed pixels in rows; these must
    still compare (B, G, R, padding ignored), not raise."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (6, 10, 4), dtype=np.uint8)
    b = a.copy()
    b[..., 3] = 7
    c = b.copy()
    c[2, 4, 1] ^= 1
    for view in (lambda f: f[:, ::-1], lambda f: f[::-1], lambda f: f[:, ::2], np.asfortranarray):
        va, vb, vc = view(a), view(b), view(c)
        assert bgr_equal(np.ascontiguousarray(va), vb)
        assert bgr_equal(vb, np.ascontiguousarray(va))
        assert not bgr_equal(np.ascontiguousarray(va), vc)
