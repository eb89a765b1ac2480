"""The synthetic desktop: a deterministic frame source with ground truth."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ...errors import CaptureError, FrameError
from ...geometry import Monitor, Rect
from ..base import CursorState, FrameSource
from ..desktop_check import MAX_SIZE, MIN_SIZE, check_desktop
from ._desktop import Desktop
from ._pointer import arrow
from ._scenario import Motion, Scenario

__all__ = ["MAX_SIZE", "MIN_SIZE", "SyntheticDesktop"]

# Rows of the padding-junk plane beyond the frame height; the plane is read at
# an offset that cycles with this period, so the junk differs between frames.
_JUNK_PERIOD = 61


class SyntheticDesktop(FrameSource):
    """A desktop that plays a scenario (``typing``, ``terminal``, ``browser``, ``drag``,
    ``video`` or ``idle``; see ``SCENARIOS``) frame by frame, with no display needed.

    Frames are a pure function of ``(width, height, scenario, seed, index)``:
    the clock is the frame index divided by ``fps``, never the wall clock, so a
    run is bit-identical on every machine that has the DejaVu fonts. ``grab()``
    returns the next frame; :meth:`frame_at` seeks.

    **Buffer reuse**: every call returns the *same* array, overwritten by the
    next call; copy it to keep it. It is writable, but writes are lost.

    With ``incremental=True``, a ``grab()`` that follows the previous frame
    redraws only what changed (using the ground truth below), which makes idle
    or typing frames nearly free at 4K. The caller must then never write into
    the returned array: the next frame is drawn over what it holds.

    **Padding**: the 4th byte of each pixel is 0, or with ``junk_padding=True``
    varies with position and frame (as some capture APIs leave it), to check
    that consumers ignore it.

    **Ground truth** about the frame last produced (index ``frame_index - 1``),
    relative to the frame before it (``index - 1``), whatever was grabbed before:
    :attr:`last_motion` (a :class:`Motion` or None) and :attr:`last_damage`
    (rects covering every pixel that changed). :attr:`layout` names the regions of
    the screen (``"panel"``, ``"clock"`` and per scenario e.g. ``"text"``,
    ``"content"``, ``"video"``, ``"window"``).

    Not thread-safe: one source per thread.
    """

    def __init__(
        self,
        width: int = 1920,
        height: int = 1080,
        *,
        scenario: str = "typing",
        seed: int = 0,
        fps: float = 30,
        junk_padding: bool = False,
        incremental: bool = False,
    ) -> None:
        from . import SCENARIOS  # the registry lives in the package facade

        self.check(width, height, scenario=scenario, fps=fps)
        self._width, self._height = width, height
        self.scenario_name = scenario
        self.seed = seed
        self.fps = float(fps)
        self.junk_padding = junk_padding
        self.incremental = incremental
        rng = np.random.default_rng(seed)
        self._desk = Desktop(width, height, rng)
        self._scenario: Scenario = SCENARIOS[scenario](self._desk, rng, self.fps)
        self._out = np.empty((height, width, 4), np.uint8)
        self._junk: npt.NDArray[np.uint8] | None = None
        if junk_padding:
            self._junk = rng.integers(0, 256, (height + _JUNK_PERIOD, width), dtype=np.uint8)
        self._next = 0
        self._shown = -1  # the frame the buffer holds
        self._closed = False
        self.last_motion: Motion | None = None
        self.last_damage: list[Rect] = []

    @staticmethod
    def check(width: int, height: int, *, scenario: str = "typing", fps: float = 30) -> None:
        """Raise the :class:`FrameError` that making this desktop would, without
        making it (:func:`~screencodec.capture.desktop_check.check_desktop`,
        with the scenarios of the registry)."""
        from . import SCENARIOS  # the registry lives in the package facade

        check_desktop(width, height, scenario=scenario, fps=fps, names=SCENARIOS)

    # -- FrameSource ---------------------------------------------------------------

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def monitors(self) -> list[Monitor]:
        return [
            Monitor(0, 0, 0, self._width, self._height),
            Monitor(1, 0, 0, self._width, self._height, primary=True),
        ]

    def grab(self) -> npt.NDArray[np.uint8]:
        """Render and return the next frame (see the class notes on buffer reuse)."""
        return self.frame_at(self._next)

    def cursor(self) -> CursorState:
        """The pointer over the last frame produced (frame 0 before any grab)."""
        x, y = self._scenario.pointer(max(0, self._next - 1))
        return CursorState(x, y, shape=arrow(self._desk.ui), hotspot=(0, 0))

    def close(self) -> None:
        self._closed = True

    # -- synthetic extras -----------------------------------------------------------

    @property
    def frame_index(self) -> int:
        """Index of the frame the next ``grab()`` returns."""
        return self._next

    @property
    def layout(self) -> dict[str, Rect]:
        return dict(self._scenario.layout)

    def time(self, index: int, /) -> float:
        """Synthetic time of frame ``index`` in seconds."""
        return index / self.fps

    def truth_at(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        """The ground truth of frame ``index`` (motion, damage against ``index - 1``),
        without rendering anything: cheap enough to scan thousands of frames."""
        motion, damage = self._scenario.changes(index)
        if index > 0 and int(self.time(index)) != int(self.time(index - 1)):
            damage = [*damage, self._desk.clock]
        return motion, damage

    def reset(self) -> None:
        """Start over at frame 0."""
        self._next = 0

    def frame_at(self, index: int, /) -> npt.NDArray[np.uint8]:
        """Render frame ``index`` (the next ``grab()`` returns ``index + 1``)."""
        if self._closed:
            msg = "the synthetic desktop is closed"
            raise CaptureError(msg)
        if index < 0:
            msg = f"frame index must be >= 0, not {index}"
            raise FrameError(msg)
        out, base = self._out, self._scenario.base
        o = self._scenario.opaque(index)
        motion, damage = self.truth_at(index)
        if self.incremental and index > 0 and self._shown == index - 1:
            # The buffer holds the previous frame, and nothing outside `damage`
            # differs from it: restore the base under the damage only, then draw.
            for r in damage:
                if o is None or not o.contains(r):
                    out[r.slices()] = base[r.slices()]
        elif o is None or o.is_empty():
            np.copyto(out, base)
        else:
            # The base everywhere but in the rect that draw() covers anyway.
            out[: o.y] = base[: o.y]
            out[o.bottom :] = base[o.bottom :]
            out[o.y : o.bottom, : o.x] = base[o.y : o.bottom, : o.x]
            out[o.y : o.bottom, o.right :] = base[o.y : o.bottom, o.right :]
        self._scenario.draw(out, index)
        t = self.time(index)
        self._desk.draw_clock(out, t)
        if self._junk is not None:
            k = index % _JUNK_PERIOD
            out[..., 3] = self._junk[k : k + self._height]
        self.last_motion, self.last_damage = motion, damage
        self._next = index + 1
        self._shown = index
        return out

    def __enter__(self) -> SyntheticDesktop:
        return self

    def __repr__(self) -> str:
        return (
            f"SyntheticDesktop({self._width}, {self._height}, scenario={self.scenario_name!r}, "
            f"seed={self.seed}, fps={self.fps:g})"
        )
