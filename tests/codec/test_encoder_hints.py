"""Damage hints (``encode(hint=...)``): compares only where the platform says
the screen changed, byte for byte the same update when the hint covers every
change, and never a stale picture for long when it does not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.damage import tile_diff
from screencodec.damage.hints import SCAN_UPDATES, HintedDiff, hint_rects
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import FrameError, ScreencodecError

W, H = 640, 360


def frames(scenario: str, n: int) -> list[np.ndarray]:
    src = SyntheticDesktop(W, H, scenario=scenario, seed=5)
    return [src.frame_at(i).copy() for i in range(n)]


def encoder(**kw: object) -> ScreenEncoder:
    enc = ScreenEncoder(W, H, threads=1, history=True, **kw)  # type: ignore[arg-type]
    if enc.motion_stage is not None:
        # Detection stops at a CPU-time budget: unbounded, both runs find the same moves.
        enc.motion_stage.budget = 60.0
    return enc


@pytest.mark.parametrize("scenario", ["typing", "terminal", "drag", "browser", "idle"])
def test_exact_hints_give_the_same_updates_and_compare_less(scenario: str) -> None:
    fs = frames(scenario, 40)
    # The real change of each frame in 16-px tiles: what XDamage reports at best.
    hints = [None] + [tile_diff(a, b, 16) for a, b in itertools.pairwise(fs)]
    plain, hinted = encoder(), encoder()
    dec = ScreenDecoder()
    rows = []
    for f, hint in zip(fs, hints, strict=True):
        a = plain.encode(f)
        b = hinted.encode(f.copy(), keep=True, hint=hint)
        assert a == b
        rows.append(hinted.last.compared_rows)
        assert np.array_equal(dec.decode(b)[..., :3], f[..., :3])
    assert rows[0] == H  # the keyframe
    if scenario in ("typing", "idle"):
        # A few glyph rows and the scan band, not the frame.
        assert sum(rows[1:]) < len(rows[1:]) * H / 2


def test_a_change_never_hinted_is_sent_when_the_scan_reaches_it() -> None:
    enc, dec = encoder(motion=False), ScreenDecoder()
    f = np.full((H, W, 4), 40, np.uint8)
    dec.decode(enc.encode(f.copy()))
    g = f.copy()
    y = H - 20  # the last tile row (tile 64): the scan's last band
    g[y : y + 3, 100:140, :3] = 250
    hd = HintedDiff(64)
    bands = [hd.bands(hint_rects([]), W, H) for _ in range(SCAN_UPDATES)]
    first = next(i for i, b in enumerate(bands) if any(y0 <= y < y1 for y0, y1 in b))
    for i in range(SCAN_UPDATES):
        pic = dec.decode(enc.encode(g, hint=[]))
        exact = np.array_equal(pic[..., :3], g[..., :3])
        assert exact == (i >= first), i
        assert enc.last.compared_rows < H
    assert 0 < first < SCAN_UPDATES


@pytest.mark.parametrize("keep", [False, True], ids=["copied", "given-up"])
@pytest.mark.parametrize("rate", [None, 50_000_000])
def test_a_change_hinted_one_update_late_is_sent_then(keep: bool, rate: int | None) -> None:
    # Drawn between the damage taken and the grab: the frame shows it, the
    # hint of the next update names it. A frame given up (keep=True) must not
    # become the reference (or, under a rate, the shadow) then: it holds a
    # change the update did not send, and the next compare would find none.
    enc, dec = encoder(motion=False, lossy=rate is not None), ScreenDecoder()
    if rate:
        enc.set_rate(rate, interval=1 / 30)
    f = np.full((H, W, 4), 40, np.uint8)
    dec.decode(enc.encode(f.copy(), now=0.0))
    g = f.copy()
    g[10:20, 300:330, :3] = 7
    # rows 10-20 are in the scan's first band: start the scan elsewhere
    enc._hinted._scan = 3
    pic = dec.decode(enc.encode(g.copy(), keep=keep, hint=[], now=0.1))
    assert not np.array_equal(pic[..., :3], g[..., :3])
    enc._hinted._scan = 3
    pic = dec.decode(enc.encode(g.copy(), keep=keep, hint=[(300, 10, 30, 10)], now=0.2))
    assert np.array_equal(pic[..., :3], g[..., :3])


def test_hints_are_not_used_while_a_lossy_picture_awaits_refinement() -> None:
    pytest.importorskip("av")
    src = SyntheticDesktop(W, H, scenario="browser", seed=5)
    enc, dec = ScreenEncoder(W, H, threads=1, lossy=True, motion=False), ScreenDecoder()
    enc.set_rate(200_000, interval=1 / 30)
    f = src.frame_at(0).copy()
    for i in range(3):
        dec.decode(enc.encode(f, now=i / 30))
    assert enc.lossy_area > 0  # photos went lossy under the rate
    enc.set_rate(None)
    # Nothing changed on screen, yet the viewer's picture is not the frame.
    pic = dec.decode(enc.encode(f, now=1.0, hint=[]))
    assert enc.last.compared_rows == H
    assert np.array_equal(pic[..., :3], f[..., :3])
    assert enc.lossy_area == 0


def test_hints_are_not_used_while_a_video_region_is_shown() -> None:
    pytest.importorskip("av")
    src = SyntheticDesktop(W, H, scenario="video")
    enc = ScreenEncoder(W, H, threads=1, video=True, motion=False)
    assert enc.video_stage is not None
    fs = [src.frame_at(i).copy() for i in range(41)]
    for i in range(40):
        hint = None if i == 0 else tile_diff(fs[i - 1], fs[i], 16)
        enc.encode(fs[i], now=i / 32, hint=hint)
        if enc.video_stage.regions:
            break
    assert enc.video_stage.regions
    enc.encode(fs[i + 1], now=(i + 1) / 32, hint=[])
    assert enc.last.compared_rows == H


@pytest.mark.parametrize(
    "hint",
    [
        [(0, 0, 10)],
        [[0.5, 0, 10, 10]],
        [(0, 0, -1, 10)],
        "rects",
        [(0, 0, 10, 10), (1, 2)],
        np.zeros((2, 4, 1), np.int32),
        np.array([[2**64 - 1, 0, 1, 1]], np.uint64),
        type("Broken", (), {"__array__": lambda self, *a, **k: 1 / 0})(),
    ],
)
def test_a_malformed_hint_is_a_frame_error_before_anything_changes(hint: object) -> None:
    enc = encoder()
    f = frames("typing", 2)
    enc.encode(f[0])
    seq = enc.last.sequence
    with pytest.raises(FrameError) as err:
        enc.encode(f[1], hint=hint)
    assert isinstance(err.value, ScreencodecError) and isinstance(err.value, ValueError)
    # The encoder is untouched: the next update is the same as without the bad call.
    other = encoder()
    other.encode(f[0])
    assert enc.encode(f[1]) == other.encode(f[1])
    assert enc.last.sequence == seq + 1


def test_rects_outside_the_frame_are_clipped_and_empty_ones_ignored() -> None:
    fs = frames("typing", 3)
    enc, dec = encoder(), ScreenDecoder()
    dec.decode(enc.encode(fs[0]))
    big = [(-1000, -1000, 5000, 5000), (W + 10, 0, 5, 5), (0, 0, 0, 7)]
    pic = dec.decode(enc.encode(fs[1], hint=big))
    assert np.array_equal(pic[..., :3], fs[1][..., :3])
    assert enc.last.compared_rows == H
    pic = dec.decode(enc.encode(fs[2], hint=np.empty((0, 4), np.int32)))
    assert enc.last.compared_rows == 64  # the scan band alone


def test_bands_cover_every_tile_row_within_the_scan_period() -> None:
    for height, tile in [(1080, 64), (1080, 16), (37, 64), (2160, 256), (64 * 40 + 1, 64)]:
        hd = HintedDiff(tile)
        seen = np.zeros(height, bool)
        for _ in range(SCAN_UPDATES):
            for y0, y1 in hd.bands(hint_rects([]), 100, height):
                assert y0 % tile == 0 and (y1 % tile == 0 or y1 == height)
                seen[y0:y1] = True
        assert seen.all(), (height, tile)
