"""``browser``: reading a long web page, scrolling smoothly with the wheel."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ...geometry import Rect
from ._desktop import Desktop, wrap
from ._render import LRU, RGB, blank, font, photo_texture, to_bgrx, words
from ._scenario import Array, Motion, Scenario, cumulative, periodic_schedule

__all__ = ["BrowserScenario"]

PAGE_BG: RGB = (255, 255, 255)
TEXT: RGB = (34, 34, 40)
LINK: RGB = (26, 95, 200)
HEAD: RGB = (20, 24, 32)
CHROME_BG: RGB = (235, 237, 241)
TRACK: RGB = (241, 241, 241)
THUMB: RGB = (180, 180, 184)
_PHOTOS = 5


class BrowserScenario(Scenario):
    """A maximised browser: tabs, toolbar and bookmarks fixed at the top
    (``layout["header"]``), a scrollbar on the right (``layout["scrollbar"]``,
    its thumb moves when the page scrolls) and the page viewport
    (``layout["content"]``), which scrolls by 3-12 px per frame (x2 at 4K) in
    bursts, with pauses and the odd scroll back up.

    The page is endless and never repeats text: block ``k`` (a heading, a
    paragraph, a callout, a code sample, a photo or a row of cards) is drawn from
    its own seed when it first scrolls into view. A scrolled frame's viewport is
    the previous one shifted by exactly the scroll offset.
    """

    name = "browser"
    summary = "a web page scrolling smoothly by 3-12 px per frame under a fixed toolbar"

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        super().__init__(desk, rng, fps)
        px = desk.px
        img = desk.canvas()
        win = desk.work
        client = desk.window(img, win, "Screen codecs: a field guide - Browser")
        draw = ImageDraw.Draw(img)
        header_h = min(px(76), max(1, client.h // 4))
        draw.rectangle(
            (client.x, client.y, client.right - 1, client.y + header_h - 1), fill=CHROME_BG
        )
        row = max(1, header_h // 2)
        draw.text(
            (client.x + px(10), client.y + row // 2),
            "\u2190  \u2192  \u21bb",
            font=font("sans", px(16)),
            fill=(90, 90, 100),
            anchor="lm",
        )
        url = Rect(
            client.x + px(100), client.y + px(6), max(1, client.w - px(160)), max(1, row - px(10))
        )
        draw.rounded_rectangle(
            (url.x, url.y, url.right, url.bottom),
            radius=px(12),
            fill=(255, 255, 255),
            outline=(200, 200, 205),
        )
        draw.text(
            (url.x + px(14), url.y + url.h // 2),
            "https://docs.example.org/guide/remote-display/codecs#scrolling",
            font=desk.sans,
            fill=(60, 60, 70),
            anchor="lm",
        )
        x = client.x + px(10)
        for mark in ("News", "Docs", "Issues", "Mail", "Calendar", "Wiki", "Maps"):
            draw.text(
                (x, client.y + row + row // 2), mark, font=desk.sans, fill=(70, 70, 80), anchor="lm"
            )
            x += round(desk.sans.getlength(mark)) + px(24)
        self.bar_w = min(px(14), max(1, client.w // 8))
        self.view = Rect(
            client.x,
            client.y + header_h,
            max(1, client.w - self.bar_w),
            max(1, client.h - header_h),
        )
        self.track = Rect(self.view.right, self.view.y, self.bar_w, self.view.h)
        draw.rectangle(
            (self.track.x, self.track.y, self.track.right - 1, self.track.bottom - 1), fill=TRACK
        )
        self.base = desk.base(img)
        self.layout.update(
            window=win,
            content=self.view,
            scrollbar=self.track,
            header=Rect(client.x, client.y, client.w, header_h),
        )
        self.thumb_h = max(px(24), self.track.h // 12)
        # Column of text, centred as on most sites.
        self.col_w = min(self.view.w - 2 * px(24), px(860))
        self.col_x = max(0, (self.view.w - self.col_w) // 2)
        self.col_w = max(1, self.col_w)
        self.seed = int(rng.integers(0, 2**62))
        self.photos = [photo_texture(self.col_w, px(420), rng) for _ in range(_PHOTOS)]
        self._tops = [0]
        # Enough blocks for a viewport full of the shortest kind, plus the ones
        # just scrolled past (the reader may scroll back).
        self._blocks = LRU(self._render_block, size=self.view.h // px(64) + 16)
        self._scroll_schedule(rng)

    def _scroll_schedule(self, rng: np.random.Generator) -> None:
        steps: list[int] = []
        while len(steps) < 900:
            kind = rng.random()
            if kind < 0.6:  # a flick of the wheel: steady scrolling down
                v, n = int(rng.integers(3, 13)), int(rng.integers(10, 45))
            elif kind < 0.85:  # reading
                v, n = 0, int(rng.integers(8, 40))
            else:  # back up a bit
                v, n = -int(rng.integers(3, 9)), int(rng.integers(5, 20))
            step = self.desk.px(abs(v)) if v else 0  # px() is for sizes: >= 1
            steps += [step if v >= 0 else -step] * n
        pattern = np.array(steps[:900], np.int64)
        pattern[0] = 0
        cum = np.cumsum(pattern)
        if cum[-1] <= 0:
            pattern[-1] += 1 - int(cum[-1])
        # Start far enough down that scrolling back up never passes the page top.
        start = int(rng.integers(0, 4 * self.view.h)) + max(0, -int(cum.min()))
        self.sched = periodic_schedule(pattern, start)

    def position(self, index: int, /) -> int:
        """Page offset (px) of the viewport's top row in frame ``index``."""
        return cumulative(self.sched, index)

    # -- the endless page -------------------------------------------------------------

    def _block_rng(self, k: int) -> tuple[np.random.Generator, int, int]:
        """The block's generator, kind and height: kind and height come first so
        the page layout is known without drawing anything."""
        rng = np.random.default_rng((self.seed, k))
        px = self.desk.px
        kind = int(rng.choice(6, p=[0.14, 0.42, 0.1, 0.1, 0.14, 0.1]))
        heights = (
            px(64),
            px(24) * int(rng.integers(3, 9)) + px(16),
            px(110),
            px(150),
            px(int(rng.integers(200, 420))),
            px(170),
        )
        return rng, kind, heights[kind]

    def _top(self, k: int) -> int:
        while len(self._tops) <= k + 1:
            self._tops.append(self._tops[-1] + self._block_rng(len(self._tops) - 1)[2])
        return self._tops[k]

    def _render_block(self, k: int) -> Array:
        rng, kind, h = self._block_rng(k)
        desk, px = self.desk, self.desk.px
        w = self.view.w
        if kind == 4:
            photo = self.photos[int(rng.integers(0, _PHOTOS))]
            out = blank(w, h, PAGE_BG)
            ph = min(h - px(16), photo.shape[0])
            pw = min(self.col_w, photo.shape[1])
            out[px(8) : px(8) + ph, self.col_x : self.col_x + pw] = photo[:ph, :pw]
            return out
        img = Image.new("RGB", (w, h), PAGE_BG)
        draw = ImageDraw.Draw(img)
        x0, x1 = self.col_x, self.col_x + self.col_w
        if kind == 0:
            draw.text(
                (x0, px(18)),
                words(rng, int(rng.integers(2, 7))).rstrip("."),
                font=font("sans", px(26), bold=True),
                fill=HEAD,
            )
        elif kind in (1, 2, 3):
            fnt = desk.mono if kind == 3 else font("sans", px(15))
            top, fill = px(4), TEXT
            if kind == 2:
                draw.rectangle(
                    (x0, px(8), x1, h - px(8)),
                    fill=(232, 242, 255),
                    outline=(120, 170, 230),
                    width=px(2),
                )
                top, fill = px(20), (20, 60, 120)
            elif kind == 3:
                draw.rectangle((x0, px(8), x1, h - px(8)), fill=(246, 246, 248))
                top, fill = px(20), (120, 40, 110)
            lines = wrap(" ".join(words(rng, 14) for _ in range(12)), fnt, self.col_w - px(32))
            y = top
            for line in lines:
                if y + px(24) > h - px(8):
                    break
                draw.text(
                    (x0 + (px(16) if kind != 1 else 0), y),
                    line,
                    font=fnt,
                    fill=LINK if kind == 1 and rng.random() < 0.08 else fill,
                )
                y += px(24)
        else:
            card_w = self.col_w // 3
            for i in range(3):
                colour = tuple(int(c) for c in rng.integers(90, 230, 3))
                cx = x0 + i * card_w
                draw.rounded_rectangle(
                    (cx + px(6), px(10), cx + card_w - px(6), h - px(40)),
                    radius=px(8),
                    fill=(colour[0], colour[1], colour[2]),
                )
                draw.text((cx + px(10), h - px(32)), words(rng, 3), font=desk.sans, fill=TEXT)
        return to_bgrx(img)

    # -- frames ----------------------------------------------------------------------

    def draw(self, out: Array, index: int, /) -> None:
        pos, v = self.position(index), self.view
        y, end = pos, pos + v.h
        k = 0
        # Find the first visible block; the page layout grows as the reader goes down.
        lo, hi = 0, 1
        while self._top(hi) <= y:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self._top(mid) <= y else (lo, mid)
        k = lo
        while y < end:
            top, bottom = self._top(k), self._top(k + 1)
            n = min(bottom, end) - y
            oy = v.y + (y - pos)
            out[oy : oy + n, v.x : v.right] = self._blocks[k][y - top : y - top + n]
            y += n
            k += 1
        t = self.track
        span = max(1, t.h - self.thumb_h)
        thumb_y = t.y + (pos * span // (40 * v.h)) % span
        out[thumb_y : thumb_y + self.thumb_h, t.x + 2 : t.right - 2, :3] = THUMB[::-1]

    def opaque(self, index: int, /) -> Rect:
        return self.view

    def changes(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        if index == 0:
            return None, []
        dy = self.position(index) - self.position(index - 1)
        if dy == 0:
            return None, []
        v = self.view
        motion = None
        if abs(dy) < v.h:
            # Scrolling down moves the page up: rows dy.. of the old viewport go to 0..
            src = Rect(v.x, v.y + max(dy, 0), v.w, v.h - abs(dy))
            motion = Motion("scroll", src, 0, -dy)
        return motion, [v, self.track]
