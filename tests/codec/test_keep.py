"""``encode(frame, keep=True)``: a frame given up becomes the reference (or,
under a rate, the shadow) instead of being copied, and changes nothing on
the wire.

Each test runs the same frames through two encoders, one given every frame
with ``keep=True`` (captured into the buffer ``take_spare`` gave back, as a
host with fresh grabs would) and one with ``keep=False``, and asserts equal
updates byte for byte, a bit-exact viewer, and who holds which buffer.
Motion detection gets an unbounded time budget so both encoders find the
same moves whatever the machine's load.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.frames import Frame
from screencodec.motion import MotionStage
from screencodec.wire import Op

W, H = 480, 270


def same_bgr(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal(a[..., :3], b[..., :3])``, a channel at a time:
    array_equal copies the strided ``[..., :3]`` views whole, several times
    slower than comparing each channel (a large part of this file's CPU)."""
    return a.shape[:2] == b.shape[:2] and all(
        np.array_equal(a[..., c], b[..., c]) for c in range(3)
    )


def encoder(**kw: Any) -> ScreenEncoder:
    enc = ScreenEncoder(W, H, threads=1, **kw)
    if enc.motion_stage is not None:
        enc.motion_stage.budget = 60.0
    return enc


def frames(scenario: str, n: int = 30, seed: int = 3) -> list[Frame]:
    src = SyntheticDesktop(W, H, scenario=scenario, seed=seed)
    return [src.frame_at(i).copy() for i in range(n)]


def capture(enc: ScreenEncoder, f: Frame) -> Frame:
    """``f`` written into the buffer the encoder gave back (or a new one)."""
    buf = enc.take_spare()
    if buf is None:
        buf = np.empty_like(f)
    buf[...] = f
    return buf


def shares(a: Frame | None, b: Frame | None) -> bool:
    return a is not None and b is not None and np.shares_memory(a, b)


@pytest.mark.parametrize("scenario", ["terminal", "drag", "browser", "typing", "idle"])
@pytest.mark.parametrize("history", [False, True])
def test_kept_frames_give_the_same_updates_and_become_the_reference(
    scenario: str, history: bool
) -> None:
    kept, copied = encoder(history=history), encoder(history=history)
    dec = ScreenDecoder()
    spares: list[Frame] = []
    for i, f in enumerate(frames(scenario)):
        buf = capture(kept, f)
        if i >= 2:
            # From the third frame on, captures reuse what the encoder gave back.
            assert any(buf is s for s in spares)
        data = kept.encode(buf, keep=True, now=i / 20)
        assert data == copied.encode(f, now=i / 20), f"update {i} differs"
        # The frame itself is the reference now; the old one is the spare.
        assert shares(kept.reference, buf)
        spare = kept._spare
        assert spare is not None and not shares(spare, buf)
        spares.append(spare)
        dec.decode(data)
        assert same_bgr(dec.framebuffer, f), f"viewer wrong at {i}"
        assert same_bgr(kept.reference, copied.reference)


def test_a_kept_frame_under_a_rate_becomes_the_shadow() -> None:
    """Lossy under a rate: the viewer's picture stays the encoder's own, the
    frame becomes the shadow, and the updates are the same as when copied."""
    pytest.importorskip("av")
    kept, copied = encoder(lossy=True, history=True), encoder(lossy=True, history=True)
    for enc in (kept, copied):
        enc.set_rate(400_000, interval=1 / 20)
    dec = ScreenDecoder()
    lossy_seen = 0
    for i, f in enumerate(frames("drag", 40)):
        buf = capture(kept, f)
        data = kept.encode(buf, keep=True, now=i / 20)
        assert data == copied.encode(f, now=i / 20), f"update {i} differs"
        assert kept.quality is not None
        assert shares(kept.quality.shadow, buf)
        assert not shares(kept.reference, buf)
        assert not shares(kept._spare, kept.quality.shadow)
        assert not shares(kept._spare, kept.reference)
        dec.decode(data)
        assert same_bgr(dec.framebuffer, kept.reference)
        lossy_seen += kept.lossy_area > 0
    assert lossy_seen, "the rate never made anything lossy: the test tests nothing"
    # Unlimited again: one update makes the viewer exact, and the frame is the
    # reference once more.
    kept.set_rate(None)
    copied.set_rate(None)
    f = frames("drag", 41)[40]
    buf = capture(kept, f)
    assert kept.encode(buf, keep=True, now=2.0) == copied.encode(f, now=2.0)
    assert kept.lossy_area == 0 and shares(kept.reference, buf)


def test_with_video_regions_a_kept_frame_is_copied() -> None:
    """With a video stage but no region yet, the frame becomes the reference;
    once a region is found (its first picture included) the reference holds
    decoded video there, so the frame cannot be it. The updates are the same
    either way, and so is the reference: the copies a region's first update
    had not written are written then, outside its picture."""
    pytest.importorskip("av")
    kept, copied = encoder(video=True, history=True), encoder(video=True, history=True)
    dec = ScreenDecoder()
    adopted = regions = 0
    for i, f in enumerate(frames("video", 30)):
        buf = capture(kept, f)
        data = kept.encode(buf, keep=True, now=i / 20)
        assert data == copied.encode(f, now=i / 20), f"update {i} differs"
        assert same_bgr(kept.reference, copied.reference), i
        assert same_bgr(dec.decode(data), kept.reference), i
        video = kept.video_stage
        assert video is not None
        if video.regions or kept.last.ops.get(Op.VIDEO):
            regions += 1
            assert not shares(kept.reference, buf)
            assert kept._spare is buf  # not kept: the next capture may use it
        else:
            adopted += 1
            assert shares(kept.reference, buf)
    assert regions and adopted, (regions, adopted)


def test_a_region_found_while_a_chat_scrolls_gets_its_copies() -> None:
    """A region first found in an update whose COPY ops were not written into
    the reference (the frame was to replace it): the copies are written after
    all, outside the picture, as a copied encoder has them. The desktop: a
    video, and beside it a chat panel whose text scrolls."""
    pytest.importorskip("av")
    w, h = 960, 540  # the chat's tiles are not next to the video's: it is found
    vid = SyntheticDesktop(w, h, scenario="video", seed=3)
    term = SyntheticDesktop(w, h, scenario="terminal", seed=3)
    chat, text = vid.layout["chat"], term.layout["text"]
    kept, copied = (ScreenEncoder(w, h, threads=1, video=True) for _ in range(2))
    for enc in (kept, copied):
        assert enc.motion_stage is not None
        enc.motion_stage.budget = 60.0
    dec = ScreenDecoder()
    found_with_copies = 0
    for i in range(30):
        f = vid.frame_at(i).copy()
        f[chat.slices()] = term.frame_at(i + 8)[text.y : text.y + chat.h, text.x : text.x + chat.w]
        buf = capture(kept, f)
        had_regions = bool(kept.video_stage and kept.video_stage.regions)
        data = kept.encode(buf, keep=True, now=i / 20)
        assert data == copied.encode(f, now=i / 20), f"update {i} differs"
        assert same_bgr(kept.reference, copied.reference), i
        assert same_bgr(dec.decode(data), kept.reference), i
        ops = kept.last.ops
        if not had_regions and ops.get(Op.VIDEO) and ops.get(Op.COPY):
            found_with_copies += 1
    assert found_with_copies, "no region was found in an update with copies"


def test_with_integrity_a_kept_frame_is_copied() -> None:
    """The hash covers the reference's 4th bytes (255); a capture's may be 0."""
    kept, copied = encoder(integrity=True), encoder(integrity=True)
    dec = ScreenDecoder()
    for src in frames("terminal", 12):
        f = src.copy()
        f[..., 3] = 0
        buf = capture(kept, f)
        data = kept.encode(buf, keep=True)
        assert data == copied.encode(f)
        assert not shares(kept.reference, buf)
        dec.decode(data)  # verifies the hash


def test_the_reference_given_again_is_not_adopted_twice() -> None:
    """A host that reuses a very fresh grab passes the same array again: it
    is already the reference, so it is neither adopted again nor offered as
    a spare (a capture into it would overwrite the reference)."""
    enc = encoder()
    f0, f1 = frames("terminal", 2)
    buf = f1.copy()
    enc.encode(f0.copy(), keep=True)
    enc.encode(buf, keep=True)
    assert shares(enc.reference, buf)
    enc.take_spare()
    assert len(enc.encode(buf, keep=True)) == 24  # nothing changed
    assert enc.take_spare() is None
    assert shares(enc.reference, buf)
    # And a view of it (the reference read back) is no frame to keep either.
    view = np.asarray(enc.reference)
    enc.encode(view, keep=True)
    assert enc.take_spare() is None


@pytest.mark.parametrize("rate", [None, 400_000])
@pytest.mark.parametrize("kind", ["read-only", "row-strided"])
def test_frames_the_encoder_cannot_own_are_copied(kind: str, rate: int | None) -> None:
    if rate is not None:
        pytest.importorskip("av")
    enc, dec = encoder(lossy=rate is not None), ScreenDecoder()
    enc.set_rate(rate, interval=1 / 20)
    for i, f in enumerate(frames("drag", 6)):
        if kind == "read-only":
            g = f.copy()
            g.flags.writeable = False
        else:
            wide = np.zeros((H, W + 16, 4), np.uint8)
            wide[:, :W] = f
            g = wide[:, :W]
        dec.decode(enc.encode(g, keep=True, now=i / 20))
        assert not shares(enc.reference, g)
        assert enc.quality is None or not shares(enc.quality.shadow, g)
        spare = enc.take_spare()
        # Offered back only if a capture can write into it.
        assert spare is None if kind == "read-only" else spare is g
        assert same_bgr(dec.framebuffer, enc.reference)
        if rate is None:
            assert same_bgr(dec.framebuffer, f)


def test_a_converted_frame_is_owned_without_keep() -> None:
    """as_frame copies a Fortran-ordered frame once: that copy is the
    encoder's, so it becomes the reference even without keep."""
    enc, dec = encoder(), ScreenDecoder()
    for f in frames("terminal", 6):
        g = np.asfortranarray(f)
        dec.decode(enc.encode(g))
        assert not shares(enc.reference, g) and enc.reference.flags.c_contiguous
        assert same_bgr(dec.framebuffer, f)
    # A caller that gives nothing up is offered nothing: the buffer the copy
    # replaced is not held for it.
    assert enc.take_spare() is None


def test_motion_without_apply_leaves_the_reference_and_finds_the_same() -> None:
    fs = frames("terminal", 8)
    moved = 0
    for f0, f1 in itertools.pairwise(fs):
        rects = np.array([[0, 0, W, H]], np.int32)
        a, b = MotionStage(budget_ms=60_000), MotionStage(budget_ms=60_000)
        ref_a, ref_b = f0.copy(), f0.copy()
        ops_a, left_a = a.process(ref_a, f1, rects)
        ops_b, left_b = b.process(ref_b, f1, rects, apply=False)
        assert [(o.rect, o.payload) for o in ops_a] == [(o.rect, o.payload) for o in ops_b]
        assert np.array_equal(left_a, left_b)
        assert np.array_equal(ref_b, f0)
        if ops_a:
            moved += 1
            assert not np.array_equal(ref_a, f0)
    assert moved, "no scroll was found: the test tests nothing"


class Shot:
    """Like mss's ScreenShot: a bytearray behind ``__array_interface__``."""

    def __init__(self, raw: bytearray) -> None:
        self.raw = raw

    @property
    def __array_interface__(self) -> dict[str, Any]:
        return {"version": 3, "shape": (H, W, 4), "typestr": "|u1", "data": self.raw}


class Capture:
    """A capture wrapper whose ``__array__`` is its one reused buffer."""

    def __init__(self, buf: Frame) -> None:
        self.buf = buf

    def __array__(self, dtype: Any = None, copy: Any = None) -> Frame:
        return self.buf


@pytest.mark.parametrize("kind", ["memoryview", "array interface", "__array__"])
def test_a_view_of_the_callers_buffer_is_not_adopted_without_keep(kind: str) -> None:
    """np.asarray of a memoryview, an mss shot or an ``__array__`` object is
    the caller's memory, not a copy as_frame made: the caller may reuse its
    buffer (keep=False), so the encoder must copy. (Found in review: the
    viewer stayed on the first picture.)"""
    enc, dec = encoder(), ScreenDecoder()
    raw = bytearray(H * W * 4)
    buf = np.frombuffer(raw, np.uint8).reshape(H, W, 4)  # the one capture buffer
    if kind == "__array__":
        buf = np.zeros((H, W, 4), np.uint8)  # one that owns its memory
    wrap = {"memoryview": lambda: memoryview(buf), "array interface": lambda: Shot(raw),
            "__array__": lambda: Capture(buf)}[kind]  # fmt: skip
    for i, f in enumerate(frames("terminal", 6)):
        buf[...] = f
        dec.decode(enc.encode(wrap()))
        assert same_bgr(dec.framebuffer, f), f"viewer wrong at {i}"
        assert not shares(enc.reference, buf)
    assert enc.take_spare() is None  # nothing was given up
