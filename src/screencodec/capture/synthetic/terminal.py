"""``terminal``: a build log pouring out of a terminal, scrolling a line at a time."""

from __future__ import annotations

import numpy as np

from ...geometry import Rect
from ._code import log_lines
from ._desktop import Desktop, blink_on
from ._render import LRU, RGB, Run, render_runs
from ._scenario import Array, Motion, Scenario, cumulative, periodic_schedule

__all__ = ["TerminalScenario"]

BG: RGB = (24, 24, 28)
CURSOR: RGB = (210, 210, 210)
CHUNK = 64


class TerminalScenario(Scenario):
    """A terminal window (fixed title bar) under fast output.

    The text area (``layout["text"]``) holds ``rows`` lines of ``lh`` px. The
    last row is the shell's cursor line (an empty line with a block cursor);
    the rows above it show the newest output. When a line is printed, rows
    ``1 .. rows-2`` move up by exactly ``lh`` pixel rows and the new line appears
    in row ``rows-2``: one line per frame in bursts, with short pauses.
    """

    name = "terminal"
    summary = "a terminal scrolling fast: a new output line per frame, whole text up a line"

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        super().__init__(desk, rng, fps)
        w, h, px = desk.width, desk.height, desk.px
        win = Rect(
            round(w * 0.1),
            round(h * 0.06),
            round(w * 0.78),
            max(8, desk.work.h - 2 * round(h * 0.06)),
        )
        img = desk.canvas()
        client = desk.window(img, win, "dev@buildbox: ~/src/screencodec - make -j8 test", body=BG)
        self.font = desk.mono
        self.lh = max(2, round(px(14) * 1.3))
        pad = px(6)
        self.tx, self.ty = client.x + pad, client.y + pad
        self.tw = max(1, client.w - 2 * pad)
        self.rows = max(2, (client.h - 2 * pad) // self.lh)
        self.base = desk.base(img)
        self.layout["window"] = win
        self.layout["text"] = Rect(self.tx, self.ty, self.tw, self.rows * self.lh)
        # The log is endless and never repeats: line k comes from chunk k // CHUNK,
        # generated from its own seed when first needed.
        self.seed = int(rng.integers(0, 2**62))
        self._chunks: dict[int, list[list[Run]]] = {}
        # 1 = a line printed this frame. Long bursts, a few pauses (the compiler
        # thinking), so both scrolling and still frames occur.
        pattern = np.ones(240, np.int64)
        for start in rng.integers(0, 220, 5):
            pattern[start : start + int(rng.integers(3, 15))] = 0
        pattern[0] = 1
        self.sched = periodic_schedule(pattern, self.rows + int(rng.integers(0, 1000)))
        self._strips = LRU(self._render, size=2 * self.rows + 8)

    def printed(self, index: int, /) -> int:
        """How many lines have been printed by frame ``index`` (unbounded)."""
        return cumulative(self.sched, index)

    def line(self, k: int, /) -> list[Run]:
        """Output line ``k`` (0-based, counted from the start of the log)."""
        chunk = self._chunks.get(k // CHUNK)
        if chunk is None:
            if len(self._chunks) > 8:
                self._chunks.clear()
            chunk = log_lines(np.random.default_rng((self.seed, k // CHUNK)), CHUNK)
            self._chunks[k // CHUNK] = chunk
        return chunk[k % CHUNK]

    def _render(self, k: int) -> Array:
        return render_runs(self.line(k), self.font, self.tw, self.lh, BG)

    def draw(self, out: Array, index: int, /) -> None:
        last = self.printed(index)
        out_rows = self.rows - 1
        for r in range(out_rows):
            y = self.ty + r * self.lh
            strip = self._strips[last - out_rows + 1 + r]
            out[y : y + self.lh, self.tx : self.tx + self.tw] = strip
        if blink_on(self.time(index)) or self.printed(max(0, index - 1)) != last:
            y = self.ty + out_rows * self.lh
            cw = max(1, round(self.font.getlength("M")))
            out[y : y + self.lh, self.tx : self.tx + min(cw, self.tw), :3] = CURSOR[::-1]

    def opaque(self, index: int, /) -> Rect:
        return Rect(self.tx, self.ty, self.tw, (self.rows - 1) * self.lh)

    def changes(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        if index == 0:
            return None, []
        text = self.layout["text"]
        cursor = Rect(self.tx, self.ty + (self.rows - 1) * self.lh, text.w, self.lh)
        if self.printed(index) == self.printed(index - 1):
            return None, [cursor]
        motion = None
        if self.rows >= 3:
            src = Rect(self.tx, self.ty + self.lh, self.tw, (self.rows - 2) * self.lh)
            motion = Motion("scroll", src, 0, -self.lh)
        return motion, [self.opaque(index), cursor]
