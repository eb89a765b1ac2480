"""Frames played at their own timing: real-screen recordings and synthetic scenarios.

A :class:`FrameSequence` is frames at known times. :class:`PacedSource` turns
one into a :class:`FrameSource` that, at each ``grab()``, shows the newest frame
whose time has come by a clock. A host that polls it therefore meets a real
application's timing (a burst of typing, a 25 fps video seen at 20 fps, long
idle stretches) rather than one new frame per grab, which is what session and
latency benchmarks need. Sequences: :class:`Recording` (a clip of the
real-screen corpus, see ``docs/corpus.md``) and :func:`synthetic_sequence`.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from screencodec.frames import Frame

from ..errors import CaptureError, FrameError
from ..geometry import Monitor
from .base import FrameSource
from .recording import Recording
from .synthetic import SyntheticDesktop

__all__ = [
    "FrameSequence",
    "PacedSource",
    "PrefetchedSequence",
    "Recording",
    "SyntheticSequence",
    "synthetic_sequence",
]



@runtime_checkable
class FrameSequence(Protocol):
    """Frames at known times: ``frame(i)`` is an (H, W, 4) uint8 BGRX array shown
    from ``times[i]`` seconds after frame 0 (``times`` is non-decreasing). The
    array may be overwritten by the next ``frame`` call."""

    width: int
    height: int
    times: Sequence[float]

    def __len__(self) -> int: ...

    def frame(self, index: int, /) -> Frame: ...


class SyntheticSequence:
    """A :class:`SyntheticDesktop` scenario as a :class:`FrameSequence`: frame ``i``
    is ``desktop.frame_at(i)`` at time ``i / fps``. Returns the desktop's own
    buffer (overwritten by the next call). Not thread-safe."""

    def __init__(self, desktop: SyntheticDesktop, count: int, /) -> None:
        if count < 1:
            raise FrameError(f"a sequence needs at least one frame, not {count}")
        self.desktop = desktop
        self.name = desktop.scenario_name
        self.fps = desktop.fps
        self.width, self.height = desktop.width, desktop.height
        self.times: list[float] = [desktop.time(i) for i in range(count)]

    def __len__(self) -> int:
        return len(self.times)

    def frame(self, index: int, /) -> Frame:
        if not 0 <= index < len(self.times):
            raise FrameError(f"{self.name}: frame {index} outside 0..{len(self.times) - 1}")
        return self.desktop.frame_at(index)


def synthetic_sequence(
    scenario: str,
    width: int = 1920,
    height: int = 1080,
    *,
    fps: float = 30,
    seconds: float = 8.0,
    seed: int = 0,
    incremental: bool = False,
) -> SyntheticSequence:
    """``seconds * fps`` frames (at least one) of a synthetic-desktop scenario.

    ``incremental=True`` makes sequential access cheaper (see SyntheticDesktop);
    the caller must then never write into a returned frame.
    """
    if not (math.isfinite(seconds) and seconds > 0):
        raise FrameError(f"seconds must be positive, not {seconds!r}")
    desk = SyntheticDesktop(
        width, height, scenario=scenario, seed=seed, fps=fps, incremental=incremental
    )
    return SyntheticSequence(desk, max(1, round(seconds * fps)))


class _Prefetch:
    """What a :class:`PrefetchedSequence` shares with its worker thread: the
    wrapped sequence, the two buffers, the worker's job and result, under one
    condition variable. The worker holds this, never the sequence: one
    dropped unclosed is collected, and its finaliser (:meth:`shut`) ends the
    worker (flake48a: the Host does not close a source its caller passed
    in, and each such source's worker waited for a job for good, with two
    frame-sized buffers; three files of tests/transport left nine in one
    process)."""

    def __init__(self, frames: FrameSequence, bufs: list[Frame]) -> None:
        self.frames = frames
        self.bufs = bufs
        self.cond = threading.Condition()
        self.job: tuple[int, int] | None = None  # (frame, buffer) the worker is to fetch
        self.busy = False
        self.ready: tuple[int, int, BaseException | None] | None = None  # frame, buffer, error
        self.closed = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:  # with self.cond held
        if self.thread is None:
            self.thread = threading.Thread(
                target=self.work, name="screencodec-prefetch", daemon=True
            )
            self.thread.start()

    def work(self) -> None:
        while True:
            with self.cond:
                while self.job is None and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                job, self.job, self.busy = self.job, None, True
            assert job is not None
            index, buf = job
            error: BaseException | None = None
            try:
                np.copyto(self.bufs[buf], self.frames.frame(index))
            except BaseException as exc:  # handed to the caller who asks for this frame
                error = exc
            with self.cond:
                self.ready, self.busy = (index, buf, error), False
                self.cond.notify_all()

    def shut(self) -> threading.Thread | None:
        """No job from now on; the worker quits (after a fetch under way).
        Returns the worker, if one started: none can start from now on. Not
        a join: as a finaliser this runs on whichever thread collected the
        sequence, the worker's own included."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()
            return self.thread


class PrefetchedSequence:
    """A :class:`FrameSequence` that decodes frame ``i + 1`` in a worker thread
    while the caller works on frame ``i``, so that a replay's decoding (14 ms
    for a 1080p frame of the ``video`` clip) stays off the caller's path.

    ``frame(i)`` returns one of two buffers of its own (writable copies): the
    one it returned before is reused for the next prefetch, so a frame is
    valid until the next call (as the FrameSource contract says). A frame that
    was not prefetched is fetched in the calling thread. After the last frame
    it prefetches frame 0 when ``wrap`` is True. An error of the wrapped
    sequence is raised by the ``frame`` call that asks for that frame.

    State: the two buffers, the worker's job and result, under one condition
    variable (:class:`_Prefetch`, shared with the worker). ``frame`` must be
    called from one thread at a time; the wrapped sequence is only used by
    one thread at a time. :meth:`close` stops the worker (not the wrapped
    sequence); so does dropping the sequence unclosed, once it is collected.
    """

    def __init__(self, frames: FrameSequence, /, *, wrap: bool = False) -> None:
        self.frames = frames
        self.wrap = wrap
        self.width, self.height = frames.width, frames.height
        self.times = frames.times
        bufs = [np.empty((frames.height, frames.width, 4), np.uint8) for _ in range(2)]
        self._shared = _Prefetch(frames, bufs)
        self._current = -1  # index in the buffers of the one the caller holds
        weakref.finalize(self, self._shared.shut)

    def __len__(self) -> int:
        return len(self.frames)

    def __getattr__(self, name: str) -> object:  # name, fps, ... of the wrapped sequence
        if name == "frames":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.frames, name)

    def frame(self, index: int, /) -> Frame:
        shared = self._shared
        if shared.closed:
            raise CaptureError("the prefetching sequence is closed")
        with shared.cond:
            # Closed meanwhile (from another thread): the worker quits with
            # its job left, and this waited forever (review47: a grab
            # racing PacedSource.close, hung in 1 of 20 trials).
            while (shared.busy or shared.job is not None) and not shared.closed:
                shared.cond.wait()
            if shared.closed:
                raise CaptureError("the prefetching sequence is closed")
            ready, shared.ready = shared.ready, None
        if ready is not None and ready[0] == index:
            _, buf, error = ready
            if error is not None:
                raise error
        else:  # not prefetched: the worker is idle, fetch here
            buf = 1 - self._current if self._current >= 0 else 0
            np.copyto(shared.bufs[buf], self.frames.frame(index))
        self._current = buf
        after = index + 1
        if after >= len(self.frames):
            after = 0 if self.wrap and len(self.frames) > 1 else -1
        if after >= 0:
            with shared.cond:
                # Started under the lock, never once closed: a close racing
                # this call (from another thread) found no worker yet, or
                # joined it and dropped it, and a worker started after it
                # ran on unjoined (CI, stop 47: two left alive).
                if not shared.closed:
                    shared.start()
                    shared.job = (after, 1 - buf)
                    shared.cond.notify_all()
        return shared.bufs[buf]

    def close(self) -> None:
        """Stop the worker thread (waits for a fetch in progress); a
        ``frame`` call waiting for the worker raises CaptureError. Idempotent."""
        worker = self._shared.shut()
        if worker is not None and worker is not threading.current_thread():
            worker.join()


class PacedSource(FrameSource):
    """Plays a :class:`FrameSequence` at its own timing by ``clock``.

    The first ``grab()`` starts the clock (:attr:`started_at`) and returns frame 0;
    each later grab returns the newest frame ``i`` with ``times[i] - times[0] <=
    clock() - started_at`` (frames due in between are skipped, as a real screen
    would show only the latest). After the last frame it keeps returning the
    last one, or with ``loop=True`` starts over: a pass lasts the sequence's span
    plus one mean frame interval, and :attr:`cycle` counts completed passes.

    A grab with nothing new due costs one clock read and one comparison and
    returns the same array as before. With ``prefetch=True`` (the default) the
    next frame is fetched ahead in a worker thread (:class:`PrefetchedSequence`),
    so a grab that finds a new frame due only swaps a buffer; without it, that
    grab fetches the frame itself and returns the sequence's own array (for a
    :class:`Recording`, a read-only view of its decoder's framebuffer). Either
    way the array is reused later. :meth:`close` stops the worker but does not
    close the sequence: whoever opened it closes it.

    State: :attr:`frame_index`, :attr:`started_at`, :attr:`cycle`. Not
    thread-safe: grab from one thread.
    """

    def __init__(
        self,
        frames: FrameSequence,
        /,
        *,
        clock: Callable[[], float] = time.monotonic,
        loop: bool = False,
        prefetch: bool = True,
    ) -> None:
        n = len(frames)
        if n < 1:
            raise FrameError("cannot play an empty frame sequence")
        t0 = float(frames.times[0])
        rel = [float(t) - t0 for t in frames.times]
        if any(b < a for a, b in itertools.pairwise(rel)) or not all(map(math.isfinite, rel)):
            raise FrameError("frame times must be finite and non-decreasing")
        self.frames = frames
        self.loop = loop
        self._clock = clock
        self._fetcher = PrefetchedSequence(frames, wrap=loop) if prefetch else None
        self._rel = rel
        span = rel[-1]
        # A pass ends one mean frame interval after the last frame is shown;
        # a sequence with no span has nothing to loop.
        self._period = span + span / (n - 1) if n > 1 and span > 0 else math.inf
        #: Index of the frame the last grab returned (-1 before any).
        self.frame_index = -1
        #: Clock value at the first grab.
        self.started_at: float | None = None
        #: Completed passes when looping (0 otherwise).
        self.cycle = 0
        self._frame: Frame | None = None
        self._next_due = -math.inf  # clock value at which the next frame is due
        self._closed = False

    @property
    def width(self) -> int:
        return self.frames.width

    @property
    def height(self) -> int:
        return self.frames.height

    @property
    def monitors(self) -> list[Monitor]:
        w, h = self.frames.width, self.frames.height
        return [Monitor(0, 0, 0, w, h), Monitor(1, 0, 0, w, h, primary=True)]

    def grab(self) -> Frame:
        """The newest frame due by the clock (frame 0 on the first call)."""
        if self._closed:
            raise CaptureError("the paced source is closed")
        now = self._clock()
        if now < self._next_due and self._frame is not None:
            return self._frame
        if self.started_at is None:
            self.started_at = now
            index, cycle = 0, 0
        else:
            t = now - self.started_at
            cycle = 0
            if self.loop and t >= self._period:
                cycle = int(t // self._period)
                t -= cycle * self._period
            index = bisect.bisect_right(self._rel, t) - 1
        if index != self.frame_index or self._frame is None:
            # Fetch before changing any state: a failing fetch leaves the source as it was.
            source = self._fetcher if self._fetcher is not None else self.frames
            self._frame = source.frame(index)
            self.frame_index = index
        self.cycle = cycle
        base = self._pass_start()
        if index + 1 < len(self._rel):
            self._next_due = base + self._rel[index + 1]
        else:
            self._next_due = base + self._period  # inf without loop: the end
        return self._frame

    def time_of(self, index: int, /) -> float:
        """Clock time at which frame ``index`` becomes current in the pass of the
        last grab (a skipped frame: when it would have). FrameError before the
        first grab or for an index out of range."""
        if self.started_at is None:
            raise FrameError("the paced source has not started: grab() first")
        if not 0 <= index < len(self._rel):
            raise FrameError(f"frame {index} outside 0..{len(self._rel) - 1}")
        return self._pass_start() + self._rel[index]

    def _pass_start(self) -> float:
        assert self.started_at is not None
        # cycle is 0 whenever the period is infinite: never multiply 0 by inf.
        return self.started_at + (self.cycle * self._period if self.cycle else 0.0)

    @property
    def finished(self) -> bool:
        """Whether the last frame's time has passed (never when looping)."""
        if self.loop or self.started_at is None:
            return False
        return self._clock() - self.started_at >= self._rel[-1]

    def close(self) -> None:
        self._closed = True
        self._frame = None
        if self._fetcher is not None:
            self._fetcher.close()

    def __enter__(self) -> PacedSource:
        return self

    def __repr__(self) -> str:
        name = getattr(self.frames, "name", type(self.frames).__name__)
        return f"PacedSource({name!r}, {len(self._rel)} frames, loop={self.loop})"
