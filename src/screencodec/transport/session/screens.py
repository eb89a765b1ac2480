"""The host's capture side: one frame source per watched monitor, shared by viewers.

:class:`CaptureHub` opens a source for a monitor when the first viewer watches
it and closes it when the last one leaves (reference counts), so nothing is
captured while nobody who consented is watching.

:meth:`CaptureHub.grab_then` grabs and runs the caller's work on the frame
(the encode) in *one* worker-thread hop: each hop costs latency. Two viewers
ticking together share one grab if it is fresher than ``reuse`` seconds.

Copies, and the lock that makes skipping them safe: a source may return the
same buffer on every grab. With one viewer on a monitor the frame is used in
place (a 1080p copy costs over a millisecond) and the work runs under the
monitor's thread lock, so no other grab can overwrite the buffer meanwhile.
With several viewers the frame is copied and their encodes run in parallel.
A source whose grabs are fresh buffers (``hinted_buffers_fresh``: the hub
grabs through ``grab_hinted``; mss's grabs are, ScreenSource's partial grabs
into its own frame are not) with one viewer gives each new grab up to the
work (``owned``): the encoder keeps it as its reference instead of copying it.
A frame reused within ``reuse`` seconds is never given up twice.
Everything else (acquire, release, monitors) runs on the event loop.

Damage hints: grabs go through ``source.grab_hinted()``; each monitor keeps a
short log of (grab number, hint). :meth:`CaptureHub.grab_hinted_then` gives
the work the union of the hints of every grab since the one that consumer
(its :class:`HintCursor`) last saw: viewers encode at different times. A
consumer too far behind (the log was trimmed), on its first frame, after a
switch of monitor, or when any grab in between had no hint gets None
(compare everything); a reused grab it already saw gets no rects. A source
that serves several monitors never gives hints (each grab would take the
damage another monitor's grab should see), and its monitors share one grab
lock (a grab may write into a frame the source keeps, which the other
monitor's viewer may be encoding).

:meth:`CaptureHub.cursor` reads the pointer on the event loop when the
source has a ``loop_cursor()`` (ScreenSource: XFixes on a connection of its
own), asked for on a worker at the first read (it connects): no worker hop
per poll, which cost an idle host as much CPU as the rest of its stillness
(transport/session/pointer_read.py: the question written, the answer
waited for in place up to a millisecond, else read once the loop sees it
came; not answered within
:attr:`CaptureHub.answer_within` s, the monitor fails as a grab not
answered does). Other sources are read
(``source.cursor()``) in a worker thread under a per-monitor lock of their
own, never the grab lock: a pointer poll does not wait for a grab + encode.
Either way viewers polling together within ``reuse`` seconds share one read.

:meth:`CaptureHub.quiet` tells a viewer's send loop, on the loop and
without a grab, that nothing was drawn since the grab it last saw (the
source's ``damage_pending()``: XDamage's events): an idle screen's ticks
then cost no worker hop, grab or encode (transport/session/streaming.py).

Threads: grabs and pointer reads run on daemon threads of the hub's own
(:class:`_Workers`), not in the loop's default executor, and each is waited
for at most :attr:`CaptureHub.answer_within` seconds. A source whose X
server stopped answering (SIGSTOP, a hung server) held a grab in XGetImage
for good: the host said its display was gone, then never exited, as
``asyncio.run`` joins its default executor at the end. Now such a call
fails with a CaptureError (the session ends: the screen can no longer be
captured), the monitor fails every later call at once, and its thread is
left to the server: nobody joins it. A source with a call under way is
closed on a worker after it (never, if it never returns), not on the loop
(mss's close waits for its grab's lock).

Opening and closing run there too: opening a source (mss connects to X and
reads the screen's layout) waited on the loop for a server that stopped
answering, at the first viewer and at a monitor switch, and the whole host
with it (chat, probes, other viewers, Ctrl-C); so did closing one (a round
trip). A hub that owns its sources (``owns_sources``: the factory opens a
new one per call) opens a monitor's source on a worker when it is acquired,
and closes every source on a worker; the loop waits for that at most
:data:`LOOP_WAIT` s (a few milliseconds on a server that answers, so
``acquire`` and ``release`` return with the source open or closed, and an
error opening it is raised by ``acquire``, as before). Past that, the call
goes on on its worker: the monitor's first grab or pointer read waits for
the opening under the grabs' bound (not answered in time, it fails with
the CaptureError above), and a close is left to its worker. The layout
(the monitor list) is read at a viewer's join by :meth:`CaptureHub.layout`
once that viewer's monitor is acquired, so it waits for that opening the
same way. Only :meth:`CaptureHub.monitors` called before anyone watched
(not done by a session) would still call the factory on the loop; the
host CLI hands its first viewer the source it opened at its start, off
the loop (cli/host_start.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from screencodec.capture.base import CursorState, FrameSource, Hint, LoopCursor
from screencodec.errors import CaptureError
from screencodec.frames import Frame
from screencodec.geometry import Monitor
from screencodec.transport.session.pointer_read import LoopPointer, NotAnsweredError

__all__ = ["ANSWER_WITHIN", "HINT_LOG", "LOOP_WAIT", "CaptureHub", "HintCursor", "SourceFactory",
           "off_the_loop", "single_source"]  # fmt: skip

#: Grabs a monitor remembers the hint of: a consumer further behind gets None.
HINT_LOG = 64
#: A union of more rects than this is given as its bounding box.
HINT_MAX_RECTS = 4096
#: How long a grab (with its work) or a pointer read may take (s); then the
#: source is taken for hung. Longer than the X watchers' own bound
#: (input/xtest.ANSWER_WITHIN, 10 s): with remote control on, the host
#: hears first that its display is gone, which says more. The test suite
#: shortens it for the host it starts with
#: $SCREENCODEC_TEST_SCREEN_ANSWER_WITHIN (tests only).
ANSWER_WITHIN = float(os.environ.get("SCREENCODEC_TEST_SCREEN_ANSWER_WITHIN", "15"))
#: How long the loop waits for a source to open (``acquire``) or close
#: (``release``, ``close``) on a worker before it leaves that to the worker (s).
LOOP_WAIT = 0.5
_screen_serials = itertools.count(1)

#: ``factory(monitor_index)`` -> a source showing that monitor (0 = all of them).
SourceFactory = Callable[[int], FrameSource]
T = TypeVar("T")


def single_source(source: FrameSource) -> SourceFactory:
    """A factory for a host that has exactly one source (no monitor switching
    beyond what the source itself reports as its first monitor)."""

    def _factory(index: int) -> FrameSource:
        return source

    return _factory


@dataclass
class HintCursor:
    """One consumer's place in the damage log: the monitor (the hub's record
    of it) and the grab it last worked on. A fresh one knows nothing."""

    screen: int = 0
    grab: int = -1


@dataclass
class _Screen:
    """One monitor's source and the frame last grabbed from it (CaptureHub)."""

    source: FrameSource | None  # None until a worker opened it (CaptureHub._opened)
    index: int = 0
    serial: int = field(default_factory=lambda: next(_screen_serials))
    hints: bool = True  # False for good once the source serves another monitor too
    log: deque[tuple[int, Hint | None]] = field(default_factory=lambda: deque(maxlen=HINT_LOG))
    refs: int = 0
    frame: Frame | None = None
    private: bool = False  # frame is the source's own buffer, not a copy
    grabbed_at: float = -1.0
    grabs: int = 0
    drawn: int = 0  # the latest grab whose source took damage (or could not tell)
    lock: threading.Lock = field(default_factory=threading.Lock)
    cursor: CursorState | None = None
    cursor_at: float = -1.0
    cursor_lock: threading.Lock = field(default_factory=threading.Lock)
    # The pointer read on the loop (the source's loop_cursor), once the
    # first read, on a worker, opened it; asked: whether that was done.
    pointer: LoopPointer | None = None
    pointer_asked: bool = False
    hung: str | None = None  # why every call now fails: one was not answered
    opening: threading.Lock = field(default_factory=threading.Lock)  # held while it opens
    # Set once its opening returned, or it was let go: what a close waits for
    # before it knows which monitors show a source (CaptureHub._in_use).
    settled: threading.Event = field(default_factory=threading.Event)
    gone: bool = False  # released: not opened any more, closed once a call on it ends


class _Workers:
    """Daemon threads that run the hub's calls into its sources: a thread
    is started when every other one is busy, an idle one waits for the next
    call. :meth:`close` (the hub's close, or its collection) ends the idle
    ones, and the busy ones once they return; a call that never returns
    keeps its thread, which nobody joins. A call made after the close (a
    link still joining when its host closed the hub: a source opened for
    the monitor list, let go again) runs on a thread of its own: queued, it
    waited behind the threads' ends for a thread that never came (their
    idle permits outlive them), and that source was never closed."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._count = threading.Lock()
        self.threads = 0  # running, idle or busy
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._count:  # not queued behind the threads' ends
            closed = self._closed
            if not closed:
                self._jobs.put(job)
        if closed:
            threading.Thread(target=job, name="capture", daemon=True).start()
            return
        if not self._idle.acquire(blocking=False):
            with self._count:
                self.threads += 1
            threading.Thread(target=self._run, name="capture", daemon=True).start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()
            del job  # a frame is not kept while idle
            self._idle.release()
        with self._count:
            self.threads -= 1

    def close(self) -> None:
        with self._count:
            self._closed = True
            for _ in range(self.threads):
                self._jobs.put(None)


def _run_for(
    loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[T], fn: Callable[[], T]
) -> None:
    """On a worker: ``fn()``, unless ``waiter`` was given up on meanwhile;
    its result or error is handed to ``waiter`` on the loop."""
    if waiter.cancelled():  # read off the loop: at worst, a call made for nobody
        return
    try:
        done = functools.partial(_hand_over, waiter, fn(), None)
    except Exception as exc:
        done = functools.partial(_hand_over, waiter, None, exc)
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
        loop.call_soon_threadsafe(done)


def _hand_over(waiter: asyncio.Future[T], result: T | None, error: Exception | None) -> None:
    if waiter.done():  # given up on: the caller was cancelled, or it took too long
        pass
    elif error is None:
        waiter.set_result(result)  # type: ignore[arg-type]
    else:
        waiter.set_exception(error)


def _close_after(screens: list[_Screen], used: Callable[[FrameSource], bool] | None = None) -> None:
    """Close the sources of ``screens`` once the calls on them (an opening,
    a grab, a pointer read: their locks) have returned; not one that
    ``used`` says another monitor still shows (known only once an opening
    returned: a factory may serve two monitors with one source)."""
    locks = {id(lock): lock for sc in screens for lock in (sc.opening, sc.lock, sc.cursor_lock)}
    for lock in locks.values():
        lock.acquire()
    try:
        sources = {
            id(sc.source): sc.source
            for sc in screens
            if sc.source is not None and not (used is not None and used(sc.source))
        }
        for source in sources.values():
            with contextlib.suppress(Exception):  # a dead display; nobody to tell
                source.close()
    finally:
        for lock in locks.values():
            lock.release()


def _busy(screens: list[_Screen]) -> bool:
    """Whether a call on ``screens`` is under way (its lock held), or one
    was not answered: closing their source waits for it."""
    return any(sc.hung is not None or any(lock.locked() for lock in
                                          (sc.opening, sc.lock, sc.cursor_lock))
               for sc in screens)  # fmt: skip


async def _within(submit: Callable[[Callable[[], None]], None], fn: Callable[[], T],
                  within: float) -> T:  # fmt: skip
    """``fn()``, run by ``submit`` on a thread, waited for at most ``within``
    s: then CaptureError (:class:`NotAnsweredError`), the thread left to it."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()
    submit(functools.partial(_run_for, loop, waiter, fn))
    # Awaited as it is, with a timer: no wait_for, which on Python 3.11
    # returns the result of a call that ends as the task is cancelled
    # (the cancellation lost: a session's send loop went on for good).
    late: list[bool] = []
    timer = loop.call_later(within, lambda: late.append(waiter.cancel()))
    try:
        return await waiter
    except asyncio.CancelledError:
        cancelling = getattr(asyncio.current_task(), "cancelling", None)  # 3.11+
        if not late or (cancelling is not None and cancelling()):
            raise  # the caller's
        raise NotAnsweredError(f"the screen did not answer within {within:g} s") from None
    finally:
        timer.cancel()


async def off_the_loop(fn: Callable[[], T], within: float = ANSWER_WITHIN) -> T:
    """``fn()`` (opening a source, say) on a daemon thread of its own,
    waited for at most ``within`` s; then CaptureError ("the screen did not
    answer within N s") and the thread is left to the X server, unjoined:
    neither the loop nor the end of ``asyncio.run`` waits for it."""

    def start(job: Callable[[], None]) -> None:
        threading.Thread(target=job, name="capture-open", daemon=True).start()

    return await _within(start, fn, within)


class CaptureHub:
    def __init__(
        self, factory: SourceFactory, *, reuse: float = 0.002, owns_sources: bool = True
    ) -> None:
        self._factory = factory
        self._owns = owns_sources  # False: the caller's single source outlives viewers
        self._sharing = threading.Lock()  # a source opened on a worker joins the others
        self._reuse = reuse
        self._screens: dict[int, _Screen] = {}
        self.grabs = 0  # total over all monitors: the consent tests count these
        self.cursor_polls = 0  # source.cursor() calls, likewise
        self._monitors: tuple[Monitor, ...] | None = None
        self._workers = _Workers()
        # A hub nobody closed (a test's, say) keeps no thread once collected.
        self._end_workers = weakref.finalize(self, self._workers.close)
        #: How long one grab + work or pointer read is waited for (s).
        self.answer_within = ANSWER_WITHIN

    def monitors(self, probe_index: int) -> tuple[Monitor, ...]:
        """The monitor list, read from a source the first time (which opens
        it here, on the loop, unless that monitor's is open already; it
        grabs nothing; any monitor's open source tells the whole layout).
        A source opened only for this, of a monitor nobody watches, is
        closed again at once (as :meth:`release` closes one): it stayed
        open, unwatched, until the hub closed (a resumed link read the list
        before it watched its monitor, which may be another, and a link
        that died first never released it)."""
        if self._monitors is None:
            screen = self._screens.get(probe_index) or next(
                (s for s in self._screens.values() if s.source is not None), None)
            if screen is None:
                screen = self._add(probe_index, self._factory(probe_index))
            try:
                self._monitors = tuple(self._opened(screen).monitors)
            finally:
                if screen.refs <= 0:
                    self._let_go(screen.index, screen)
        return self._monitors

    async def layout(self, index: int) -> tuple[Monitor, ...]:
        """:meth:`monitors`, for a viewer that watches ``index`` (acquired):
        the first time read from that monitor's source once it is open,
        waited for on a worker under :attr:`answer_within` (it may still be
        opening after :meth:`acquire`), never on the loop: not answered in
        time, the CaptureError of a grab that was not (module notes)."""
        if self._monitors is None:
            screen = self._screens[index]
            source = screen.source
            if source is None:
                source = await self._answer(screen, functools.partial(self._opened, screen))
            if self._monitors is None:
                self._monitors = tuple(source.monitors)
        return self._monitors

    def acquire(self, index: int) -> None:
        """Count one more watcher of monitor ``index``. A source the hub owns
        is opened on a worker, waited for at most :data:`LOOP_WAIT` s (module
        notes); the caller's own (``owns_sources=False``) is open already."""
        screen = self._screens.get(index)
        if screen is None:
            if self._owns:
                screen = self._screens[index] = _Screen(None, index)
                done, error = self._briefly(functools.partial(self._opened, screen))
                if done and error is not None:  # as when it was opened here
                    del self._screens[index]
                    screen.gone = True
                    raise error
            else:
                screen = self._add(index, self._factory(index))
        screen.refs += 1

    def _briefly(self, job: Callable[[], object]) -> tuple[bool, Exception | None]:
        """``job()`` on a worker, waited for at most :data:`LOOP_WAIT` s:
        whether it ended by then, and what it raised."""
        ended, raised = self._tracked(job)
        done = ended.wait(LOOP_WAIT)
        return done, raised[0] if done and raised else None

    def _tracked(self, job: Callable[[], object]) -> tuple[threading.Event, list[Exception]]:
        """``job()`` on a worker; set once it ended, and what it raised."""
        ended = threading.Event()
        raised: list[Exception] = []

        def run() -> None:
            try:
                job()
            except Exception as exc:  # the caller's to raise, or the next call's to meet
                raised.append(exc)
            finally:
                ended.set()

        self._workers.submit(run)
        return ended, raised

    def _add(self, index: int, source: FrameSource) -> _Screen:
        screen = self._screens[index] = _Screen(None, index)
        self._open_as(screen, source)
        return screen

    def _open_as(self, screen: _Screen, source: FrameSource) -> None:
        """``source`` is ``screen``'s from now on (its opening lock held, or
        ``screen`` not yet seen by any worker)."""
        with self._sharing:
            for other in list(self._screens.values()):
                if other is not screen and other.source is source:
                    # One source's damage is taken by whichever monitor grabs first.
                    other.hints = screen.hints = False
                    # And one grab at a time: a grab may write into a frame the
                    # source keeps (ScreenSource's partial grabs), which the other
                    # monitor's viewer may be encoding under its grab lock.
                    screen.lock = other.lock
            screen.source = source

    def _opened(self, screen: _Screen) -> FrameSource:
        """On a worker: ``screen``'s source, opened now if it is not yet (a
        stopped X server holds this call, which the caller gives up on)."""
        with screen.opening:
            try:
                if screen.source is None:
                    if screen.gone:  # released before its call came: nobody waits for it
                        raise CaptureError("the screen is no longer watched")
                    self._open_as(screen, self._factory(screen.index))
                    if screen.gone:  # released meanwhile: its release's job closes it
                        raise CaptureError("the screen is no longer watched")
            finally:
                screen.settled.set()
            assert screen.source is not None
            return screen.source

    def release(self, index: int) -> None:
        screen = self._screens.get(index)
        if screen is None:
            return
        screen.refs -= 1
        if screen.refs <= 0:
            self._let_go(index, screen)

    def _let_go(self, index: int, screen: _Screen) -> None:
        """Nobody watches monitor ``index`` now: its source is closed (if
        the hub owns it and no other monitor shows it)."""
        del self._screens[index]
        screen.gone = True
        screen.settled.set()  # nobody's source now: a close need not wait for it
        if screen.pointer is not None:
            screen.pointer.close()
        if self._owns and all(s.source is not screen.source or s.source is None
                              for s in self._screens.values()):  # fmt: skip
            self._close([screen])

    def _in_use(self, source: FrameSource) -> bool:
        """On a worker: whether a monitor still watched shows ``source``,
        once the openings under way returned (one may yet give it)."""
        for screen in list(self._screens.values()):
            if screen.source is None:
                screen.settled.wait()  # its opening's job may not have started yet
        return any(s.source is source and not s.gone for s in list(self._screens.values()))

    def _close(self, screens: list[_Screen]) -> None:
        """Close the sources of ``screens`` on a worker, once the opening,
        grab or pointer read under way on them has returned: closing here
        would wait for the X server (a round trip; mss's close also waits
        for its grab's lock), for good if it stopped; unless another
        monitor shows that source by then (one still opening when it was
        released may turn out to be another's). Waited for at most
        :data:`LOOP_WAIT` s, unless such a call is under way or one was
        not answered: then not at all."""
        self._close_all([screens], self._in_use)

    def _close_all(self, groups: list[list[_Screen]],
                   used: Callable[[FrameSource], bool] | None = None) -> None:  # fmt: skip
        """:meth:`_close` for each group of screens (a group shares a source),
        one worker each, waited for at most :data:`LOOP_WAIT` s in all."""
        deadline = time.monotonic() + LOOP_WAIT
        busy = [_busy(screens) for screens in groups]  # before the closes take the locks
        ends = [self._tracked(functools.partial(_close_after, screens, used))[0]
                for screens in groups]  # fmt: skip
        for ended, held in zip(ends, busy, strict=True):
            if not held:
                ended.wait(max(0.0, deadline - time.monotonic()))

    async def _answer(self, screen: _Screen, fn: Callable[[], T]) -> T:
        """``fn()`` on a worker; CaptureError if it takes over
        :attr:`answer_within` s (the monitor then fails every call at once)."""
        if screen.hung is not None:
            raise CaptureError(screen.hung)
        try:
            return await _within(self._workers.submit, fn, self.answer_within)
        except NotAnsweredError as exc:
            screen.hung = str(exc)
            raise

    async def grab_then(self, index: int, work: Callable[[Frame, bool], T]) -> T:
        """Grab monitor ``index`` (or reuse a very fresh grab) and return
        ``work(frame, owned)``, both in one worker thread. Unless ``owned``,
        ``work`` must not keep the frame: it may be the source's buffer,
        overwritten by the next grab. ``owned``: a fresh buffer that only
        this work sees, which it may keep and later write into (``last_frame``
        returns copies)."""
        screen = self._screens[index]
        return await self._answer(
            screen, functools.partial(self._grab_then, screen, None, lambda f, o, _: work(f, o))
        )

    async def grab_hinted_then(
        self, index: int, cursor: HintCursor, work: Callable[[Frame, bool, Hint | None], T]
    ) -> T:
        """:meth:`grab_then` that also gives ``work`` the damage hint of this
        consumer (``cursor``, which it keeps from call to call): the union of
        the hints of the grabs since the one it last saw, in frame
        coordinates, or None (compare everything)."""
        screen = self._screens[index]
        return await self._answer(screen, functools.partial(self._grab_then, screen, cursor, work))

    def _grab_then(
        self,
        screen: _Screen,
        cursor: HintCursor | None,
        work: Callable[[Frame, bool, Hint | None], T],
    ) -> T:
        source = self._opened(screen)
        with screen.lock:
            now = time.monotonic()
            owned = False
            if screen.frame is None or now - screen.grabbed_at > self._reuse:
                raw, hint = source.grab_hinted()
                screen.private = screen.refs <= 1
                screen.frame = raw if screen.private else np.array(raw, np.uint8, copy=True)
                screen.grabbed_at = time.monotonic()
                screen.grabs += 1
                if source.damage_found is not False:
                    screen.drawn = screen.grabs
                screen.log.append((screen.grabs, hint if screen.hints else None))
                self.grabs += 1
                # A hinted grab may be the source's own frame, updated in place.
                owned = screen.private and source.hinted_buffers_fresh
            frame = screen.frame
            hint = None if cursor is None else _hint_since(screen, cursor)
            if screen.private:
                return work(frame, owned, hint)
        return work(frame, False, hint)

    def quiet(self, index: int, cursor: HintCursor) -> bool:
        """On the loop, without a worker hop: whether a grab of monitor
        ``index`` now would show this consumer nothing new. True only when
        its :class:`HintCursor` saw every grab of the monitor whose source
        took damage (``source.damage_found``; another viewer's grabs that
        took none it may skip: they found nothing drawn) and the source
        says nothing was drawn since (``source.damage_pending()`` is False:
        XDamage's events, no round trip). Any doubt is False: a source that
        cannot tell, one shared by several monitors (another's grab takes
        its damage), a grab with damage by another viewer since (that
        damage is in the log for this one), a hung or still opening source.
        A consumer skipping another's grabs without damage does not miss
        what such a grab's own net (a rolling band) found: its next grab's
        hint is the union since its last, that band included."""
        screen = self._screens.get(index)
        if screen is None or screen.hung is not None or not screen.hints:
            return False
        source = screen.source
        if (source is None or cursor.screen != screen.serial or cursor.grab < screen.drawn
                or cursor.grab > screen.grabs):  # fmt: skip
            return False
        return source.damage_pending() is False

    async def cursor(self, index: int) -> CursorState | None:
        """The pointer on monitor ``index`` (coordinates of that monitor), or None
        if the source cannot tell or nobody watches ``index``. Read on the
        loop when the source has a ``loop_cursor()`` (asked for on a worker
        at the first read), else on a worker (module notes)."""
        screen = self._screens.get(index)
        if screen is None:
            return None
        if screen.pointer is None:
            if screen.pointer_asked:
                return await self._answer(screen, functools.partial(self._cursor, screen))
            opened = await self._answer(screen, functools.partial(self._loop_cursor, screen))
            screen.pointer_asked = True
            if screen.gone or screen.pointer is not None:
                # Let go meanwhile, or another viewer's first read opened one.
                if opened is not None:
                    opened.close()
                if screen.pointer is None:
                    return None
            elif opened is None:
                return await self._answer(screen, functools.partial(self._cursor, screen))
            else:
                screen.pointer = LoopPointer(opened, within=self.answer_within,
                                             reuse=self._reuse, counted=self._counted)  # fmt: skip
        if screen.hung is not None:
            raise CaptureError(screen.hung)
        pointer = screen.pointer
        pointer.within = self.answer_within
        try:
            return await pointer.read()
        except NotAnsweredError as exc:
            screen.hung = str(exc)
            raise

    def _counted(self) -> None:
        self.cursor_polls += 1

    def _loop_cursor(self, screen: _Screen) -> LoopCursor | None:
        source = self._opened(screen)
        with screen.cursor_lock:
            return source.loop_cursor()

    def _cursor(self, screen: _Screen) -> CursorState | None:
        source = self._opened(screen)
        with screen.cursor_lock:
            if time.monotonic() - screen.cursor_at > self._reuse:
                screen.cursor = source.cursor()
                screen.cursor_at = time.monotonic()
                self.cursor_polls += 1
            return screen.cursor

    def last_frame(self, index: int) -> Frame | None:
        """A copy of the most recent grab of monitor ``index`` (for tests and
        previews): an encoder that kept the grab may write into it later.

        The copy is taken under the monitor's grab lock (shared by the
        monitors of one source), the lock every grab and in-place work holds:
        a partial grab writing the source's kept frame, or a keeping encoder
        writing its reference, never shows through half done. The lock is
        held for the copy only; the caller waits for a grab + encode under
        way, the capture loop waits at most one copy. None, not a wait, when
        a grab did not return (a hung X server holds its lock), or after
        :attr:`answer_within` s."""
        screen = self._screens.get(index)
        if screen is None or screen.hung is not None:
            return None
        if not screen.lock.acquire(timeout=self.answer_within):
            return None
        try:
            frame = screen.frame
            return None if frame is None else frame.copy()
        finally:
            screen.lock.release()

    def close(self) -> None:
        for screen in self._screens.values():
            screen.gone = True
            screen.settled.set()
            if screen.pointer is not None:
                screen.pointer.close()
        if self._owns:
            groups: dict[int, list[_Screen]] = {}  # one source may serve several monitors
            for screen in self._screens.values():
                key = id(screen if screen.source is None else screen.source)
                groups.setdefault(key, []).append(screen)
            self._close_all(list(groups.values()))
        self._screens.clear()
        self._end_workers()  # once


def _hint_since(screen: _Screen, cursor: HintCursor) -> Hint | None:
    """The union of the hints of ``screen``'s grabs after the one ``cursor``
    saw, up to the latest (which it sees now); None if one is unknown."""
    seen, cursor.grab = cursor.grab, screen.grabs
    same, cursor.screen = cursor.screen == screen.serial, screen.serial
    behind = screen.grabs - seen
    if not same or seen < 0 or behind < 0 or behind > len(screen.log):
        return None
    if behind == 0:  # a reused grab this consumer already worked on
        return np.zeros((0, 4), np.int32)
    parts: list[Hint] = []
    for _, hint in itertools.islice(reversed(screen.log), behind):
        if hint is None:
            return None
        parts.append(hint)
    rects = parts[0] if behind == 1 else np.concatenate(parts[::-1])
    if len(rects) > HINT_MAX_RECTS:
        x0, y0 = rects[:, 0].min(), rects[:, 1].min()
        x1, y1 = (rects[:, 0] + rects[:, 2]).max(), (rects[:, 1] + rects[:, 3]).max()
        rects = np.array([[x0, y0, x1 - x0, y1 - y0]], np.int32)
    return rects
