"""Damage hints through the host: CaptureHub's per-monitor log of grab hints,
each consumer's union since its own last frame, and a real session typing
into an xterm (XDamage) whose encoders compare less and end bit-exact."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from screencodec.capture import ScreenSource
from screencodec.capture.base import FrameSource
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import xvfb_xterm
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Monitor
from screencodec.transport import Host, Viewer, allow
from screencodec.transport.session.screens import (
    HINT_LOG,
    HINT_MAX_RECTS,
    CaptureHub,
    HintCursor,
    single_source,
)

from .helpers import bgr_equal, run, tcp_pair, until

Frame = npt.NDArray[np.uint8]
Hint = npt.NDArray[np.int32]


class ScriptedSource(FrameSource):
    """Grab ``n`` is a 64x48 frame of value ``n`` and hint ``hints[n]``
    (None when missing or ``unknown``): exact rects to look for downstream."""

    fresh_buffers = True

    def __init__(self) -> None:
        self.n = 0
        self.unknown: set[int] = set()

    @staticmethod
    def hint_of(n: int) -> Hint:
        return np.array([[n, 0, 1, 1], [0, n, 2, 2]][: 1 + n % 2], np.int32)

    @property
    def width(self) -> int:
        return 64

    @property
    def height(self) -> int:
        return 48

    @property
    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, 64, 48), Monitor(1, 0, 0, 64, 48, primary=True)]

    def grab(self) -> Frame:
        self.n += 1
        return np.full((48, 64, 4), self.n % 256, np.uint8)

    def grab_hinted(self) -> tuple[Frame, Hint | None]:
        frame = self.grab()
        return frame, None if self.n in self.unknown else self.hint_of(self.n)


def union(*grabs: int) -> list[list[int]]:
    return np.concatenate([ScriptedSource.hint_of(g) for g in grabs]).tolist()


class Consumers:
    """Drive a hub's grab_hinted_then for named consumers; note what each got."""

    def __init__(self, hub: CaptureHub, index: int = 1) -> None:
        self.hub, self.index = hub, index
        self.cursors: dict[str, HintCursor] = {}

    def tick(self, *names: str) -> list[tuple[int, list[list[int]] | None]]:
        """One work per name, in turn: (frame value, hint as a list or None)."""

        def work(frame: Frame, owned: bool, hint: Hint | None) -> Any:
            return int(frame[0, 0, 0]), None if hint is None else hint.tolist()

        async def main() -> list[tuple[int, list[list[int]] | None]]:
            out = []
            for name in names:
                cursor = self.cursors.setdefault(name, HintCursor())
                out.append(await self.hub.grab_hinted_then(self.index, cursor, work))
            return out

        return asyncio.run(main())


def test_each_consumer_gets_the_union_since_its_own_last_frame() -> None:
    src = ScriptedSource()
    hub = CaptureHub(lambda i: src, reuse=0.0)
    hub.acquire(1)
    hub.acquire(1)  # two viewers on one monitor
    c = Consumers(hub)
    # fast ticks every grab, slow every third: a first frame is unknown.
    assert c.tick("fast", "slow") == [(1, None), (2, None)]
    assert c.tick("fast") == [(3, union(2, 3))]
    assert c.tick("fast") == [(4, union(4))]
    assert c.tick("slow") == [(5, union(3, 4, 5))]
    assert c.tick("fast", "fast", "slow") == [(6, union(5, 6)), (7, union(7)), (8, union(6, 7, 8))]
    assert hub.grabs == 8


def test_a_reused_grab_carries_no_new_damage_for_who_saw_it() -> None:
    src = ScriptedSource()
    hub = CaptureHub(lambda i: src, reuse=60.0)  # every tick reuses the first grab
    hub.acquire(1)
    hub.acquire(1)
    c = Consumers(hub)
    assert c.tick("a", "b") == [(1, None), (1, None)]
    assert c.tick("a", "b", "a") == [(1, []), (1, []), (1, [])]
    assert hub.grabs == 1


def test_unknown_damage_makes_the_union_unknown() -> None:
    src = ScriptedSource()
    src.unknown = {3}
    hub = CaptureHub(lambda i: src, reuse=0.0)
    hub.acquire(1)
    hub.acquire(1)
    c = Consumers(hub)
    c.tick("a", "b")  # grabs 1, 2
    assert c.tick("a") == [(3, None)]  # grab 3 has no hint
    assert c.tick("a") == [(4, union(4))]  # after it: known again
    assert c.tick("b") == [(5, None)]  # b's union spans grab 3


def test_a_consumer_too_far_behind_gets_none() -> None:
    src = ScriptedSource()
    hub = CaptureHub(lambda i: src, reuse=0.0)
    hub.acquire(1)
    hub.acquire(1)
    c = Consumers(hub)
    c.tick("slow", "edge")  # grabs 1, 2
    for _ in range(HINT_LOG - 1):
        c.tick("fast")  # grabs 3 .. HINT_LOG + 1
    # edge saw grab 2: the log still holds grabs 3 .. HINT_LOG + 2, all it needs.
    (got,) = c.tick("edge")
    assert got == (HINT_LOG + 2, union(*range(3, HINT_LOG + 3)))
    # slow saw grab 1: grab 2 has left the log.
    assert c.tick("slow") == [(HINT_LOG + 3, None)]


def test_a_huge_union_is_its_bounding_box() -> None:
    class Busy(ScriptedSource):
        def grab_hinted(self) -> tuple[Frame, Hint | None]:
            frame = self.grab()
            rects = np.array([[i % 50, 7 + i % 30, 3, 2] for i in range(1000)], np.int32)
            return frame, rects

    hub = CaptureHub(lambda i: Busy(), reuse=0.0)
    hub.acquire(1)
    hub.acquire(1)
    c = Consumers(hub)
    c.tick("a", "b")
    grabs = HINT_MAX_RECTS // 1000 + 1
    for _ in range(grabs - 1):
        c.tick("a")
    (_, hint), = c.tick("b")  # fmt: skip
    assert hint == [[0, 7, 52, 31]]


def test_a_source_serving_two_monitors_gives_no_hints() -> None:
    """Each grab takes the source's damage: the other monitor's next grab
    would miss it, so neither gets hints."""
    src = ScriptedSource()
    hub = CaptureHub(single_source(src), reuse=0.0, owns_sources=False)
    hub.acquire(1)
    hub.acquire(0)
    one, zero = Consumers(hub, 1), Consumers(hub, 0)
    for _ in range(3):
        assert one.tick("a")[0][1] is None
        assert zero.tick("a")[0][1] is None


def test_a_monitor_opened_again_starts_a_new_log() -> None:
    src = ScriptedSource()
    hub = CaptureHub(lambda i: src, reuse=0.0, owns_sources=False)
    hub.acquire(1)
    c = Consumers(hub)
    c.tick("a", "a")
    hub.release(1)
    hub.acquire(1)  # grab numbers start again: a's place means nothing
    assert c.tick("a") == [(3, None)]
    assert c.tick("a") == [(4, union(4))]


# -- a real session over loopback TCP -------------------------------------------


class CountingEncoder(ScreenEncoder):
    """The session's encoder, noting per update whether it had a hint and
    how many frame rows it compared."""

    made: ClassVar[list[CountingEncoder]] = []

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height, threads=1)
        self.updates: list[tuple[bool, bool, int]] = []  # (keyframe, hinted, rows)
        self.hint_rects: list[int | None] = []  # per update: the hint's rects, or None
        CountingEncoder.made.append(self)

    def encode(self, frame: Any, /, **kw: Any) -> bytes:
        data = super().encode(frame, **kw)
        self.updates.append((self.last.keyframe, kw.get("hint") is not None,
                             self.last.compared_rows))  # fmt: skip
        hint = kw.get("hint")
        self.hint_rects.append(None if hint is None else len(hint))
        return data


@asynccontextmanager
async def session(source: Any, viewers: int) -> AsyncIterator[list[Viewer]]:
    """A Host and ``viewers`` Viewers, each over its own loopback TCP pair,
    its encoders :class:`CountingEncoder`."""
    async with hosted(source, viewers, encoder_factory=CountingEncoder) as (_, views):
        yield views


@asynccontextmanager
async def hosted(source: Any, viewers: int, **host_options: Any
                 ) -> AsyncIterator[tuple[Host, list[Viewer]]]:  # fmt: skip
    """A Host of ``source`` (``host_options`` its own) and ``viewers``
    Viewers, each over its own loopback TCP pair, all let in."""
    host = Host(source, consent=allow(), **host_options)
    pairs = [await tcp_pair() for _ in range(viewers)]
    serves = [asyncio.ensure_future(host.serve(h)) for h, _, _ in pairs]
    views = [Viewer(v) for _, v, _ in pairs]
    tasks = []
    for view in views:
        await view.start()
        tasks.append(asyncio.ensure_future(view.run()))
    try:
        yield host, views
    finally:
        for view in views:
            await view.bye()
        await asyncio.gather(*serves, *tasks, return_exceptions=True)
        await host.close()
        for _, _, server in pairs:
            server.close()
            await server.wait_closed()


def test_typing_into_an_xterm_streams_bit_exact_with_fewer_compares() -> None:
    """Two viewers watch a real xterm being typed into over loopback TCP: the
    host hands XDamage hints to both encoders (each its own union), they
    compare far fewer rows than the screen has, and once the typing stops
    each viewer holds exactly what X shows."""
    CountingEncoder.made = []
    # 720 rows: the typed line wraps, so an update touches two tile rows of
    # text and the rolling band's (up to 256 rows; on a loaded machine most
    # updates do), which a 400-row screen left barely under its half.
    with xvfb_xterm(640, 720) as display:
        env = {**os.environ, "DISPLAY": display}

        async def main() -> None:
            async with session(lambda i: ScreenSource(i, display=display), 2) as views:
                await until(lambda: all(v.decoded >= 1 for v in views), 20, "first pictures")
                typist = await asyncio.create_subprocess_exec(
                    "xdotool", "type", "--delay", "15", "hints from the X server " * 4, env=env
                )
                assert await asyncio.wait_for(typist.wait(), 30) == 0
                with ScreenSource(display=display) as screen:
                    await until(lambda: all(bgr_equal(v.framebuffer, screen.grab())
                                            for v in views), 20, "bit-exact viewers")  # fmt: skip

        run(main(), 60)
    encoders = CountingEncoder.made
    assert len(encoders) == 2
    height = 720
    for enc in encoders:
        deltas = [(hinted, rows) for key, hinted, rows in enc.updates if not key]
        hinted = [rows for h, rows in deltas if h]
        assert len(hinted) >= 10 and len(hinted) >= 0.9 * len(deltas), enc.updates[:5]
        # Typing touches a tile row or two of a 720-row screen (and the
        # rolling band, 1/16 rounded up to a tile row): under half of it.
        assert sum(hinted) < 0.5 * height * len(hinted)


def test_a_source_without_damage_compares_everything() -> None:
    """No XDamage (the synthetic desktop): no hints, every update of a new
    grab compares the whole frame, as before. A grab slower than the frame
    interval (a loaded machine) runs the viewer's loop back to back, and its
    next call within the hub's reuse window (2 ms) gets the same grab again
    with an empty hint: nothing changed since this viewer's last frame, and
    only the scan band is compared (a 60 ms grab did so in 8 of 20 updates;
    the fresh clone failed here once under load)."""
    CountingEncoder.made = []

    async def main() -> None:
        desk = SyntheticDesktop(320, 200, scenario="typing", seed=2)
        async with session(desk, 1) as (view,):
            await until(lambda: view.decoded >= 10, 20, "ten updates")

    run(main(), 60)
    (enc,) = CountingEncoder.made
    fresh = [rows for (_, _, rows), n in zip(enc.updates, enc.hint_rects, strict=True) if n is None]
    assert len(fresh) >= 10 and all(rows == 200 for rows in fresh), enc.updates
    assert all(n in (None, 0) for n in enc.hint_rects), enc.hint_rects  # only reused grabs


def test_one_viewer_of_a_busy_screen_ends_bit_exact() -> None:
    """One viewer (its grabs are ``owned``: fresh, seen by nobody else) while
    another client draws as fast as it can: changes drawn between the damage's
    take and the grab show in a frame before they are hinted, and still reach
    the viewer. The frames are given up to the encoder (keep=True): one
    kept as its reference after a partial compare would hide them for good
    (3 of 3 runs timed out that way before the encoder stopped adopting
    those)."""
    from Xlib import X
    from Xlib import display as xdisplay

    CountingEncoder.made = []
    with xvfb_xterm(640, 400) as display:
        d: Any = xdisplay.Display(display)
        root = d.screen().root
        gc = root.create_gc(subwindow_mode=X.IncludeInferiors)
        rng = np.random.default_rng(7)

        async def main() -> None:
            async with session(lambda i: ScreenSource(i, display=display), 1) as (view,):
                await until(lambda: view.decoded >= 1, 20, "the first picture")
                for _ in range(1500):  # ~1.5 s of small squares all over the screen
                    x, y, colour = (int(v) for v in rng.integers(0, (630, 390, 1 << 24)))
                    gc.change(foreground=colour)
                    root.fill_rectangle(gc, x, y, 10, 10)
                    d.sync()
                    await asyncio.sleep(0.001)
                with ScreenSource(display=display) as screen:
                    await until(lambda: bgr_equal(view.framebuffer, screen.grab()), 20,
                                "a bit-exact viewer")  # fmt: skip

        try:
            run(main(), 60)
        finally:
            d.close()
    (enc,) = CountingEncoder.made
    assert sum(hinted for _, hinted, _ in enc.updates) >= 10
