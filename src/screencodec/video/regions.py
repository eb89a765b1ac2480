"""Video-region detection from the history of source damage.

A region becomes video when its tiles keep changing and its content does not
look like text or UI. Why these two tests:

- *Keeps changing*: typing touches a few tiles now and then, a window drag
  touches a tile only while the window passes over it; only playing video (and
  animations, which are video too) keeps the same tiles changing, change after
  change.
- *Not text-like*: a scrolling document or a terminal also changes all the
  time, but its tiles are mostly flat background (most pixels equal their left
  neighbour) and hold at most a few hundred colours (glyphs with their
  anti-aliasing), while camera footage is nearly never flat and holds
  thousands. Text stays lossless, always.

"Keeps changing" is measured on one of two clocks:

- **Frames** (``observe`` without ``now``): changed in ``min_hits`` of the last
  ``window`` observed frames. Right only when every observed frame is a new
  picture of the content: a 60 Hz capture of a 24 fps film changes in 40 % of
  the frames, and a slow link encodes too few frames to fill the window.
- **Time** (``observe(..., now=t)``): a tile is in a *run* while its changes
  follow each other at most ``max_gap`` seconds apart (>= ~7 changes a second),
  or it changed in every observed frame (a slow link's ticks are far apart, but
  video changes in each). Repeated frames (a 60 Hz capture of a 24 fps film)
  just leave gaps shorter than ``max_gap``. A region of tiles in a run is
  reported, in the frames where it changes, once it has shown the same bounds
  at ``stable`` (2) changes, looks like video and either has been changing for
  ``sustain`` seconds and ``sustain_changes`` changes, or is *clearly* film
  (most sampled tiles rich in colours and hardly flat): that goes at its third
  change, i.e. three frames of the content's own rate after it starts,
  whatever the capture rate. The content test is taken again every
  ``recheck`` seconds (a film fading in from black looks flat at first).
  With COPY information (``damage``) and ``first_change``, an area that is
  clearly film already at its first change (its tiles' runs just started,
  bounded by that change's boxes, nothing scrolled next to it) is reported
  then: its first pictures go as video instead of lossless pixels, and a
  photo shown once costs one picture before the stage's refresh.

The region's bounds are pixel-exact: per tile, the intersection of its
changed-pixel boxes (trimmed by the tile-diff kernel) over its last three
changes (frames, on the frame clock), i.e. the pixels that keep changing; the
union of those over the region's tiles (shrunk to even dimensions with
``even``). A label that shares a tile with the video and changes
once a second (a player's clock) so stays out, and every lossy pixel lies
inside the area that actually moves.

Requiring the same bounds twice keeps a window being resized or dragged from
starting a new stream in every frame: its changed area moves with every
change. On the frame clock every frame counts; on the time clock a change
counts only if every tile of the region changed again since the last one that
counted (a repeated frame is no evidence, and tiles an edge passed over a
moment ago, still in their run, must not make a moving area look still).

The strip a scroll uncovers on a slow link is large, new in every frame and
in one place: video, to these tests. Given ``uncovered`` (what the COPY ops
exposed: sources minus destinations), those tiles are left out of every
candidate for ``sustain`` seconds, so a video beside a scrolling chat is found
at once; a region whose own tiles were copied into lately is still held back
(a move found before and missed now). Given only ``damage`` (the boxes before
COPY ops explained part of them), a region next to a COPY is not reported. Without
it, a change counts only if it covered exactly the bounds: the strips of a
scroll vary in height, and their intersection looks still but is never all
that changed. That guard is weaker (a steady scroll uncovers strips of one
height) and slower (a label that shares tiles with the film and ticks once a
second spoils the changes it ticks in: at 2 Hz the fifth tick instead of the
third).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..codecs import _pixels
from ..geometry import Rect

__all__ = ["DetectorOptions", "RegionDetector", "looks_like_text"]

Boxes = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
_T = TypeVar("_T", bound=np.generic)

_SAMPLE = 64  # edge of the tiles sampled for the text test
_BOUNDS_FRAMES = 3
_BIG = 1 << 30
_CAP = 1 << 30  # counters saturate here instead of wrapping
_LITTLE = np.little_endian


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    """Tuning of :class:`RegionDetector` (defaults tested on the synthetic
    typing, terminal, browser-scroll, drag and video scenarios at capture
    rates from 2 to 60 Hz, and on the real-screen corpus)."""

    tile: int = 64
    #: Frame clock: a tile is hot when it changed in ``min_hits`` of the last
    #: ``window`` frames.
    window: int = 10
    min_hits: int = 8
    min_size: tuple[int, int] = (128, 96)
    #: Successive frames (frame clock) or changes (time clock) that must show
    #: a candidate with the same bounds before it is reported.
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
    #: Time clock: the longest pause, in seconds, between two changes of a tile
    #: that still continues its run (a tile that changed in every observed
    #: frame continues it whatever the pause).
    max_gap: float = 0.15
    #: Time clock: a region that is not clearly film is reported once it has
    #: been changing for this many seconds and this many changes (a slow
    #: link's ticks are far apart: 0.5 s can be a single tick).
    sustain: float = 0.5
    sustain_changes: int = 4
    #: Time clock: seconds after which the content test of a candidate whose
    #: bounds did not change is taken again (a film that fades in from black
    #: looks flat at first).
    recheck: float = 0.25
    #: Clearly film: a sampled tile with more than ``text_colours`` colours and
    #: less than this share of flat pixels (synthetic film: ~0.03; the mpv
    #: clip of the corpus: 0.05-0.11) ...
    video_flat: float = 0.2
    #: ... in at least this share of the sampled tiles.
    video_share: float = 0.75
    #: Time clock: an area that is clearly film (see ``video_flat``) is
    #: reported at its first change, before any run: its first pictures then
    #: go as video, not as lossless pixels (a 1120x630 film costs ~0.9 MB a
    #: frame losslessly). Should it stop at once (a photo shown once), the
    #: stage's refresh sends it exactly ``refresh_delay`` later.
    first_change: bool = True
    #: Shrink bounds to even dimensions. The video stage does not: it codes
    #: a picture grown to even sizes and sends the added column or row
    #: exactly, so every pixel that plays is video and none beside it is lossy.
    even: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.min_hits <= self.window:
            raise ValueError("need 1 <= min_hits <= window")
        if not 16 <= self.tile <= 256:
            raise ValueError("tile must lie in 16..256")
        if self.stable < 1:
            raise ValueError("stable must be >= 1")
        if not (self.max_gap > 0 and self.sustain >= 0 and self.recheck >= 0):
            raise ValueError("need max_gap > 0, sustain >= 0 and recheck >= 0")
        if not 0 < self.video_share <= 1:
            raise ValueError("video_share must lie in (0, 1]")


class RegionDetector:
    """Finds video regions in a stream of source-damage boxes. Not thread-safe.

    State, per tile of the ``tile`` grid: on the frame clock, whether it
    changed in each of the last ``window`` frames and its changed box in the
    last three; on the time clock, its current run (start, last change, number
    of changes, frames observed since the last change), its changed boxes at
    the last three changes and when a COPY last moved pixels into it. Per
    candidate region: the bounds last seen,
    when they were last evidenced and how often, and the cached content test.
    Each clock keeps its own history: drive one detector with one of them.
    """

    def __init__(self, width: int, height: int, options: DetectorOptions | None = None) -> None:
        self.options = o = options or DetectorOptions()
        self.width, self.height = width, height
        self._gw, self._gh = gw, gh = -(-width // o.tile), -(-height // o.tile)
        # Frame clock.
        self._hits: deque[Mask] = deque(maxlen=o.window)
        # Per tile (x0, y0) and (x1, y1) of its changed pixels, x0 > x1 when clean.
        self._boxes: deque[tuple[Ints, Ints]] = deque(maxlen=_BOUNDS_FRAMES)
        self._count = np.zeros((gh, gw), np.int32)
        self._frames = 0
        # Time clock.
        self._now = -np.inf
        self._last = np.full((gh, gw), -np.inf)
        self._start = np.zeros((gh, gw))
        self._runs = np.zeros((gh, gw), np.int64)
        self._missed = np.full((gh, gw), _CAP, np.int64)
        self._moved_at = np.full((gh, gw), -np.inf)  # last COPY into the tile
        self._uncovered_at = np.full((gh, gw), -np.inf)  # last exposed by a COPY
        self._precise = False  # the last frame came with ``uncovered``
        # Boxes at the last three changes of each tile's run, slot = run count % 3;
        # slots not yet written in this run hold the neutral box of an intersection.
        self._run_lo = np.full((_BOUNDS_FRAMES, gh, gw, 2), -_BIG, np.int64)
        self._run_hi = np.full((_BOUNDS_FRAMES, gh, gw, 2), _BIG, np.int64)
        # While a video plays the hot tiles stay the same: reuse their labels.
        self._hot_key = b""
        self._labels: Ints = np.zeros((gh, gw), np.int64)
        self._n_labels = 0
        # Candidate bounds -> (latest change counted, times seen with new changes).
        self._seen: dict[Rect, tuple[float, int]] = {}
        # Candidate bounds -> (text-like, clearly film, when tested).
        self._verdicts: dict[Rect, tuple[bool, bool, float]] = {}

    def observe(
        self,
        boxes: Boxes,
        frame: Frame,
        regions: Sequence[tuple[Rect, bool]] = (),
        /,
        *,
        now: float | None = None,
        damage: Boxes | None = None,
        uncovered: Sequence[Rect] | None = None,
    ) -> list[Rect]:
        """Record one frame's damage ((N, 4) boxes from ``tile_diff`` with this
        detector's tile size, at most one per tile); return the video regions
        seen in it, largest first.

        ``regions`` are the active video regions and whether their source
        changed: their tiles count as changed exactly then (the boxes, taken
        against a lossy reference, always show them changed).

        ``now`` is the capture time in seconds (any monotonic clock; a time
        earlier than the last counts as the last): with it, detection runs on
        the time clock, without it on the frame clock (see the module notes).

        ``damage`` (time clock only) are the tile boxes before COPY ops
        explained part of them, when ``boxes`` are what the copies left (the
        same boxes when nothing was copied): a tile where the two differ was
        scrolled or moved into. A candidate next to such tiles in the last
        ``sustain`` seconds is not reported: on a slow link a steady scroll
        uncovers a strip of the same size in every frame, which otherwise
        looks exactly like video. Pass it whenever COPY ops are made.

        ``uncovered`` (time clock only): where this frame's COPY ops exposed
        what their content no longer covers (each source minus every
        destination: the strip a scroll reveals, a moved window's old
        place). When it is given, such tiles of the last ``sustain`` seconds
        are left out of every candidate instead, and nothing else is held
        back for COPY ops but a candidate whose own tiles were copied into
        lately: a video beside a scrolling chat is found at once, the strips
        the chat reveals are not. Give it only when the motion search was
        complete (not cut short by its budget): a move it missed exposes
        tiles nobody reports.
        """
        changed, lo, hi = self._grid(boxes)
        if now is None:
            self._mask(changed, lo, regions)
            return self._observe_frames(changed, lo, hi, frame)
        now = self._now = max(float(now), self._now)
        copies = damage is not None
        self._precise = uncovered is not None
        for rect in uncovered or ():
            self._uncovered_at[self._tiles(rect)] = now
        if damage is not None and len(damage):
            dchanged, dlo, dhi = self._grid(damage)
            copied = dchanged & (~changed | np.any((dlo != lo) | (dhi != hi), axis=2))
            self._moved_at[copied] = now
        self._mask(changed, lo, regions)
        return self._observe_time(changed, lo, hi, frame, now, copies=copies)

    def forget(self, rect: Rect, /) -> None:
        """Clear the history of the tiles under ``rect`` (a region that stopped)."""
        ts = self._tiles(rect)
        for grid in self._hits:
            grid[ts] = False
        self._count[ts] = 0
        self._last[ts] = -np.inf
        self._moved_at[ts] = -np.inf
        self._uncovered_at[ts] = -np.inf
        self._runs[ts] = 0
        self._missed[ts] = _CAP

    # -- the two clocks -------------------------------------------------------------

    def _grid(self, boxes: Boxes) -> tuple[Mask, Ints, Ints]:
        """Per tile: changed, and the (x0, y0), (x1, y1) corners of its box."""
        t = self.options.tile
        changed = np.zeros((self._gh, self._gw), np.bool_)
        lo = np.full((self._gh, self._gw, 2), _BIG, np.int64)
        hi = np.zeros((self._gh, self._gw, 2), np.int64)
        if len(boxes):
            b = np.asarray(boxes, np.int64)
            ty, tx = b[:, 1] // t, b[:, 0] // t
            changed[ty, tx] = True
            lo[ty, tx] = b[:, :2]
            hi[ty, tx] = b[:, :2] + b[:, 2:]
        return changed, lo, hi

    def _mask(self, changed: Mask, lo: Ints, regions: Sequence[tuple[Rect, bool]]) -> None:
        """Tiles of active regions: changed exactly when their source did."""
        for rect, moved in regions:
            ts = self._tiles(rect)
            changed[ts] = moved
            if not moved:
                lo[ts] = _BIG

    def _observe_frames(self, changed: Mask, lo: Ints, hi: Ints, frame: Frame) -> list[Rect]:
        o = self.options
        if len(self._hits) == o.window:
            self._count -= self._hits[0]
        self._hits.append(changed)
        self._count += changed
        self._boxes.append((lo, hi))
        self._frames += 1
        if len(self._hits) < o.window:
            return []
        hot = self._count >= o.min_hits
        ilo = np.maximum.reduce([b[0] for b in self._boxes])
        ihi = np.minimum.reduce([b[1] for b in self._boxes])
        return self._report(hot, ilo, ihi, frame, None, copies=False)

    def _observe_time(
        self, changed: Mask, lo: Ints, hi: Ints, frame: Frame, now: float, *, copies: bool
    ) -> list[Rect]:
        o = self.options
        if changed.any():
            follows = (now - self._last <= o.max_gap) | (self._missed == 0)
            fresh = changed & ~follows
            self._runs[fresh] = 0
            self._start[fresh] = now
            self._run_lo[:, fresh] = -_BIG
            self._run_hi[:, fresh] = _BIG
            ty, tx = np.nonzero(changed)
            runs = self._runs[ty, tx] + 1
            self._runs[ty, tx] = np.minimum(runs, _CAP)
            self._last[ty, tx] = now
            slot = runs % _BOUNDS_FRAMES
            self._run_lo[slot, ty, tx] = lo[ty, tx]
            self._run_hi[slot, ty, tx] = hi[ty, tx]
        self._missed += 1
        np.minimum(self._missed, _CAP, out=self._missed)
        self._missed[changed] = 0
        live = (now - self._last <= o.max_gap) | (self._missed == 0)
        # Two changes give the first bounds, a third the same ones: stable.
        warm = live & (self._runs >= 2)
        ilo, ihi = self._run_lo.max(axis=0), self._run_hi.min(axis=0)
        found = self._report(warm, ilo, ihi, frame, now, copies=copies)
        if not found and o.first_change and copies:
            found = self._first_change(changed & (self._runs == 1), lo, hi, frame, now)
        return found

    def _first_change(
        self, fresh: Mask, lo: Ints, hi: Ints, frame: Frame, now: float
    ) -> list[Rect]:
        """Clearly-film areas among the tiles whose run starts now, bounded by
        their changed boxes: large, nothing scrolled or moved next to them
        lately, and film by the content test (``first_change``)."""
        o = self.options
        t, (mw, mh) = o.tile, o.min_size
        # A candidate spans at least 2 x 2 tiles (below): typing and a
        # cursor start fewer runs, and skip the labelling.
        if self._precise:
            fresh = fresh & (self._uncovered_at < now - o.sustain)
        if np.count_nonzero(fresh) < 4:
            return []
        labels, n = _label(fresh)
        n += 1
        lab = labels[fresh]
        x0, y0 = _least(n, lab, lo[fresh][:, 0]), _least(n, lab, lo[fresh][:, 1])
        x1, y1 = _most(n, lab, hi[fresh][:, 0]), _most(n, lab, hi[fresh][:, 1])
        w, h = x1 - x0, y1 - y0
        if o.even:
            w &= ~1
            h &= ~1
        # The area must be seen whole: tiles count only if their box reaches
        # the bounds; a tile grid needs at least min_size in tiles too.
        big = np.flatnonzero((w >= max(mw, 2 * t)) & (h >= max(mh, 2 * t)))
        if not len(big):
            return []
        moved = _most(n, lab, _dilate(self._moved_at)[fresh])
        found = []
        for c in big.tolist():
            # Known exposures are left out above; a candidate whose own tiles
            # were copied into lately is still held back (a move the motion
            # stage found before and lost this frame).
            own = _most(n, lab, self._moved_at[fresh]) if self._precise else moved
            if own[c] >= now - o.sustain:
                continue
            rect = Rect(int(x0[c]), int(y0[c]), int(w[c]), int(h[c]))
            flat, rich = _sample(frame, rect, o.text_colours)
            if np.count_nonzero((flat < o.video_flat) & rich) >= o.video_share * len(flat):
                found.append(rect)
        found.sort(key=lambda r: -r.area)
        return found[: o.max_regions]

    # -- candidates -----------------------------------------------------------------

    def _report(
        self, hot: Mask, lo: Ints, hi: Ints, frame: Frame, now: float | None, *, copies: bool
    ) -> list[Rect]:
        """The regions among the components of ``hot`` tiles, given each tile's
        intersected box; ``now`` is None on the frame clock, ``copies``
        whether COPY ops are known."""
        o = self.options
        valid = hot & np.all(lo < hi, axis=2)
        if not valid.any():
            self._seen.clear()
            self._verdicts.clear()
            return []
        if now is not None and self._precise:
            # Tiles a COPY exposed lately: the strips a scroll reveals.
            exposed = self._uncovered_at >= now - o.sustain
            hot, valid = hot & ~exposed, valid & ~exposed
            if not valid.any():
                self._seen.clear()
                self._verdicts.clear()
                return []
        key = np.packbits(hot).tobytes()
        if key != self._hot_key:
            self._hot_key = key
            self._labels, self._n_labels = _label(hot)
        n = self._n_labels + 1
        lab = self._labels[valid]
        vlo, vhi = lo[valid], hi[valid]
        x0, y0 = _least(n, lab, vlo[:, 0]), _least(n, lab, vlo[:, 1])
        x1, y1 = _most(n, lab, vhi[:, 0]), _most(n, lab, vhi[:, 1])
        w, h = x1 - x0, y1 - y0
        if o.even:
            w &= ~1
            h &= ~1
        mw, mh = o.min_size
        big = np.flatnonzero((w >= mw) & (h >= mh))
        if now is None:
            newest = oldest = np.full(n, float(self._frames))
            exact = np.ones(n, np.bool_)
        else:
            # Per component: its latest change, the oldest of its tiles'
            # latest changes, its youngest run and its shortest.
            last = self._last[valid]
            newest, oldest = _most(n, lab, last), _least(n, lab, last)
            starts, runs = _most(n, lab, self._start[valid]), _least(n, lab, self._runs[valid])
            # Scrolled or moved next to (or into) the component lately (when
            # what the copies exposed is not known: else it was left out).
            moved = _most(n, lab, _dilate(self._moved_at)[valid])
            moved_since = np.maximum(now - o.sustain, starts)
            if self._precise:  # only copies into its own tiles (see _first_change)
                moved = _most(n, lab, self._moved_at[valid])
            exact = np.ones(n, np.bool_) if copies else self._exact(valid, lab, x0, y0, x1, y1)
        seen: dict[Rect, tuple[float, int]] = {}
        found: list[Rect] = []
        for c in big.tolist():
            rect = Rect(int(x0[c]), int(y0[c]), int(w[c]), int(h[c]))
            # New evidence for these bounds needs a change of every tile since
            # the last evidence (tiles a passing edge left behind, still in
            # their run for max_gap, must not make a moving area look still),
            # and without COPY information one that covered exactly them.
            stamp, count = self._seen.get(rect, (-np.inf, 0))
            if oldest[c] > stamp and exact[c]:
                stamp, count = float(newest[c]), count + 1
            seen[rect] = (stamp, count)
            if count < o.stable:
                continue
            # Reported only while it changes: a region the stage drops after a
            # short stillness must not come straight back from stale runs.
            if now is not None and (newest[c] < now or moved[c] >= moved_since[c]):
                continue
            text, film = self._verdict(frame, rect, now)
            if text:
                continue
            if (
                now is None
                or film
                or (now - starts[c] >= o.sustain and runs[c] >= o.sustain_changes)
            ):
                found.append(rect)
        self._seen = seen
        self._verdicts = {r: v for r, v in self._verdicts.items() if r in seen}
        found.sort(key=lambda r: -r.area)
        return found[: o.max_regions]

    def _exact(self, valid: Mask, lab: Ints, *bounds: Ints) -> Mask:
        """Per component: whether its tiles' latest changes covered exactly
        ``bounds`` (x0, y0, x1, y1 per component)."""
        n = len(bounds[0])
        slot = self._runs % _BOUNDS_FRAMES
        ty, tx = np.nonzero(valid)
        clo, chi = self._run_lo[slot[ty, tx], ty, tx], self._run_hi[slot[ty, tx], ty, tx]
        x0, y0, x1, y1 = bounds
        same: Mask = (
            (_least(n, lab, clo[:, 0]) == x0)
            & (_least(n, lab, clo[:, 1]) == y0)
            & (_most(n, lab, chi[:, 0]) == x1)
            & (_most(n, lab, chi[:, 1]) == y1)
        )
        return same

    def _verdict(self, frame: Frame, rect: Rect, now: float | None) -> tuple[bool, bool]:
        """(text-like, clearly film), cached per bounds; on the time clock
        taken again every ``recheck`` seconds."""
        o = self.options
        cached = self._verdicts.get(rect)
        if cached is not None and (now is None or now - cached[2] < o.recheck):
            return cached[0], cached[1]
        flat, rich = _sample(frame, rect, o.text_colours)
        n = len(flat)
        few = int(np.count_nonzero((flat >= o.text_flat) | ~rich))
        film = int(np.count_nonzero((flat < o.video_flat) & rich))
        text, clear = few >= o.text_share * n, film >= o.video_share * n
        self._verdicts[rect] = (text, clear, -np.inf if now is None else now)
        return text, clear

    def _tiles(self, rect: Rect) -> tuple[slice, slice]:
        t = self.options.tile
        return slice(rect.y // t, -(-rect.bottom // t)), slice(rect.x // t, -(-rect.right // t))


def looks_like_text(
    frame: Frame, rect: Rect, colours: int = 256, flat: float = 0.4, share: float = 0.5
) -> bool:
    """Whether at least ``share`` of up to 4 x 4 sampled 64x64 tiles of ``rect``
    are mostly flat (``flat`` of their pixels equal to the left neighbour) or
    hold at most ``colours`` colours (counted by the palette kernel, which stops
    as soon as a tile has more)."""
    flats, rich = _sample(frame, rect, colours)
    few = int(np.count_nonzero((flats >= flat) | ~rich))
    return few >= share * len(flats)


def _sample(frame: Frame, rect: Rect, colours: int) -> tuple[npt.NDArray[np.float64], Mask]:
    """Per sampled tile of ``rect`` (up to 4 x 4, spread evenly): the share of
    pixels equal to their left neighbour, and whether it has more than
    ``colours`` colours."""
    nx, ny = min(4, max(1, rect.w // _SAMPLE)), min(4, max(1, rect.h // _SAMPLE))
    sw, sh = min(_SAMPLE, rect.w), min(_SAMPLE, rect.h)
    flats = np.empty(nx * ny)
    rich = np.empty(nx * ny, np.bool_)
    for j in range(ny):
        for i in range(nx):
            x = rect.x + (rect.w - sw) * (2 * i + 1) // (2 * nx)
            y = rect.y + (rect.h - sh) * (2 * j + 1) // (2 * ny)
            k = j * nx + i
            flats[k] = _flat_share(frame[y : y + sh, x : x + sw])
            rich[k] = _pixels.palette_encode(frame, x, y, sw, sh, colours) is None
    return flats, rich


def _flat_share(tile: Frame) -> float:
    """Share of the pixels whose B, G, R equal their left neighbour's."""
    if tile.shape[1] < 2:
        return 1.0
    if tile.strides[2] == 1 and tile.strides[1] == 4:
        # One 32-bit word per pixel, X masked: a plain compare instead of a
        # reduction over the channel axis (20x faster).
        px = tile.view(np.uint32)[..., 0] & np.uint32(0x00FFFFFF if _LITTLE else 0xFFFFFF00)
        return float((px[:, 1:] == px[:, :-1]).mean())
    t = tile[..., :3]
    return float(np.all(t[:, 1:] == t[:, :-1], axis=2).mean())


def _least(n: int, labels: Ints, values: npt.NDArray[_T]) -> npt.NDArray[_T]:
    """Per label 0..n-1: the smallest of ``values`` (the dtype's maximum for none)."""
    out = np.full(n, _top(values.dtype), values.dtype)
    np.minimum.at(out, labels, values)
    return out


def _most(n: int, labels: Ints, values: npt.NDArray[_T]) -> npt.NDArray[_T]:
    """Per label 0..n-1: the largest of ``values`` (the dtype's minimum for none)."""
    out = np.full(n, -_top(values.dtype), values.dtype)
    np.maximum.at(out, labels, values)
    return out


def _top(dtype: np.dtype[Any]) -> float:
    return float("inf") if dtype.kind == "f" else _BIG


def _dilate(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per tile, the largest value among itself and its 8 neighbours."""
    rows: npt.NDArray[np.float64] = a.copy()
    np.maximum(rows[1:], a[:-1], out=rows[1:])
    np.maximum(rows[:-1], a[1:], out=rows[:-1])
    out: npt.NDArray[np.float64] = rows.copy()
    np.maximum(out[:, 1:], rows[:, :-1], out=out[:, 1:])
    np.maximum(out[:, :-1], rows[:, 1:], out=out[:, :-1])
    return out


def _label(mask: Mask) -> tuple[Ints, int]:
    """4-connected components of ``mask``: labels 1..n (0 outside), and n.

    Vectorised: every tile takes the smallest index among itself and its
    neighbours, then jumps to the label of the tile its label names (pointer
    jumping), until nothing changes; each component ends with the index of its
    first tile. A few dozen whole-grid passes at most, even for a snake across
    a 4K grid, instead of a Python step per tile.
    """
    h, w = mask.shape
    size = h * w
    idx = np.arange(size, dtype=np.int64).reshape(h, w)
    lab = np.where(mask, idx, size)
    while True:
        m = lab.copy()
        np.minimum(m[1:], lab[:-1], out=m[1:])
        np.minimum(m[:-1], lab[1:], out=m[:-1])
        np.minimum(m[:, 1:], lab[:, :-1], out=m[:, 1:])
        np.minimum(m[:, :-1], lab[:, 1:], out=m[:, :-1])
        m[~mask] = size
        flat = np.append(m.ravel(), size)
        m = flat[flat[m]]  # two jumps
        if np.array_equal(m, lab):
            break
        lab = m
    roots, inverse = np.unique(lab[mask], return_inverse=True)
    out = np.zeros((h, w), np.int64)
    out[mask] = inverse + 1
    return out, len(roots)
