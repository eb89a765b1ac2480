"""live54: the synthetic desktop a host shares is paced by the clock and tells
its damage (LiveDesktop): frame int(t * fps), a hint that covers every
changed pixel, damage_pending from the truth. Before, one frame a grab: a
host ticking at 60 Hz played the 30 fps demo at twice its speed, and its
idle skip never applied (damage_pending None)."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.capture import LiveDesktop, SyntheticDesktop, open_source
from screencodec.capture.synthetic._live import MAX_SCAN


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _covered(hint: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x, y, w, h in hint:
        mask[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = True
    return mask


@pytest.mark.parametrize("scenario", ["typing", "drag", "idle", "terminal"])
def test_frames_follow_the_clock_and_hints_cover_every_change(scenario: str) -> None:
    clock = _Clock()
    live = LiveDesktop(SyntheticDesktop(160, 120, scenario=scenario, fps=30), clock=clock)
    ref = SyntheticDesktop(160, 120, scenario=scenario, fps=30)
    frame, hint = live.grab_hinted()
    assert hint is None  # the first grab: no hint
    assert np.array_equal(frame, ref.frame_at(0))
    prev = frame.copy()
    # Steps below, at and above a frame's 1/30 s: repeats and skips.
    for dt in [0.01, 0.01, 0.02, 0.05, 0.2, 0.0, 0.034, 1.0, 0.5]:
        clock.now += dt
        frame, hint = live.grab_hinted()
        index = int((clock.now - 100.0) * 30)
        assert np.array_equal(frame, ref.frame_at(index)), (scenario, index)
        assert hint is not None
        changed = (frame[..., :3] != prev[..., :3]).any(axis=2)
        assert not (changed & ~_covered(hint, changed.shape)).any(), (scenario, index)
        assert live.damage_found == (len(hint) > 0)
        prev = frame.copy()
    # The same frame again: an empty hint, nothing found.
    frame, hint = live.grab_hinted()
    assert hint is not None and len(hint) == 0 and live.damage_found is False


def test_a_stalled_grabber_gets_a_full_compare() -> None:
    clock = _Clock()
    live = LiveDesktop(SyntheticDesktop(160, 120, scenario="typing"), clock=clock)
    live.grab_hinted()
    clock.now += (MAX_SCAN + 5) / 30
    _, hint = live.grab_hinted()
    assert hint is None


def test_damage_pending_on_the_idle_scenario() -> None:
    clock = _Clock()
    live = LiveDesktop(SyntheticDesktop(160, 120, scenario="idle", fps=30), clock=clock)
    truth = SyntheticDesktop(160, 120, scenario="idle", fps=30)
    assert live.damage_pending() is True  # nothing shown yet
    live.grab_hinted()
    ref = truth.frame_at(0).copy()
    falses = trues = 0
    for _ in range(120):  # 4 s in steps of a frame
        clock.now += 1 / 30 + 1e-6
        index = int((clock.now - 100.0) * 30)
        differs = not np.array_equal(truth.frame_at(index), ref)
        pending = live.damage_pending()
        assert pending == differs, index
        # Asking changes nothing: the same answer again, and the grab shows it.
        assert live.damage_pending() == pending
        falses += not pending
        trues += pending
        frame, _ = live.grab_hinted()
        ref = frame.copy()
    # The caret blinks about twice a second, the clock ticks each second:
    # most frames change nothing, some do.
    assert falses > 80 and trues >= 8


def test_open_source_live_only_when_asked() -> None:
    plain = open_source("synthetic", width=160, height=120)
    assert isinstance(plain, SyntheticDesktop)  # benchmarks' next-frame-a-grab
    a = plain.grab().copy()
    assert not np.array_equal(plain.grab(), a) or plain.frame_index == 2
    live = open_source("synthetic", live=True, width=160, height=120, scenario="idle")
    assert isinstance(live, LiveDesktop)
    live.close()


def test_a_host_of_the_idle_scenario_skips_its_ticks_and_stays_exact() -> None:
    """A Host sharing the live idle desktop with a viewer over loopback TCP:
    most ticks grab nothing (``idle_skipped``: damage_pending False between
    the blinks; before live54 it was None and every tick grabbed and
    compared), and the viewer still ends on the desktop's frame."""
    import asyncio

    from transport.helpers import bgr_equal, run, until
    from transport.test_hub_hints import hosted

    opened: list[LiveDesktop] = []

    def factory(index: int) -> LiveDesktop:
        source = open_source("synthetic", live=True, width=160, height=120, scenario="idle")
        assert isinstance(source, LiveDesktop)
        opened.append(source)
        return source

    async def main() -> None:
        async with hosted(factory, 1) as (host, views):
            await until(lambda: views[0].framebuffer is not None, 20, "a first picture")
            (stream,) = [link.stream for link in host._runtime.links]
            grabs, skipped = host._runtime.hub.grabs, stream.idle_skipped
            await asyncio.sleep(2.0)
            # 2 s at 60 ticks: a few blinks and clock ticks grab, the rest skip.
            assert stream.idle_skipped - skipped >= 60, (stream.idle_skipped, skipped)
            assert host._runtime.hub.grabs - grabs <= 40, host._runtime.hub.grabs - grabs
            live = opened[0]
            await until(
                lambda: live.damage_pending() is False
                and bgr_equal(views[0].framebuffer, live.desktop.frame_at(live._shown)),
                10,
                "the viewer on the shown frame",
            )

    run(main(), 60)
