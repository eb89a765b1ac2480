"""The host's capture side: one frame source per watched monitor, shared by viewers.

:class:`CaptureHub` opens a source for a monitor when the first viewer watches
it and closes it when the last one leaves (reference counts), so nothing is
captured while nobody who consented is watching. ``grab`` runs the blocking
grab in a worker thread and hands out a private copy: several viewers' encoders
may read it in their own threads while the next grab is under way. Two viewers
ticking together share one grab if it is fresher than ``reuse`` seconds.

All methods run on the event loop; a per-monitor lock serialises grabs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..capture.base import FrameSource
from ..geometry import Monitor

__all__ = ["CaptureHub", "SourceFactory", "single_source"]

#: ``factory(monitor_index)`` -> a source showing that monitor (0 = all of them).
SourceFactory = Callable[[int], FrameSource]
Frame = npt.NDArray[np.uint8]


def single_source(source: FrameSource) -> SourceFactory:
    """A factory for a host that has exactly one source (no monitor switching
    beyond what the source itself reports as its first monitor)."""

    def _factory(index: int) -> FrameSource:
        return source

    return _factory


@dataclass
class _Screen:
    source: FrameSource
    refs: int = 0
    frame: Frame | None = None
    grabbed_at: float = -1.0
    grabs: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class CaptureHub:
    def __init__(
        self, factory: SourceFactory, *, reuse: float = 0.002, owns_sources: bool = True
    ) -> None:
        self._factory = factory
        self._owns = owns_sources  # False: the caller's single source outlives viewers
        self._reuse = reuse
        self._screens: dict[int, _Screen] = {}
        self.grabs = 0  # total over all monitors: the consent tests count these
        self._monitors: tuple[Monitor, ...] | None = None

    def monitors(self, probe_index: int) -> tuple[Monitor, ...]:
        """The monitor list, read from a source the first time (which opens it,
        but grabs nothing)."""
        if self._monitors is None:
            screen = self._screens.get(probe_index)
            src = screen.source if screen else self._factory(probe_index)
            self._monitors = tuple(src.monitors)
            if screen is None:
                self._screens[probe_index] = _Screen(src)
        return self._monitors

    def acquire(self, index: int) -> None:
        screen = self._screens.get(index)
        if screen is None:
            screen = self._screens[index] = _Screen(self._factory(index))
        screen.refs += 1

    def release(self, index: int) -> None:
        screen = self._screens.get(index)
        if screen is None:
            return
        screen.refs -= 1
        if screen.refs <= 0:
            del self._screens[index]
            if self._owns and all(s.source is not screen.source for s in self._screens.values()):
                screen.source.close()

    async def grab(self, index: int) -> Frame:
        screen = self._screens[index]
        async with screen.lock:
            now = time.monotonic()
            if screen.frame is None or now - screen.grabbed_at > self._reuse:
                raw = await asyncio.to_thread(screen.source.grab)
                screen.frame = np.array(raw, dtype=np.uint8, copy=True)
                screen.grabbed_at = time.monotonic()
                screen.grabs += 1
                self.grabs += 1
            return screen.frame

    def last_frame(self, index: int) -> Frame | None:
        """The most recent grab of monitor ``index`` (for tests and previews)."""
        screen = self._screens.get(index)
        return None if screen is None else screen.frame

    def close(self) -> None:
        if self._owns:
            for screen in self._screens.values():
                screen.source.close()
        self._screens.clear()
