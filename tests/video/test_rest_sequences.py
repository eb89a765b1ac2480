"""A film that pauses, rests, goes on, moves, or meets a keyframe: ScreenEncoder
-> ScreenDecoder in simulated time, the hash checked in every update, and the
viewer's picture compared bit for bit with the screen once nothing is lossy."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.video.codec import VIDEO_HEADER
from screencodec.wire import Op, VideoFlags, parse_update, split_message

from .helpers import film, text_desktop

STEP = 1 / 32
W, H = 320, 240
BG = text_desktop(W, H)
#: Off the 16-px grid, odd sizes: its coded rect has a pad.
FILM = Rect(33, 21, 201, 131)

Frames = list[np.ndarray]


def scene(rect: Rect, index: int, cursor: Rect | None = None) -> np.ndarray:
    f = BG.copy()
    f[rect.slices()] = film(rect.w, rect.h, index)
    if cursor is not None:
        f[cursor.slices()] = (0, 0, 0, 0)
    return f


def differing(fb: np.ndarray, f: np.ndarray) -> int:
    """How many pixels differ in B, G or R: a channel at a time, since
    ``(fb[..., :3] != f[..., :3]).any(axis=2)`` (the strided views copied)
    costs several times as much, in nearly every update of this file."""
    differ = fb[..., 0] != f[..., 0]
    differ |= fb[..., 1] != f[..., 1]
    differ |= fb[..., 2] != f[..., 2]
    return int(np.count_nonzero(differ))


def play(n: int, start: int = 0, rect: Rect = FILM) -> Frames:
    return [scene(rect, start + i) for i in range(n)]


def hold(
    index: int, updates: int, rect: Rect = FILM, blink: Rect | None = None, period: int = 16
) -> Frames:
    """A paused film for ``updates`` updates; ``blink``: a cursor inside it
    shown every other ``period`` updates."""
    return [scene(rect, index, blink if (k // period) % 2 else None) for k in range(updates)]


def run(
    frames: Frames,
    rate: float | None,
    *,
    keyframe_at: int = -1,
    new_viewer: bool = False,
    chroma: Literal["444", "420"] = "444",
) -> tuple[ScreenEncoder, np.ndarray]:
    """Encode ``frames`` one per STEP, then the last one still until nothing
    is lossy or video; whenever nothing is, the viewer must show the frame
    exactly. At ``keyframe_at`` a keyframe is asked (``new_viewer``: by a new
    decoder, as a reconnect's viewer)."""
    enc = ScreenEncoder(
        W, H, video=True, lossy=rate is not None, integrity=True, video_chroma=chroma
    )
    if rate is not None:
        enc.set_rate(rate)
    dec = ScreenDecoder()
    stage = enc.video_stage
    assert stage is not None
    t = 0.0
    tail = [frames[-1]] * 60
    for i, f in enumerate(frames + tail):
        t += STEP
        if i == keyframe_at:
            enc.request_keyframe()
            if new_viewer:
                dec = ScreenDecoder()
        fb = dec.decode(enc.encode(f, now=t))
        if not stage.playing and not enc.lossy_area:
            diff = differing(fb, f)
            assert diff == 0, f"update {i}: nothing lossy, yet {diff} pixels differ"
            if i >= len(frames):
                break
    assert i >= len(frames), "the sequence ended while the film was never exact"
    assert not stage.regions or not stage.playing
    return enc, fb


RATES = [None, 1e6]


@pytest.mark.parametrize("rate", RATES)
def test_a_paused_film_with_a_blinking_cursor_inside_ends_exact(rate: float | None) -> None:
    cursor = Rect(100, 60, 2, 14)
    run(play(20) + hold(19, 96, blink=cursor, period=16), rate)
    run(play(20) + hold(19, 64, blink=cursor, period=6), rate)


@pytest.mark.parametrize("rate", RATES)
def test_a_slideshow_after_a_film_ends_exact(rate: float | None) -> None:
    frames = play(20)
    for k, updates in enumerate([16, 22, 32, 64, 19]):  # 0.5-2 s a slide
        frames += hold(100 + k, updates)
    run(frames, rate)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("pause", [2, 3, 4, 5, 6, 9])
def test_a_film_going_on_around_its_rest_ends_exact(rate: float | None, pause: int) -> None:
    """Pauses of 2-9 updates: before, at and after the rest (3-4 updates for
    a film of one change an update), and before refresh_delay (9.6)."""
    run(play(20) + hold(19, pause) + play(10, 20) + hold(29, 2) + play(4, 30), rate)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("pause", [0, 3, 5, 8])
@pytest.mark.parametrize("to", [Rect(81, 61, 201, 131), Rect(33, 21, 161, 101)])
def test_a_film_that_moves_or_shrinks_ends_exact(rate: float | None, pause: int, to: Rect) -> None:
    """The window moves (or shrinks) right away, while resting, or while its
    pixels are being refined: the old region's pixels that the new one does
    not cover were painted by its last pictures, and must go exact too."""
    run(play(20) + hold(19, pause) + play(20, 20, rect=to), rate)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("at", [21, 23, 25, 27])
@pytest.mark.parametrize("new_viewer", [False, True])
def test_a_keyframe_while_the_film_rests_then_it_goes_on(
    rate: float | None, at: int, new_viewer: bool
) -> None:
    """A keyframe (a viewer that lost sync, or a new one) in the updates
    around the rest: the film's next picture is an IDR a new decoder takes."""
    run(play(20) + hold(19, 10) + play(10, 20), rate, keyframe_at=at, new_viewer=new_viewer)


@pytest.mark.parametrize("rate", RATES)
def test_in_4_2_0_a_film_going_on_then_moving_ends_exact(rate: float | None) -> None:
    """The same in 4:2:0 (half-resolution chroma: the region's odd edges and
    the pad): it goes on after its rest, pauses, then moves."""
    frames = play(20) + hold(19, 4) + play(10, 20) + hold(29, 5)
    run(frames + play(20, 30, rect=Rect(81, 61, 201, 131)), rate, chroma="420")


#: A caret inside the film (2x14 px: 0.1 % of it), and its blink half-periods
#: in updates: 0.125, 0.19 and 0.28 s, all under refresh_delay (0.3 s).
CARET = Rect(100, 60, 2, 14)
BLINKS = [4, 6, 9]


def idrs(data: bytes) -> int:
    ops = parse_update(split_message(data)[1]).ops
    flags = [VIDEO_HEADER.unpack_from(o.payload)[1] for o in ops if o.op is Op.VIDEO]
    return sum(1 for f in flags if f & VideoFlags.IDR)


def spinner(frames: Frames, at: Rect) -> Frames:
    """A 24x24 spinner at ``at`` that turns in every update (2.2 % of FILM)."""
    ys, xs = np.mgrid[0 : at.h, 0 : at.w]
    octant = (np.arctan2(ys - at.h / 2, xs - at.w / 2) * 4 / np.pi).astype(int)
    out = []
    for k, frame in enumerate(frames):
        f = frame.copy()
        f[at.slices()][(octant + k) % 8 == 0] = (255, 128, 0, 0)
        out.append(f)
    return out


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("period", [*BLINKS, 0])
def test_a_paused_film_with_a_caret_blinking_faster_than_the_rest_goes_exact(
    rate: float | None, period: int
) -> None:
    """The caret changes the film more often than refresh_delay, so a rule
    of stillness alone never rests it: its changes are too small to be the
    film's. The viewer is exact within a few updates of the pause (more
    under a rate: the refinement) and stays exact while the caret blinks on.
    ``period`` 0: a spinner turning in every update over the film, instead."""
    if period:
        frames = play(20) + hold(19, 120, blink=CARET, period=period)
    else:
        frames = play(20) + spinner(hold(19, 120), Rect(150, 90, 24, 24))
    enc = ScreenEncoder(W, H, video=True, lossy=rate is not None, integrity=True)
    if rate is not None:
        enc.set_rate(rate)
    dec = ScreenDecoder()
    stage = enc.video_stage
    assert stage is not None
    first = None
    for i, f in enumerate(frames):
        fb = dec.decode(enc.encode(f, now=(i + 1) * STEP))
        exact = not stage.playing and not enc.lossy_area
        if i < 20:
            continue  # exact before the film is found: not what is asked
        if exact:
            diff = differing(fb, f)
            assert diff == 0, f"update {i}: nothing lossy, yet {diff} pixels differ"
            first = i if first is None else first
        elif first is not None:
            raise AssertionError(f"update {i}: lossy again after exact at {first}")
    limit = 6 if rate is None else 20
    assert first is not None and first - 20 <= limit, f"exact at {first}, the pause at 20"


@pytest.mark.parametrize("period", BLINKS)
def test_a_playing_film_with_a_caret_blinking_stays_one_video_stream(period: int) -> None:
    """The same caret over a film that plays: every picture changes far
    more than the caret, so the region plays on, one stream, one IDR."""
    frames = [scene(FILM, i, CARET if (i // period) % 2 else None) for i in range(90)]
    enc = ScreenEncoder(W, H, video=True, integrity=True)
    dec = ScreenDecoder()
    stage = enc.video_stage
    assert stage is not None
    keys = 0
    for i, f in enumerate(frames):
        data = enc.encode(f, now=(i + 1) * STEP)
        dec.decode(data)
        keys += idrs(data)
        if i >= 20:
            assert stage.playing == [FILM], f"update {i}: playing {stage.playing}"
    assert keys == 1
