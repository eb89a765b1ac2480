"""The look every scenario shares: wallpaper, a panel with a clock, window chrome.

A :class:`Desktop` is built once per source. Scenarios draw their static
windows onto :meth:`Desktop.canvas` (a Pillow image of wallpaper + panel) and
keep the result as their base layer; per frame, only the clock is redrawn here.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from ...geometry import Rect
from ._render import RGB, Font, blank, font, photo_texture, render_runs, to_bgrx, words

__all__ = ["Desktop", "blink_on", "wrap"]

Array = npt.NDArray[np.uint8]

PANEL_BG: RGB = (32, 36, 44)
PANEL_FG: RGB = (225, 228, 235)
TITLE_BG: RGB = (222, 224, 228)
TITLE_FG: RGB = (40, 40, 48)
BORDER: RGB = (120, 124, 132)

#: A caret blinks with this half-period in seconds (GTK's default is 0.6 s on, 0.6 off;
#: Windows' 0.53 s), so it changes a few pixels about twice a second.
BLINK_S = 0.53


def blink_on(time_s: float, /) -> bool:
    """Whether a blinking caret is visible at ``time_s``."""
    return int(time_s / BLINK_S) % 2 == 0


def wrap(text: str, fnt: Font, width: int, /) -> list[str]:
    """Greedy word wrap of ``text`` to lines no wider than ``width`` px."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        cand = f"{line} {word}" if line else word
        if line and fnt.getlength(cand) > width:
            lines.append(line)
            line = word
        else:
            line = cand
    if line:
        lines.append(line)
    return lines


class Desktop:
    """Wallpaper + bottom panel (launcher, task buttons, clock) of one screen size.

    ``ui`` is the interface scale: 1 from about 1024x576 to 1920x1080, up to 2
    at 4K (as HiDPI desktops scale), and below 1 only for tiny screens.
    """

    def __init__(self, width: int, height: int, rng: np.random.Generator, /) -> None:
        self.width = width
        self.height = height
        s = min(width / 1920, height / 1080)
        if s >= 1:
            self.ui = min(2.0, s)
        elif width >= 1024 and height >= 576:
            self.ui = 1.0
        else:
            self.ui = max(0.3, 1.6 * s)
        self.panel_h = max(6, round(34 * self.ui))
        #: Everything above the panel: where windows live.
        self.work = Rect(0, 0, width, height - self.panel_h)
        self.panel = Rect(0, height - self.panel_h, width, self.panel_h)
        self.sans = font("sans", self.px(13))
        self.sans_bold = font("sans", self.px(13), bold=True)
        self.mono = font("mono", self.px(14))
        self.title_h = max(4, self.px(30))
        self._base_clock = int(rng.integers(8 * 3600, 18 * 3600))
        wallpaper = photo_texture(width, height, rng, grain=5)
        img = Image.fromarray(wallpaper[..., 2::-1].copy(), mode="RGB")
        self._draw_panel(img)
        self._image = img
        clock_w = max(4, min(width // 3, round(self.sans.getlength("00:00:00") + self.px(20))))
        self.clock = Rect(width - clock_w, self.panel.y, clock_w, self.panel_h)
        self._clock_cache: dict[int, Array] = {}

    def px(self, n: float, /) -> int:
        """``n`` pixels at 1080p, scaled to this screen (at least 1)."""
        return max(1, round(n * self.ui))

    def canvas(self) -> Image.Image:
        """A fresh Pillow image of the wallpaper and panel to draw windows on."""
        return self._image.copy()

    # -- panel and clock -------------------------------------------------------

    def _draw_panel(self, img: Image.Image) -> None:
        draw = ImageDraw.Draw(img)
        p = self.panel
        draw.rectangle((p.x, p.y, p.right - 1, p.bottom - 1), fill=PANEL_BG)
        draw.line((p.x, p.y, p.right, p.y), fill=(70, 76, 90))
        x = self.px(8)
        pad = self.px(5)
        draw.rounded_rectangle(
            (x, p.y + pad, x + p.h - 2 * pad, p.bottom - pad),
            radius=self.px(4),
            fill=(60, 120, 210),
        )
        x += p.h + self.px(6)
        for label in ("Files", "Terminal", "Browser", "Editor"):
            w = round(self.sans.getlength(label)) + self.px(16)
            draw.rounded_rectangle(
                (x, p.y + pad, x + w, p.bottom - pad), radius=self.px(3), fill=(48, 54, 66)
            )
            draw.text(
                (x + self.px(8), p.y + p.h // 2), label, font=self.sans, fill=PANEL_FG, anchor="lm"
            )
            x += w + self.px(6)

    def clock_text(self, time_s: float, /) -> str:
        t = (self._base_clock + int(time_s)) % 86400
        return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"

    def draw_clock(self, out: Array, time_s: float, /) -> None:
        """Draw the panel clock for ``time_s`` (it changes once per second)."""
        key = int(time_s)
        strip = self._clock_cache.get(key)
        if strip is None:
            if len(self._clock_cache) > 64:
                self._clock_cache.clear()
            c = self.clock
            strip = render_runs(
                [(self.clock_text(time_s), PANEL_FG)],
                self.sans,
                c.w,
                c.h,
                PANEL_BG,
                x=self.px(10),
            )
            # render_runs draws from the top; move the text to the panel's centre line.
            shift = max(0, (c.h - self.px(16)) // 2)
            strip = np.concatenate([blank(c.w, shift, PANEL_BG), strip[: c.h - shift]])
            self._clock_cache[key] = strip
        out[self.clock.slices()] = strip

    # -- windows ---------------------------------------------------------------

    def window(
        self,
        img: Image.Image,
        rect: Rect,
        title: str,
        /,
        *,
        body: RGB = (252, 252, 252),
    ) -> Rect:
        """Draw a window frame with a title bar; returns its client rect."""
        draw = ImageDraw.Draw(img)
        r = rect
        th = min(self.title_h, max(1, r.h // 3))
        draw.rectangle((r.x, r.y, r.right - 1, r.bottom - 1), fill=body, outline=BORDER)
        draw.rectangle((r.x, r.y, r.right - 1, r.y + th - 1), fill=TITLE_BG, outline=BORDER)
        draw.text(
            (r.x + self.px(10), r.y + th // 2),
            title,
            font=self.sans_bold,
            fill=TITLE_FG,
            anchor="lm",
        )
        rad = max(1, th // 4)
        for i, colour in enumerate(((236, 95, 90), (244, 190, 80), (98, 196, 84))):
            cx = r.right - self.px(16) - i * self.px(22)
            cy = r.y + th // 2
            draw.ellipse((cx - rad, cy - rad, cx + rad, cy + rad), fill=colour)
        return Rect(r.x + 1, r.y + th, max(0, r.w - 2), max(0, r.h - th - 1))

    def text_window(
        self,
        img: Image.Image,
        rect: Rect,
        title: str,
        rng: np.random.Generator,
        /,
        *,
        reserve: int = 0,
    ) -> Rect:
        """A window of wrapped prose (a document or a chat), for static backgrounds;
        the bottom ``reserve`` px of the client stay empty."""
        client = self.window(img, rect, title)
        draw = ImageDraw.Draw(img)
        pad = self.px(10)
        lh = self.px(20)
        y = client.y + pad
        colours: tuple[RGB, ...] = ((30, 30, 30), (30, 30, 30), (20, 90, 170), (120, 40, 40))
        while y + lh <= client.bottom - pad - reserve:
            para = words(rng, int(rng.integers(12, 40)))
            colour = colours[int(rng.integers(0, len(colours)))]
            for line in wrap(para, self.sans, client.w - 2 * pad):
                if y + lh > client.bottom - pad - reserve:
                    break
                draw.text((client.x + pad, y), line, font=self.sans, fill=colour)
                y += lh
            y += lh // 2
        return client

    def base(self, img: Image.Image, /) -> Array:
        """``img`` (a finished canvas) as the scenario's BGRX base layer."""
        return to_bgrx(img)
