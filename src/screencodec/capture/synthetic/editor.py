"""``typing``: someone writes code in an editor, a character or a few per frame."""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from ...geometry import Rect
from ._code import code_lines, highlight
from ._desktop import Desktop, blink_on
from ._render import LRU, RGB, Run, render_runs
from ._scenario import Array, Motion, Scenario, cumulative, periodic_schedule

__all__ = ["TypingScenario"]

BG: RGB = (250, 250, 250)
GUTTER_BG: RGB = (240, 240, 242)
GUTTER_FG: RGB = (160, 160, 168)
CARET: RGB = (40, 40, 48)


def _split_runs(runs: list[Run], cols: int) -> list[list[Run]]:
    """Wrap one highlighted line into display lines of at most ``cols`` characters."""
    out: list[list[Run]] = [[]]
    used = 0
    for text, colour in runs:
        rest = text
        while rest:
            room = cols - used
            if room == 0:
                out.append([])
                used, room = 0, cols
            out[-1].append((rest[:room], colour))
            used += len(rest[:room])
            rest = rest[room:]
    return out


class TypingScenario(Scenario):
    """An editor window with a highlighted Python file being typed.

    Characters appear at the caret at 0-3 per frame with pauses; long lines wrap;
    the view scrolls by a line when the caret leaves the bottom; the caret
    blinks when typing stops. When the file is done it starts over, empty.
    ``layout["text"]`` is the text area, ``layout["gutter"]`` the line numbers.
    """

    name = "typing"
    summary = "an editor: code typed at a caret, a few characters per frame"

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        super().__init__(desk, rng, fps)
        w, h, px = desk.width, desk.height, desk.px
        work = desk.work
        win = Rect(
            round(w * 0.05), round(h * 0.04), round(w * 0.74), max(8, work.h - 2 * round(h * 0.04))
        )
        img = desk.canvas()
        client = desk.window(img, win, "main.py - screencodec - Editor")
        draw = ImageDraw.Draw(img)
        self.font = desk.mono
        self.adv = max(1.0, self.font.getlength("M"))
        self.lh = max(2, round(px(14) * 1.45))
        side = round(client.w * 0.17) if client.w >= 500 else 0
        if side:
            draw.rectangle(
                (client.x, client.y, client.x + side - 1, client.bottom - 1), fill=(243, 243, 245)
            )
            for i, name in enumerate(
                (
                    "src/",
                    "  capture/",
                    "  codecs/",
                    "  damage/",
                    "main.py",
                    "README.md",
                    "setup.py",
                    "tests/",
                )
            ):
                draw.text(
                    (client.x + px(10), client.y + px(8) + i * px(22)),
                    name,
                    font=desk.sans,
                    fill=(70, 70, 80),
                )
        gutter_w = round(self.adv * 5) + px(8)
        pad = px(6)
        gx = client.x + side
        ty = client.y + pad
        self.tx = gx + gutter_w
        self.tw = max(1, client.right - pad - self.tx)
        self.rows = max(1, (client.bottom - pad - ty) // self.lh)
        self.ty = ty
        self.gx, self.gw = gx, gutter_w
        draw.rectangle((gx, client.y, gx + gutter_w - 1, client.bottom - 1), fill=GUTTER_BG)
        draw.rectangle((self.tx, client.y, client.right - 1, client.bottom - 1), fill=BG)
        self.base = desk.base(img)
        self.layout["window"] = win
        self.layout["text"] = Rect(self.tx, ty, self.tw, self.rows * self.lh)
        self.layout["gutter"] = Rect(gx, ty, gutter_w, self.rows * self.lh)

        cols = max(4, int(self.tw // self.adv) - 1)
        self.lines: list[list[Run]] = []
        for src in code_lines(rng, max(3 * self.rows, 150)):
            self.lines.extend(_split_runs(highlight(src), cols) if src else [[]])
        self.texts = ["".join(t for t, _ in runs) for runs in self.lines]
        # Typing a line costs its characters plus one keystroke for Enter (or the wrap).
        self.ends = np.cumsum([len(t) + 1 for t in self.texts])
        self.total = int(self.ends[-1])
        self.cycle = self.total + 60  # the finished file stays for a while
        burst = rng.choice(np.array([0, 1, 1, 1, 1, 1, 2, 2, 3]), 509)
        burst[rng.integers(0, 509, 6)] = 0
        for start in rng.integers(0, 480, 4):  # thinking pauses
            burst[start : start + int(rng.integers(8, 30))] = 0
        # Frame 0 finds the file a quarter to half written, as a session joined
        # mid-work would.
        start = int(rng.integers(self.total // 4, self.total // 2 + 1))
        self.sched = periodic_schedule(burst.astype(np.int64), start)
        self._strips = LRU(self._render_line, size=2 * self.rows + 8)
        self._numbers = LRU(self._render_number, size=2 * self.rows + 8)

    # -- state of frame i --------------------------------------------------------

    def typed(self, index: int, /) -> int:
        """Characters of the file typed by frame ``index``."""
        return min(cumulative(self.sched, index) % self.cycle, self.total)

    def caret(self, n: int, /) -> tuple[int, int]:
        """(line, column) of the caret after ``n`` characters."""
        line = int(np.searchsorted(self.ends, n, side="right"))
        if line >= len(self.texts):
            return len(self.texts) - 1, len(self.texts[-1])
        return line, n - (int(self.ends[line - 1]) if line else 0)

    def top(self, line: int, /) -> int:
        return max(0, line - self.rows + 1)

    # -- drawing -----------------------------------------------------------------

    def _render_line(self, line: int) -> Array:
        return render_runs(self.lines[line], self.font, self.tw, self.lh, BG)

    def _render_number(self, line: int) -> Array:
        label = f"{line + 1:>4}"
        return render_runs(
            [(label, GUTTER_FG)], self.font, self.gw, self.lh, GUTTER_BG, x=self.desk.px(4)
        )

    def _caret_x(self, line: int, col: int) -> int:
        x = round(self.font.getlength(self.texts[line][:col]))
        return min(x, max(0, self.tw - self.desk.px(2)))

    def draw(self, out: Array, index: int, /) -> None:
        n = self.typed(index)
        line, col = self.caret(n)
        top = self.top(line)
        for r in range(min(self.rows, line - top + 1)):
            k = top + r
            y = self.ty + r * self.lh
            out[y : y + self.lh, self.gx : self.gx + self.gw] = self._numbers[k]
            if not self.texts[k]:
                continue
            if k < line:
                out[y : y + self.lh, self.tx : self.tx + self.tw] = self._strips[k]
            else:
                xw = round(self.font.getlength(self.texts[k][:col]))
                out[y : y + self.lh, self.tx : self.tx + xw] = self._strips[k][:, :xw]
        typing = index > 0 and self.typed(index - 1) != n
        if typing or blink_on(self.time(index)):
            y = self.ty + (line - top) * self.lh
            x = self.tx + self._caret_x(line, col)
            out[y + 1 : y + self.lh - 1, x : x + self.desk.px(2), :3] = CARET[::-1]

    def changes(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        if index == 0:
            return None, []
        n0, n1 = self.typed(index - 1), self.typed(index)
        (l0, _), (l1, _) = self.caret(n0), self.caret(n1)
        t0, t1 = self.top(l0), self.top(l1)
        area = Rect(self.gx, self.ty, self.gw + self.tw, self.rows * self.lh)
        if t1 == t0 + 1 and l1 == l0 + 1 and self.rows >= 3:
            # The view scrolled by one line: all rows but the caret's old and new
            # ones moved up intact.
            src = Rect(area.x, self.ty + self.lh, area.w, (self.rows - 2) * self.lh)
            return Motion("scroll", src, 0, -self.lh), [area]
        if t0 != t1 or n1 < n0:
            return None, [area]
        r0, r1 = min(l0, l1) - t1, max(l0, l1) - t1
        return None, [Rect(area.x, self.ty + r0 * self.lh, area.w, (r1 - r0 + 1) * self.lh)]
