"""The session harness: its arithmetic, and one short real session through the
shaping proxy (host, sealed transport, viewer) that measures every change."""

from __future__ import annotations

import asyncio
import math
import threading

import numpy as np
import pytest

from screencodec.capture.replay import synthetic_sequence
from screencodec.encoder import ScreenEncoder
from screencodec.linkbench import parse_link, run_session, targets
from screencodec.linkbench import session as session_module
from screencodec.linkbench.metrics import (
    bgr_equal,
    busy_within,
    changed_frames,
    cpu_on_path,
    display_lags,
    psnr,
    union,
)
from screencodec.linkbench.session import _Probe


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
    # Views of larger frames (a crop) compare the same way.
    big_a, big_c = np.zeros((8, 12, 4), np.uint8), np.zeros((8, 12, 4), np.uint8)
    big_a[2:6, 3:9], big_c[2:6, 3:9] = a, c
    assert bgr_equal(big_a[2:6, 3:9], b) and not bgr_equal(big_a[2:6, 3:9], big_c[2:6, 3:9])


def test_probe_samples_into_buffers_faulted_in_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe copies a sampled framebuffer into a buffer that a thread of
    its own allocated and touched; while none is ready it skips the sample
    (and takes a later update) instead of allocating on the event loop, where
    fresh memory stalled host and viewer for tens of ms on the benchmark VM."""
    started: list[threading.Thread] = []

    class HeldThread(threading.Thread):
        def start(self) -> None:  # run only when the test says so
            started.append(self)

    monkeypatch.setattr(session_module.threading, "Thread", HeldThread)

    async def main() -> None:
        probe = _Probe(None, _frame(9), 10**9, loop=asyncio.get_running_loop(),  # type: ignore[arg-type]
                       sample_period=0.0, max_samples=2)  # fmt: skip
        fbs = [_frame(v) for v in range(5)]
        probe.on_decoded(0, 0.0, fbs[0])  # the first picture: a buffer is being prepared
        assert len(started) == 1
        probe.on_decoded(1, 0.0, fbs[1])
        assert probe.samples == {}  # not ready: skipped, nothing allocated here
        started.pop().run()
        spare = probe._spare
        assert spare is not None and spare.shape == fbs[0].shape
        probe.on_decoded(2, 0.0, fbs[2])
        assert list(probe.samples) == [2] and probe.samples[2] is spare
        assert bgr_equal(spare, fbs[2])
        assert len(started) == 1  # the next buffer is on its way
        started.pop().run()
        probe.on_decoded(3, 0.0, fbs[3])
        assert sorted(probe.samples) == [2, 3] and bgr_equal(probe.samples[3], fbs[3])
        assert started == []  # max_samples reached: no more buffers

    asyncio.run(main())


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


def test_the_cpu_share_of_a_lag_is_the_work_on_its_path_never_the_link() -> None:
    """A frame became current at 10.0 while the host still encoded another
    (until 10.2); its own encode ran 10.3-10.5, the loop stalled 10.5-10.55
    (the host sealing it), its decode ran 11.2-11.3 behind the viewer's
    decodes of earlier updates, and it was applied at 11.32. The viewer's
    work counts only from when its bytes could have arrived (flake48b)."""
    assert union([(1.0, 3.0), (2.0, 4.0), (5.0, 6.0), (7.0, 7.0)]) == [(1.0, 4.0), (5.0, 6.0)]
    assert busy_within(0.0, 5.5, [(1.0, 4.0), (5.0, 6.0)]) == pytest.approx(3.5)
    assert busy_within(4.5, 4.9, [(1.0, 4.0), (5.0, 6.0)]) == 0.0
    assert busy_within(3.0, 2.0, [(1.0, 4.0)]) == 0.0
    stalls = [(10.5, 10.55)]
    host = union([(9.5, 10.2), (10.3, 10.5), (11.0, 11.1), *stalls])
    viewer = union([(10.6, 10.9), (10.95, 11.0), (11.2, 11.3), *stalls])

    def cpu(arrival: float) -> float:
        return cpu_on_path(10.0, 10.5, 11.32, arrival_at_least=arrival, host_busy=host,
                           viewer_busy=viewer)  # fmt: skip

    # the encodes before it 0.2 and its own 0.2; the decodes 0.3 + 0.05 + its
    # own 0.1; the stall was in its time on the link (0.1 s): not counted
    assert cpu(10.6) == pytest.approx(0.85)
    # bytes that take until 10.8 to cross: the decode before that is the link's time
    assert cpu(10.8) == pytest.approx(0.65)
    # a link that takes no time: the stall after the encode counts
    assert cpu(10.5) == pytest.approx(0.9)


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
        # The CPU's share of each: never the link's own time (its delay).
        assert len(r.extra["lag_cpu_ms"]) == r.lag_samples
        assert all(c >= 0 for c in r.extra["lag_cpu_ms"])
        assert link.delay * 1000 <= r.extra["lag_net_p50_ms"] <= r.lag_p50_ms
        assert r.exact_ms is not None  # lossless: exact once the screen stops
        assert r.lossy_samples == 0 and r.psnr_db == math.inf
        assert r.psnr_samples >= 1  # the probe sampled framebuffers
        assert r.first_picture_ms > link.rtt * 1000  # consent + picture: round trips
        assert r.kbit_s > 0 and r.updates > 0
        assert r.ended.startswith("channel closed")  # we said bye and closed
        assert any(t.what.startswith("exact") for t in targets(r))

    asyncio.run(main())
