"""``drag``: a window dragged around over a photo wallpaper."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ...geometry import Rect
from ._desktop import Desktop
from ._render import to_bgrx
from ._scenario import Array, Motion, Scenario

__all__ = ["DragScenario"]


class DragScenario(Scenario):
    """A document window (``layout["window"]`` is where it is in frame 0) dragged
    by its title bar along a smooth seeded path, 0 to about 25 px per frame
    in x and y (x2 at 4K), with short stops where the user pauses. The wallpaper
    it uncovers is the photo-like desktop background (with icons). The pointer
    follows the grab point; :attr:`last_motion` is the window's move.
    """

    name = "drag"
    summary = "a window dragged over a photo-like wallpaper, revealing it"

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        super().__init__(desk, rng, fps)
        px = desk.px
        work = desk.work
        img = desk.canvas()
        draw = ImageDraw.Draw(img)
        # Desktop icons along the left edge, as file managers put them.
        for i, label in enumerate(("Home", "Projects", "Trash", "notes.txt", "report.pdf")):
            y = px(20) + i * px(90)
            if y + px(70) > work.bottom:
                break
            colour = tuple(int(c) for c in rng.integers(60, 220, 3))
            draw.rounded_rectangle(
                (px(28), y, px(76), y + px(44)),
                radius=px(6),
                fill=(colour[0], colour[1], colour[2]),
            )
            draw.text(
                (px(52), y + px(58)),
                label,
                font=desk.sans,
                fill=(255, 255, 255),
                anchor="mm",
                stroke_width=1,
                stroke_fill=(0, 0, 0),
            )
        self.base = desk.base(img)
        ww = max(8, min(work.w - 2, round(work.w * 0.42)))
        wh = max(8, min(work.h - 2, round(work.h * 0.5)))
        win_img = Image.new("RGB", (ww, wh))
        desk.text_window(win_img, Rect(0, 0, ww, wh), "notes.txt - Text Editor", rng)
        self.window = to_bgrx(win_img)
        self.ww, self.wh = ww, wh
        self.free_x = max(0, work.w - ww)
        self.free_y = max(0, work.h - wh)
        # Two incommensurate periods (in frames) give a path that does not retrace.
        self.px_ = rng.uniform(150, 260)
        self.py_ = rng.uniform(110, 200)
        self.phase = rng.uniform(0, 2 * math.pi, 2)
        self.grab_at = (min(ww - 1, px(120)), min(wh - 1, desk.title_h // 2))
        self.layout["window"] = self.rect(0)

    def _t(self, index: int) -> float:
        """Drag time: it stands still for 10 frames out of every 90 (the user pauses)."""
        cycles, rest = divmod(index, 90)
        return cycles * 80 + min(rest, 80)

    def rect(self, index: int, /) -> Rect:
        """Where the window is in frame ``index``."""
        t = self._t(index)
        fx = 0.5 + 0.5 * math.sin(2 * math.pi * t / self.px_ + self.phase[0])
        fy = 0.5 + 0.5 * math.sin(2 * math.pi * t / self.py_ + self.phase[1])
        return Rect(round(fx * self.free_x), round(fy * self.free_y), self.ww, self.wh)

    def draw(self, out: Array, index: int, /) -> None:
        out[self.rect(index).slices()] = self.window

    def opaque(self, index: int, /) -> Rect:
        return self.rect(index)

    def changes(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        if index == 0:
            return None, []
        a, b = self.rect(index - 1), self.rect(index)
        if a == b:
            return None, []
        return Motion("move", a, b.x - a.x, b.y - a.y), [a, b]

    def pointer(self, index: int, /) -> tuple[int, int]:
        r = self.rect(index)
        return r.x + self.grab_at[0], r.y + self.grab_at[1]
