"""``video``: a film playing in a player window over an otherwise still desktop."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from PIL import ImageDraw

from ...geometry import Rect
from ._desktop import Desktop
from ._render import LRU, RGB, photo_texture, render_runs
from ._scenario import Array, Scenario

__all__ = ["VideoScenario"]

BAR_BG: RGB = (28, 28, 30)
BAR_FG: RGB = (230, 230, 230)
SCENE_S = 5.0  # a cut to the other shot every 5 s of synthetic time
_GRAIN_SLACK = 16


class VideoScenario(Scenario):
    """A player window of about a third of the screen: ``layout["video"]`` changes
    in every frame like camera footage (two photo-like shots alternating every
    5 s, each panning slowly, soft-edged objects drifting across, fresh film
    grain every frame); ``layout["controls"]`` (progress bar, time) changes once
    per second. A chat window and the wallpaper around it stay still.
    """

    name = "video"
    summary = "a video playing in a third of the screen; the rest is a still desktop"

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        super().__init__(desk, rng, fps)
        px, work = desk.px, desk.work
        img = desk.canvas()
        chat = Rect(px(16), px(16), max(8, round(work.w * 0.3)), max(8, round(work.h * 0.8)))
        desk.text_window(img, chat, "Team chat", rng)
        pw, ph = max(16, round(work.w * 0.58)), max(16, round(work.h * 0.62))
        win = Rect(max(0, work.w - pw - px(24)), max(0, (work.h - ph) // 3), pw, ph)
        client = desk.window(img, win, "holiday-2024.mp4 - Videos", body=(0, 0, 0))
        bar_h = min(px(36), max(1, client.h // 5))
        self.video = Rect(client.x, client.y, max(1, client.w), max(1, client.h - bar_h))
        self.controls = Rect(client.x, self.video.bottom, max(1, client.w), bar_h)
        draw = ImageDraw.Draw(img)
        draw.rectangle(
            (self.controls.x, self.controls.y, self.controls.right - 1, self.controls.bottom - 1),
            fill=BAR_BG,
        )
        self.base = desk.base(img)
        self.layout.update(window=win, video=self.video, controls=self.controls, chat=chat)

        vw, vh = self.video.w, self.video.h
        self.pan = max(4, vh // 6)
        # Textures stay inside [8, 247] so that grain in [-7, 7] can be added with
        # plain uint8 arithmetic: it never wraps, and needs no widening or clipping.
        self.shots = [
            photo_texture(vw + 2 * self.pan, vh + 2 * self.pan, rng, grain=3, lo=8, hi=247)
            for _ in range(2)
        ]
        # One bank of monochrome grain, a little larger than the video; each frame
        # reads it at a different (dx, dy), so consecutive frames get unrelated
        # grain. Stored per channel (padding 0) so the add is one contiguous op.
        mono = rng.integers(-7, 8, (vh + _GRAIN_SLACK, vw + _GRAIN_SLACK, 1), dtype=np.int8)
        grain = np.repeat(mono, 4, axis=2)
        grain[..., 3] = 0
        self.grain: npt.NDArray[np.uint8] = grain.view(np.uint8)
        size = max(2, vh // 4)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        d = np.hypot(yy - size / 2, xx - size / 2) / (size / 2)
        # Soft-edged discs blended in 8-bit fixed point: out = (p * (256 - a) + c * a) >> 8,
        # a convex mix, so values stay in the textures' [8, 247].
        alpha = (np.clip(1.3 - d, 0, 1) * 0.85 * 256).astype(np.uint16)[..., None]
        self.inv_alpha = 256 - alpha
        self.blobs: list[tuple[npt.NDArray[np.uint16], float, float, float, float]] = []
        for _ in range(3):
            bgr = rng.integers(8, 248, 3)[::-1].astype(np.uint16)
            self.blobs.append(
                (
                    bgr * alpha,
                    rng.uniform(40, 120),
                    rng.uniform(0, 1),
                    rng.uniform(30, 90),
                    rng.uniform(0, 1),
                )
            )
        self.phase = rng.uniform(0, 2 * math.pi, 2)
        self.duration = int(rng.integers(180, 3600))
        self._bars = LRU(self._render_bar, size=4)

    def _render_bar(self, second: int) -> Array:
        c, px = self.controls, self.desk.px
        label = f"{second // 60}:{second % 60:02d} / {self.duration // 60}:{self.duration % 60:02d}"
        strip = render_runs(
            [("\u25b6  " + label, BAR_FG)], self.desk.sans, c.w, c.h, BAR_BG, x=px(10)
        )
        x0 = min(c.w, px(170))
        frac = (second % self.duration) / self.duration
        y = c.h // 2
        strip[max(0, y - 1) : y + 2, x0 : c.w - px(10), :3] = 90
        strip[max(0, y - 1) : y + 2, x0 : x0 + int((c.w - px(10) - x0) * frac), :3] = (40, 90, 230)
        return strip

    def draw(self, out: Array, index: int, /) -> None:
        t = self.time(index)
        v = self.video
        shot = self.shots[int(t / SCENE_S) % 2]
        ox = self.pan + round(self.pan * math.sin(2 * math.pi * t / 7.0 + self.phase[0]))
        oy = self.pan + round(self.pan * math.sin(2 * math.pi * t / 5.3 + self.phase[1]))
        region = out[v.slices()]
        region[...] = shot[oy : oy + v.h, ox : ox + v.w]
        size = self.inv_alpha.shape[0]
        for tint, period_x, px0, period_y, py0 in self.blobs:
            # Each object bounces across the frame along a triangle wave.
            fx = abs(((t / period_x * 30 + px0) % 2) - 1)
            fy = abs(((t / period_y * 30 + py0) % 2) - 1)
            x = round(fx * max(0, v.w - size))
            y = round(fy * max(0, v.h - size))
            patch = region[y : y + size, x : x + size, :3]
            ph, pw = patch.shape[:2]
            mix = patch.astype(np.uint16)
            mix *= self.inv_alpha[:ph, :pw]
            mix += tint[:ph, :pw]
            mix >>= 8
            patch[...] = mix
        dy, dx = (index * 7) % _GRAIN_SLACK, (index * 11 + index // _GRAIN_SLACK) % _GRAIN_SLACK
        np.add(region, self.grain[dy : dy + v.h, dx : dx + v.w], out=region)
        out[self.controls.slices()] = self._bars[int(t)]

    def opaque(self, index: int, /) -> Rect:
        return self.video

    def changes(self, index: int, /) -> tuple[None, list[Rect]]:
        if index == 0:
            return None, []
        damage = [self.video]
        if int(self.time(index)) != int(self.time(index - 1)):
            damage.append(self.controls)
        return None, damage
