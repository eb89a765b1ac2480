"""The session harness: its arithmetic, and one short real session through the
shaping proxy (host, sealed transport, viewer) that measures every change."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from screencodec.capture.replay import synthetic_sequence
from screencodec.encoder import ScreenEncoder
from screencodec.linkbench import parse_link, run_session, targets
from screencodec.linkbench.metrics import bgr_equal, changed_frames, display_lags, psnr


def _frame(value: int, pad: int = 0) -> np.ndarray:
    f = np.full((4, 6, 4), value, np.uint8)
    f[..., 3] = pad
    return f


def test_pixel_comparisons_ignore_the_padding_byte() -> None:
    a, b = _frame(10, pad=0), _frame(10, pad=255)
    assert bgr_equal(a, b)
    assert psnr(a, b) == math.inf
    c = _frame(10)
    c[1, 2, 1] = 11
    assert not bgr_equal(a, c)
    mse = 1 / (4 * 6 * 3)
    assert psnr(a, c) == pytest.approx(10 * math.log10(255**2 / mse))


def test_changed_frames_compares_each_frame_with_the_previous_one() -> None:
    frames = [_frame(1), _frame(1, pad=9), _frame(2), _frame(2), _frame(3)]
    changed, last = changed_frames(iter(frames))
    assert changed == [2, 4]
    assert last is not None and bgr_equal(last, frames[-1])


def test_display_lag_runs_to_the_first_update_showing_that_frame_or_a_later_one() -> None:
    became = {1: 10.0, 2: 11.0, 3: 12.0, 5: 14.0, 7: 16.0}.__getitem__
    # (frame each applied update carries, time applied): frame 2 is never sent
    # on its own (the newer 3 covers it), 7 never arrives.
    shown = [(0, 9.0), (1, 10.5), (1, 10.9), (3, 12.25), (5, 15.0), (4, 15.5)]
    lags = display_lags([1, 2, 3, 5, 7], became, shown)
    assert lags.frames == [1, 2, 3, 5]
    assert lags.lag == [0.5, 1.25, 0.25, 1.0]
    assert lags.positions == [1, 3, 3, 4]
    assert lags.unshown == [7]


def test_a_short_session_measures_lag_for_every_changed_frame() -> None:
    link = parse_link("4M,40ms")
    frames = synthetic_sequence("typing", 320, 240, seconds=2.0, incremental=True)

    async def main() -> None:
        # Lossless, so that "exact" and "no lossy samples" are the expected outcome.
        session = run_session(frames, link, name="typing", settle=5, encoder_factory=ScreenEncoder)
        r = await asyncio.wait_for(session, 60)
        assert r.changes > 10
        assert r.unshown == 0
        assert r.lag_samples == r.changes  # one lag per changed frame
        assert r.extra["unmatched"] == 0  # every applied update traced to its frame
        # Every update crossed the link: no lag is shorter than the one-way delay.
        assert r.lag_p50_ms >= link.delay * 1000
        assert r.lag_p50_ms <= r.lag_p95_ms <= r.lag_max_ms
        assert r.exact_ms is not None  # lossless: exact once the screen stops
        assert r.lossy_samples == 0 and r.psnr_db == math.inf
        assert r.first_picture_ms > link.rtt * 1000  # consent + picture: round trips
        assert r.kbit_s > 0 and r.updates > 0
        assert r.ended.startswith("channel closed")  # we said bye and closed
        assert any(t.what.startswith("exact") for t in targets(r))

    asyncio.run(main())
