"""``idle``: nobody at the keyboard; only a caret blinks and the clock ticks."""

from __future__ import annotations

import numpy as np

from ...geometry import Rect
from ._desktop import Desktop, blink_on
from ._scenario import Array, Motion, Scenario

__all__ = ["IdleScenario"]


class IdleScenario(Scenario):
    """A document window and a second window, still. A caret
    (``layout["caret"]``) blinks about twice a second and the panel clock
    changes every second; every other pixel stays the same forever.
    """

    name = "idle"
    summary = "an idle desktop: a blinking caret and a clock ticking every second"

    def __init__(self, desk: Desktop, rng: np.random.Generator, fps: float, /) -> None:
        super().__init__(desk, rng, fps)
        px, work = desk.px, desk.work
        img = desk.canvas()
        other = Rect(
            round(work.w * 0.45),
            round(work.h * 0.3),
            max(8, round(work.w * 0.5)),
            max(8, round(work.h * 0.6)),
        )
        desk.text_window(img, other, "Release notes", rng)
        doc = Rect(
            round(work.w * 0.08),
            round(work.h * 0.08),
            max(8, round(work.w * 0.5)),
            max(8, round(work.h * 0.7)),
        )
        lh = px(20)
        client = desk.text_window(img, doc, "letter.odt - Writer", rng, reserve=lh + px(6))
        self.base = desk.base(img)
        # The caret waits at the start of an empty last line, as if the user had
        # pressed Enter at the end of the letter and walked away.
        y = max(client.y, client.bottom - px(10) - lh)
        self.caret = Rect(client.x + px(10), y, min(px(2), client.w), min(lh, client.h))
        self.layout.update(window=doc, caret=self.caret)

    def draw(self, out: Array, index: int, /) -> None:
        if blink_on(self.time(index)):
            out[self.caret.slices()][..., :3] = (40, 40, 40)

    def changes(self, index: int, /) -> tuple[Motion | None, list[Rect]]:
        if index > 0 and blink_on(self.time(index)) != blink_on(self.time(index - 1)):
            return None, [self.caret]
        return None, []
