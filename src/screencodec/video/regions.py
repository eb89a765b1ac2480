"""Video-region detection from the history of source damage.

A region becomes video when its tiles changed in most of the last frames
(``min_hits`` of ``window``) and its content does not look like text or UI.
Why these two tests:

- *Changes in most frames for a while*: typing touches a few tiles now and
  then, a window drag touches a tile only while the window passes over it;
  only playing video (and animations, which are video too) keeps the same
  tiles changing frame after frame.
- *Not text-like*: a scrolling document or a terminal also changes in every
  frame, but its tiles are mostly flat background (most pixels equal their left
  neighbour) and hold at most a few hundred colours (glyphs with their
  anti-aliasing), while camera footage is nearly never flat and holds
  thousands. Text stays lossless, always.

The region's bounds are pixel-exact: per hot tile, the intersection of its
changed-pixel boxes (trimmed by the tile-diff kernel) over the last three
frames, i.e. the pixels that keep changing; the union of those over the
region's tiles, shrunk (never grown) to even dimensions for H.264. A label that
shares a tile with the video and changes once a second (a player's clock) so
stays out, and every lossy pixel lies inside the area that actually moves.

A candidate must be seen with the same bounds ``stable`` frames in a row
before it is reported, so a window being resized or dragged does not start a
new stream in every frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..codecs import _pixels
from ..geometry import Rect

__all__ = ["DetectorOptions", "RegionDetector"]

Frame = npt.NDArray[np.uint8]
Boxes = npt.NDArray[np.int32]

_SAMPLE = 64  # edge of the tiles sampled for the text test
_BOUNDS_FRAMES = 3


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Tuning of :class:`RegionDetector` (defaults tested on the synthetic
    typing, terminal, browser-scroll, drag and video scenarios)."""

    tile: int = 64
    window: int = 10
    min_hits: int = 8
    min_size: tuple[int, int] = (128, 96)
    stable: int = 2
    #: A sampled 64x64 tile with at most this many colours looks like text / UI
    #: (anti-aliased text on the synthetic desktop: 100-300 per tile; film: 2500+).
    text_colours: int = 256
    #: ... and so does one where this share of pixels equals its left neighbour
    #: (text and UI: ~0.75; film with grain: ~0.03).
    text_flat: float = 0.4
    #: The region is text-like when this share of its sampled tiles is.
    text_share: float = 0.5
    max_regions: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.min_hits <= self.window:
            raise ValueError("need 1 <= min_hits <= window")
        if not 16 <= self.tile <= 256:
            raise ValueError("tile must lie in 16..256")


class RegionDetector:
    """Finds video regions in a stream of source-damage boxes. Not thread-safe."""

    def __init__(self, width: int, height: int, options: DetectorOptions | None = None) -> None:
        self.options = o = options or DetectorOptions()
        self.width, self.height = width, height
        self._gw, self._gh = -(-width // o.tile), -(-height // o.tile)
        self._hits: deque[npt.NDArray[np.bool_]] = deque(maxlen=o.window)
        # Per tile (x0, y0, x1, y1) of its changed pixels, x0 > x1 when clean.
        self._boxes: deque[npt.NDArray[np.int32]] = deque(maxlen=_BOUNDS_FRAMES)
        self._count = np.zeros((self._gh, self._gw), np.int32)
        # While a video plays the hot tiles stay the same: reuse their components.
        self._hot_key = b""
        self._hot_parts: list[npt.NDArray[np.bool_]] = []
        self._seen: dict[Rect, int] = {}
        self._text: dict[Rect, bool] = {}

    def observe(
        self,
        boxes: Boxes,
        frame: Frame,
        regions: Sequence[tuple[Rect, bool]] = (),
        /,
        *,
        now: float | None = None,
    ) -> list[Rect]:
        """Record one frame's damage ((N, 4) boxes from ``tile_diff`` with this
        detector's tile size); return the video regions seen in it.

        ``regions`` are the active video regions and whether their source
        changed: their tiles count as changed exactly then (the boxes, taken
        against a lossy reference, always show them changed).

        ``now`` is the capture time in seconds (any monotonic clock). It is
        accepted already so callers can pass it; detection by time follows
        (until then it is ignored and frames are counted)."""
        o = self.options
        grid = np.zeros((self._gh, self._gw), np.bool_)
        tb = np.zeros((self._gh, self._gw, 4), np.int32)
        tb[..., 0] = tb[..., 1] = 1 << 30
        if len(boxes):
            ty, tx = boxes[:, 1] // o.tile, boxes[:, 0] // o.tile
            grid[ty, tx] = True
            tb[ty, tx, :2] = boxes[:, :2]
            tb[ty, tx, 2:] = boxes[:, :2] + boxes[:, 2:]
        for rect, changed in regions:
            ts = self._tiles(rect)
            grid[ts] = changed
            if not changed:
                tb[ts][..., :2] = 1 << 30
        if len(self._hits) == o.window:
            self._count -= self._hits[0]
        self._hits.append(grid)
        self._count += grid
        self._boxes.append(tb)
        if len(self._hits) < o.window:
            return []
        hot = self._count >= o.min_hits
        if not hot.any():
            self._seen.clear()
            return []
        key = np.packbits(hot).tobytes()
        if key != self._hot_key:
            self._hot_key, self._hot_parts = key, _components(hot)
        seen: dict[Rect, int] = {}
        found: list[Rect] = []
        for tiles in self._hot_parts:
            bounds = self._bounds(tiles)
            if bounds is None:
                continue
            count = self._seen.get(bounds, 0) + 1
            seen[bounds] = count
            if count >= o.stable and not self._text_like(frame, bounds):
                found.append(bounds)
        self._seen = seen
        self._text = {r: t for r, t in self._text.items() if r in seen}
        found.sort(key=lambda r: -r.area)
        return found[: o.max_regions]

    def forget(self, rect: Rect, /) -> None:
        """Clear the history of the tiles under ``rect`` (a region that stopped)."""
        ts = self._tiles(rect)
        for grid in self._hits:
            grid[ts] = False
        self._count[ts] = 0

    def _tiles(self, rect: Rect) -> tuple[slice, slice]:
        t = self.options.tile
        return slice(rect.y // t, -(-rect.bottom // t)), slice(rect.x // t, -(-rect.right // t))

    def _bounds(self, tiles: npt.NDArray[np.bool_]) -> Rect | None:
        """Pixel bounds of the recent changes in ``tiles``, shrunk to even sizes."""
        stack = np.stack(self._boxes)[:, tiles]  # (frames, tiles, 4)
        lo, hi = stack[..., :2].max(axis=0), stack[..., 2:].min(axis=0)
        keep = np.all(lo < hi, axis=1)
        if not keep.any():
            return None
        x0, y0 = (int(v) for v in lo[keep].min(axis=0))
        x1, y1 = (int(v) for v in hi[keep].max(axis=0))
        w, h = (x1 - x0) & ~1, (y1 - y0) & ~1
        mw, mh = self.options.min_size
        if w < mw or h < mh:
            return None
        return Rect(x0, y0, w, h)

    def _text_like(self, frame: Frame, rect: Rect) -> bool:
        verdict = self._text.get(rect)
        if verdict is None:
            o = self.options
            verdict = looks_like_text(frame, rect, o.text_colours, o.text_flat, o.text_share)
            self._text[rect] = verdict
        return verdict


def looks_like_text(
    frame: Frame, rect: Rect, colours: int = 256, flat: float = 0.4, share: float = 0.5
) -> bool:
    """Whether at least ``share`` of up to 4 x 4 sampled 64x64 tiles of ``rect``
    are mostly flat (``flat`` of their pixels equal to the left neighbour) or
    hold at most ``colours`` colours (counted by the palette kernel, which stops
    as soon as a tile has more)."""
    nx, ny = min(4, max(1, rect.w // _SAMPLE)), min(4, max(1, rect.h // _SAMPLE))
    sw, sh = min(_SAMPLE, rect.w), min(_SAMPLE, rect.h)
    few = 0
    for j in range(ny):
        for i in range(nx):
            x = rect.x + (rect.w - sw) * (2 * i + 1) // (2 * nx)
            y = rect.y + (rect.h - sh) * (2 * j + 1) // (2 * ny)
            t = frame[y : y + sh, x : x + sw, :3]
            same = np.all(t[:, 1:] == t[:, :-1], axis=2)
            if same.mean() >= flat or _pixels.palette_encode(frame, x, y, sw, sh, colours):
                few += 1
    return few >= share * nx * ny


def _components(hot: npt.NDArray[np.bool_]) -> list[npt.NDArray[np.bool_]]:
    """4-connected components of the hot tiles, as masks (the grid is small:
    30 x 17 tiles at 1080p, so a plain flood fill is fast enough)."""
    h, w = hot.shape
    label = np.zeros(hot.shape, np.int32)
    out: list[npt.NDArray[np.bool_]] = []
    for sy, sx in zip(*np.nonzero(hot), strict=True):
        if label[sy, sx]:
            continue
        n = len(out) + 1
        label[sy, sx] = n
        stack = [(int(sy), int(sx))]
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and hot[ny, nx] and not label[ny, nx]:
                    label[ny, nx] = n
                    stack.append((ny, nx))
        out.append(label == n)
    return out
