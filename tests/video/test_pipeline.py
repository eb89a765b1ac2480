"""ScreenEncoder(video=True) -> ScreenDecoder, end to end, in simulated time."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.geometry import Rect
from screencodec.video.stage import DEFAULT_REFRESH_DELAY
from screencodec.wire import Op, OpView, VideoFlags, parse_update, split_message
from screencodec.wire.format import VIDEO_HEADER

from .helpers import exact_where, film, outside, psnr, text_desktop

#: A frame period that is exact in binary floating point, so the deadlines
#: below are not at the mercy of rounding.
STEP = 1 / 32


def ops_of(data: bytes) -> list[Op]:
    return [o.op for o in ops_of_views(data)]


def ops_of_views(data: bytes) -> list[OpView]:
    return list(parse_update(split_message(data)[1]).ops)


def test_video_scenario_psnr_and_exact_text_in_every_frame() -> None:
    """960x540 synthetic `video`: the video region reaches >= 35 dB at the default
    quality (chosen on the real-screen clip, where it gives ~40.7 dB on average;
    this film's grain is fresh noise in every frame, the hardest case), and
    everything outside the player's video is bit-exact in every frame."""
    src = SyntheticDesktop(960, 540, scenario="video")
    video = src.layout["video"]
    enc = ScreenEncoder(960, 540, video=True, integrity=True)
    dec = ScreenDecoder()
    still = outside((540, 960), video)
    psnrs = []
    for i in range(18):
        f = src.frame_at(i)
        fb = dec.decode(enc.encode(f, now=i * STEP))  # the hash is verified here
        assert np.array_equal(fb, enc.reference)
        assert exact_where(fb, f, still), f"text outside the video changed in frame {i}"
        regions = enc.video_stage.regions if enc.video_stage else []
        for r in regions:
            assert video.contains(r), f"{r} reaches outside the video {video}"
        if regions:
            psnrs.append(psnr(fb[video.slices()], f[video.slices()]))
    assert len(psnrs) >= 5, "the video was not detected within 13 frames"
    assert min(psnrs) >= 35.0, psnrs


def play(enc: ScreenEncoder, dec: ScreenDecoder, frames: list[np.ndarray], t0: float) -> None:
    for i, f in enumerate(frames):
        dec.decode(enc.encode(f, now=t0 + i * STEP))


@pytest.mark.parametrize("delay", [DEFAULT_REFRESH_DELAY, 0.1])
def test_lossless_refresh_within_the_delay_after_the_video_stops(delay: float) -> None:
    """A film that changed in every frame rests after a few of its own frame
    periods (at most ``refresh_delay``): that update sends it exactly; its
    stream is kept, quiet, until ``refresh_delay``, then dropped."""
    src = SyntheticDesktop(640, 360, scenario="video")
    enc = ScreenEncoder(640, 360, video=True, integrity=True, refresh_delay=delay)
    dec = ScreenDecoder()
    n = 16
    play(enc, dec, [src.frame_at(i).copy() for i in range(n)], 0.0)
    assert enc.video_stage is not None and enc.video_stage.regions, "video not detected"
    t_stop = (n - 1) * STEP  # the last frame that changed
    deadline = enc.video_stage.deadline
    assert deadline is not None and t_stop < deadline <= t_stop + delay
    if delay == DEFAULT_REFRESH_DELAY:
        assert deadline < t_stop + delay, "a steady film waited the whole refresh_delay"
    last = src.frame_at(n - 1).copy()
    region = enc.video_stage.regions[0]
    i = n
    while True:
        now = i * STEP
        fb = dec.decode(data := enc.encode(last, now=now))
        if now >= deadline:
            break
        # Still lossy inside the region, exact outside, nothing re-sent.
        assert exact_where(fb, last, outside(last.shape, region))
        assert ops_of(data) == []
        i += 1
    assert now < deadline + STEP  # the first frame at or after the deadline
    assert np.array_equal(fb[..., :3], last[..., :3]), "not bit-exact after the refresh"
    assert enc.video_stage.playing == [] and enc.video_stage.stopped == [region]
    # It stays exact and quiet; the stream goes at refresh_delay.
    while True:
        now += STEP
        fb = dec.decode(data := enc.encode(last, now=now))
        assert ops_of(data) == [] and np.array_equal(fb[..., :3], last[..., :3])
        assert enc.video_stage.stopped == []
        if now - t_stop >= delay:
            break
        assert enc.video_stage.regions == [region]
    assert enc.video_stage.regions == []


def test_a_film_that_goes_on_after_its_rest_goes_on_with_a_p_picture() -> None:
    """A pause long enough to rest (the region is sent exactly) but shorter
    than ``refresh_delay``: the next frame of the film is a P picture of the
    same stream, not a new stream and an IDR, painted over the exact pixels
    in step with the encoder's reference (the hash is checked)."""
    src = SyntheticDesktop(640, 360, scenario="video")
    enc = ScreenEncoder(640, 360, video=True, integrity=True)
    dec = ScreenDecoder()
    n = 16
    play(enc, dec, [src.frame_at(i).copy() for i in range(n)], 0.0)
    stage = enc.video_stage
    assert stage is not None and stage.regions, "video not detected"
    last = src.frame_at(n - 1).copy()
    now = (n - 1) * STEP
    while stage.playing:
        now += STEP
        fb = dec.decode(enc.encode(last, now=now))
    assert np.array_equal(fb[..., :3], last[..., :3]), "not exact at rest"
    region = stage.regions[0]
    frame = src.frame_at(n).copy()
    data = enc.encode(frame, now=now + STEP)
    fb = dec.decode(data)
    videos = [o for o in ops_of_views(data) if o.op is Op.VIDEO]
    assert [o.rect for o in videos] == [stage._regions[0].coded]
    _, flags, _, _ = VIDEO_HEADER.unpack_from(videos[0].payload)
    assert not flags & VideoFlags.IDR
    assert stage.playing == [region]
    assert np.array_equal(fb, enc.reference)
    assert exact_where(fb, frame, outside(frame.shape, region))
    assert psnr(fb[region.slices()], frame[region.slices()]) > 30


def scene(bg: np.ndarray, rect: Rect, index: int) -> np.ndarray:
    f = bg.copy()
    f[rect.slices()] = film(rect.w, rect.h, index)
    return f


def test_video_window_moved_and_resized_never_corrupts_the_picture() -> None:
    bg = text_desktop(640, 360)
    phases = [Rect(40, 40, 256, 192), Rect(300, 120, 256, 192), Rect(300, 120, 320, 224)]
    enc = ScreenEncoder(640, 360, video=True, integrity=True)
    dec = ScreenDecoder()
    i, seen = 0, []
    for rect in phases:
        for _ in range(22):
            f = scene(bg, rect, i)
            fb = dec.decode(enc.encode(f, now=i * STEP))
            assert enc.video_stage is not None
            regions = enc.video_stage.regions
            assert np.array_equal(fb, enc.reference)
            # Exact wherever no video region is; no garbage inside one.
            assert exact_where(fb, f, outside(f.shape, *regions))
            for r in regions:
                assert psnr(fb[r.slices()], f[r.slices()]) > 30
            i += 1
        seen.append(list(enc.video_stage.regions))
    assert seen == [[p] for p in phases], "each window position became one region"
    last = scene(bg, phases[-1], i - 1)
    for k in range(12):
        fb = dec.decode(enc.encode(last, now=(i + k) * STEP))
    assert np.array_equal(fb[..., :3], last[..., :3])


def test_keyframe_request_restarts_every_stream_with_an_idr() -> None:
    bg = text_desktop(320, 240)
    rect = Rect(32, 24, 192, 128)
    enc = ScreenEncoder(320, 240, video=True, integrity=True)
    dec = ScreenDecoder()
    for i in range(14):
        dec.decode(enc.encode(scene(bg, rect, i), now=i * STEP))
    assert enc.video_stage is not None and enc.video_stage.regions == [rect]
    enc.request_keyframe()
    data = enc.encode(scene(bg, rect, 14), now=14 * STEP)
    update = parse_update(split_message(data)[1])
    assert update.keyframe
    video = [o for o in update.ops if o.op is Op.VIDEO]
    assert len(video) == 1 and video[0].payload[1] & 1  # IDR
    late = ScreenDecoder()  # a viewer joining at the keyframe
    assert np.array_equal(late.decode(data), enc.reference)
    assert np.array_equal(dec.decode(data), enc.reference)
    for i in range(15, 18):
        data = enc.encode(scene(bg, rect, i), now=i * STEP)
        assert np.array_equal(late.decode(data), dec.decode(data))


def test_chroma_420_end_to_end() -> None:
    bg = text_desktop(320, 240)
    rect = Rect(32, 24, 192, 128)
    enc = ScreenEncoder(320, 240, video=True, video_chroma="420", integrity=True)
    dec = ScreenDecoder()
    for i in range(14):
        f = scene(bg, rect, i)
        fb = dec.decode(enc.encode(f, now=i * STEP))
        assert exact_where(fb, f, outside(f.shape, rect))
    assert enc.video_stage is not None and enc.video_stage.options.chroma == "420"
    assert enc.video_stage.regions == [rect]
    assert psnr(fb[rect.slices()], f[rect.slices()]) > 35


def test_injected_clock_drives_the_refresh() -> None:
    t = [0.0]
    bg = text_desktop(320, 240)
    rect = Rect(32, 24, 192, 128)
    enc = ScreenEncoder(320, 240, video=True, clock=lambda: t[0])
    for i in range(14):
        t[0] = i * STEP
        enc.encode(scene(bg, rect, i))
    assert enc.video_stage is not None and enc.video_stage.regions
    t[0] += 10.0
    enc.encode(scene(bg, rect, 13))
    assert enc.video_stage.regions == []
    assert np.array_equal(enc.reference[..., :3], scene(bg, rect, 13)[..., :3])


def test_video_option_values() -> None:
    assert ScreenEncoder(64, 64).video_stage is None
    assert ScreenEncoder(64, 64, video=False).video_stage is None
    assert ScreenEncoder(64, 64, video="auto").video_stage is not None  # av is installed


def photo_page_scrolled(bg: np.ndarray, view: Rect, page: np.ndarray, top: int) -> np.ndarray:
    f = bg.copy()
    f[view.slices()] = page[top : top + view.h]
    return f


def test_scrolled_photos_are_copied_not_taken_for_video() -> None:
    """A page of photos flung at 48 px per frame changes every tile of its
    viewport in every frame, like a video; but the motion stage explains it
    with COPY ops, and the video stage sees only the damage the copies leave
    (the 48-px strip each frame reveals, too small for a region), so the page
    stays lossless. (Judged on the pre-copy tile boxes, the bottom of the
    viewport became a video region.)"""
    bg = text_desktop(640, 360)
    view = Rect(64, 16, 448, 340)
    dy, n = 48, 30
    page = film(view.w, view.h + dy * n, 0)  # one still picture, grain and all
    enc = ScreenEncoder(640, 360, video=True, integrity=True)
    dec = ScreenDecoder()
    copies = 0
    for i in range(n):
        f = photo_page_scrolled(bg, view, page, dy * i)
        ops = ops_of(data := enc.encode(f, now=i * STEP))
        fb = dec.decode(data)
        assert enc.video_stage is not None
        assert enc.video_stage.regions == [], f"frame {i} became video"
        assert Op.VIDEO not in ops
        assert np.array_equal(fb[..., :3], f[..., :3])
        copies += Op.COPY in ops
    assert copies == n - 1  # every frame after the keyframe scrolls by a copy


def test_video_regions_are_not_searched_for_moves() -> None:
    """With a video region active the motion stage leaves its damage alone."""
    src = SyntheticDesktop(640, 360, scenario="video")
    enc = ScreenEncoder(640, 360, video=True)
    assert enc.motion_stage is not None and enc.video_stage is not None
    searched = []
    for i in range(24):
        active = bool(enc.video_stage.regions)
        enc.encode(src.frame_at(i), now=i * STEP)
        m = enc.motion_stage.last
        if active:
            searched.append(m.groups + m.skipped + m.candidates)
    assert len(searched) >= 8, "the video was not detected"
    assert searched == [0] * len(searched)


@pytest.mark.parametrize(
    ("rect", "chroma"),
    [
        (Rect(33, 21, 193, 131), "444"),  # odd both ways: grown right and down
        (Rect(127, 21, 193, 131), "420"),  # ends at the frame's right edge: grown left
        (Rect(40, 109, 192, 131), "444"),  # ends at the bottom edge: grown up
    ],
)
def test_odd_sized_video_is_video_to_its_last_pixel_and_exact_beside_it(
    rect: Rect, chroma: Literal["444", "420"]
) -> None:
    """The region is the odd rect itself; its picture is grown by a column /
    row, which goes exactly again after every picture: the text beside the
    video is exact in every frame and no pixel of the film goes lossless."""
    bg = text_desktop(320, 240)
    enc = ScreenEncoder(320, 240, video=True, integrity=True, video_chroma=chroma)
    dec = ScreenDecoder()
    for i in range(8):
        f = scene(bg, rect, i)
        data = enc.encode(f, now=i * STEP)
        fb = dec.decode(data)  # hash verified
        assert np.array_equal(fb, enc.reference)
        assert exact_where(fb, f, outside(f.shape, rect)), f"frame {i}"
        assert enc.video_stage is not None
        if i == 0:
            continue
        assert enc.video_stage.regions == [rect], f"frame {i}"
        ops = parse_update(split_message(data)[1]).ops
        (video,) = [o for o in ops if o.op is Op.VIDEO]
        v = video.rect
        assert v.w % 2 == 0 and v.h % 2 == 0 and v.contains(rect)
        assert (v.w - rect.w, v.h - rect.h) == (rect.w % 2, rect.h % 2)
        # Nothing inside the film is sent losslessly; only the pad beside it.
        for o in ops:
            if o.op is not Op.VIDEO:
                assert o.rect.intersection(rect).is_empty(), o
    # Still: refreshed to exact.
    for k in range(12):
        fb = dec.decode(enc.encode(f, now=(8 + k) * STEP))
    assert np.array_equal(fb[..., :3], f[..., :3])


def test_odd_region_after_a_keyframe_request_serves_a_late_joiner() -> None:
    """A keyframe restarts the odd region's stream with an IDR and sends its
    pad exactly: a viewer joining there is exact outside the film at once."""
    bg = text_desktop(320, 240)
    rect = Rect(31, 19, 161, 117)
    enc = ScreenEncoder(320, 240, video=True, integrity=True)
    dec = ScreenDecoder()
    for i in range(5):
        dec.decode(enc.encode(scene(bg, rect, i), now=i * STEP))
    assert enc.video_stage is not None and enc.video_stage.regions == [rect]
    enc.request_keyframe()
    f = scene(bg, rect, 5)
    data = enc.encode(f, now=5 * STEP)
    assert parse_update(split_message(data)[1]).keyframe
    late = ScreenDecoder()
    for d in (late, dec):
        fb = d.decode(data)  # hash verified
        assert np.array_equal(fb, enc.reference)
        assert exact_where(fb, f, outside(f.shape, rect))


def test_a_photo_shown_once_is_exact_after_the_refresh() -> None:
    """Clearly film at its first change goes as video at once; a photo that
    then stays still is dropped after ``refresh_delay`` and sent exactly."""
    bg = text_desktop(320, 240)
    rect = Rect(40, 30, 200, 150)
    photo = scene(bg, rect, 3)
    enc = ScreenEncoder(320, 240, video=True, integrity=True)
    dec = ScreenDecoder()
    dec.decode(enc.encode(bg, now=0.0))
    data = enc.encode(photo, now=STEP)
    assert Op.VIDEO in ops_of(data)
    dec.decode(data)
    now = STEP
    while enc.video_stage is not None and enc.video_stage.regions:
        now += STEP
        assert now < 1.0, "the still photo stayed a video region"
        fb = dec.decode(enc.encode(photo, now=now))
    assert np.array_equal(fb[..., :3], photo[..., :3])


def test_under_a_rate_a_stopped_film_is_refined_inside_its_own_pixels() -> None:
    """The lossy map's cells are 16 px; a film whose edges cut through them
    is refined pixel for pixel inside its bounds: no refinement op reaches
    the exact text around it (sent whole, those edge cells cost twice a
    film pixel), and the viewer ends bit-exact (the hash is checked)."""
    bg = text_desktop(320, 240)
    rect = Rect(33, 21, 201, 131)  # no edge on the 16-px grid
    enc = ScreenEncoder(320, 240, video=True, lossy=True, integrity=True)
    enc.set_rate(1e6)
    dec = ScreenDecoder()
    dec.decode(enc.encode(bg, now=0.0))
    for i in range(1, 12):
        dec.decode(enc.encode(scene(bg, rect, i), now=i * STEP))
    stage = enc.video_stage
    assert stage is not None and stage.playing, "the film was not found"
    region = stage.playing[0]
    assert rect.contains(region)
    last = scene(bg, rect, 11)
    now, refined = 11 * STEP, []
    while stage.playing or enc.lossy_area:
        now += STEP
        assert now < 5.0, f"{enc.lossy_area} pixels still lossy"
        data = enc.encode(last, now=now)
        fb = dec.decode(data)
        if not stage.playing:
            refined += [o.rect for o in ops_of_views(data)]
    assert refined, "nothing was refined"
    outside_film = [r for r in refined if not region.contains(r)]
    assert outside_film == []
    assert np.array_equal(fb[..., :3], last[..., :3])
