"""The cursor channel: shapes once per distinct shape, positions as tiny
messages, decoded by the real decoder; pointer motion never touches pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from screencodec import ScreenDecoder, ScreenEncoder
from screencodec.capture.base import CursorState
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.motion import CursorEncoder, cursor_shape_id
from screencodec.wire import MessageType, split_message

from .motion_helpers import same_bgr


def _arrow(seed: int = 0, size: tuple[int, int] = (20, 13)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (*size, 4), dtype=np.uint8)


def _types(msgs: list[bytes]) -> list[MessageType]:
    return [split_message(m)[0] for m in msgs]


def test_shape_once_then_positions() -> None:
    enc, dec = CursorEncoder(), ScreenDecoder()
    shape = _arrow()
    first = enc.update(CursorState(10, 20, shape=shape, hotspot=(1, 2)))
    assert _types(first) == [MessageType.CURSOR_SHAPE, MessageType.CURSOR_POSITION]
    for m in first:
        dec.feed(m)
    sid = cursor_shape_id(shape, (1, 2))
    img = dec.cursor_image(sid)
    assert img is not None and img.hotspot == (1, 2)
    assert np.array_equal(img.pixels, shape)
    assert dec.cursor is not None
    c = dec.cursor
    assert (c.x, c.y, c.shape_id, c.visible) == (10, 20, sid, True)

    moved = enc.update(CursorState(11, 20, shape=shape.copy(), hotspot=(1, 2)))
    assert _types(moved) == [MessageType.CURSOR_POSITION]
    assert len(moved[0]) == 25  # the wire's tiny position message
    dec.feed(moved[0])
    assert dec.cursor is not None and dec.cursor.x == 11
    # Nothing changed: nothing sent.
    assert enc.update(CursorState(11, 20, shape=shape, hotspot=(1, 2))) == []
    hidden = enc.update(CursorState(11, 20, shape=shape, hotspot=(1, 2), visible=False))
    dec.feed(hidden[0])
    assert dec.cursor is not None and not dec.cursor.visible


def test_shape_change_and_return_is_cached() -> None:
    enc = CursorEncoder()
    a, b = _arrow(1), _arrow(2, (32, 32))
    assert len(enc.update(CursorState(0, 0, shape=a))) == 2
    assert len(enc.update(CursorState(0, 0, shape=b, hotspot=(16, 16)))) == 2
    # Back to the first shape: the viewer has it, only the position goes.
    assert _types(enc.update(CursorState(0, 0, shape=a))) == [MessageType.CURSOR_POSITION]
    # Same pixels, other hotspot: a distinct shape.
    assert len(enc.update(CursorState(0, 0, shape=a, hotspot=(3, 3)))) == 2


def test_evicted_shapes_are_sent_again() -> None:
    enc, dec = CursorEncoder(cache_size=64), ScreenDecoder()
    shapes = [_arrow(i, (4, 4)) for i in range(70)]
    for s in shapes:
        for m in enc.update(CursorState(1, 1, shape=s)):
            dec.feed(m)
    # The decoder keeps the 64 most recent: the first shapes are gone there,
    # and the encoder knows it.
    first_id = cursor_shape_id(shapes[0], (0, 0))
    assert dec.cursor_image(first_id) is None
    again = enc.update(CursorState(1, 1, shape=shapes[0]))
    assert _types(again) == [MessageType.CURSOR_SHAPE, MessageType.CURSOR_POSITION]
    for m in again:
        dec.feed(m)
    assert dec.cursor_image(first_id) is not None
    enc.reset()  # a new viewer: everything is sent again
    assert len(enc.update(CursorState(1, 1, shape=shapes[-1]))) == 2


def test_unknown_shape_and_no_state() -> None:
    enc, dec = CursorEncoder(), ScreenDecoder()
    assert enc.update(None) == []
    msgs = enc.update(CursorState(-5, 7))
    assert _types(msgs) == [MessageType.CURSOR_POSITION]
    dec.feed(msgs[0])
    assert dec.cursor is not None and (dec.cursor.x, dec.cursor.shape_id) == (-5, 0)


def test_oversized_shape_is_cropped_around_the_hotspot() -> None:
    enc, dec = CursorEncoder(), ScreenDecoder()
    big = _arrow(3, (300, 280))
    for m in enc.update(CursorState(0, 0, shape=big, hotspot=(270, 290))):
        dec.feed(m)
    assert dec.cursor is not None
    img = dec.cursor_image(dec.cursor.shape_id)
    assert img is not None and img.pixels.shape == (256, 256, 4)
    hx, hy = img.hotspot
    assert np.array_equal(img.pixels[hy, hx], big[290, 270])
    with pytest.raises(ValueError, match="BGRA"):
        enc.update(CursorState(0, 0, shape=np.zeros((4, 4, 3), np.uint8)))


def test_synthetic_pointer_moves_without_reencoding_tiles() -> None:
    """The drag scenario's pointer follows the window: its moves cost position
    messages only, its shape crosses once, and the frames never contain it."""
    src = SyntheticDesktop(320, 240, scenario="drag")
    cursor = CursorEncoder()
    dec = ScreenDecoder()
    shapes = positions = 0
    for _ in range(6):
        src.grab()
        for m in cursor.update(src.cursor()):
            kind = split_message(m)[0]
            shapes += kind is MessageType.CURSOR_SHAPE
            positions += kind is MessageType.CURSOR_POSITION
            dec.feed(m)
    assert shapes == 1 and positions >= 2
    state = src.cursor()
    assert dec.cursor is not None and (dec.cursor.x, dec.cursor.y) == (state.x, state.y)
    # A still screen with a moving pointer: empty updates.
    still = SyntheticDesktop(320, 240, scenario="idle")
    frame = still.grab().copy()
    enc = ScreenEncoder(320, 240, threads=1)
    enc.encode(frame)
    for x in range(0, 100, 10):
        assert cursor.update(CursorState(x, 50, shape=state.shape)) != []
        assert len(enc.encode(frame)) == 24


def test_xfixes_pointer_through_the_cursor_channel(x_painter: Any) -> None:
    """The real X server's pointer (XFixes, via ScreenSource.cursor()): one shape,
    then a position per move, decoded; the captured pixels never change."""
    from screencodec.capture.screen import ScreenSource

    enc, dec = CursorEncoder(), ScreenDecoder()
    kinds: list[MessageType] = []
    with ScreenSource(display=x_painter.display) as src:
        first = src.grab().copy()
        for x, y in ((100, 100), (140, 120), (300, 200)):
            x_painter.warp_pointer(x, y)
            state = src.cursor()
            assert state is not None
            for m in enc.update(state):
                kinds.append(split_message(m)[0])
                dec.feed(m)
            assert dec.cursor is not None and (dec.cursor.x, dec.cursor.y) == (x, y)
        assert same_bgr(src.grab(), first)
    assert kinds.count(MessageType.CURSOR_SHAPE) == 1
    assert kinds.count(MessageType.CURSOR_POSITION) == 3
    assert dec.cursor is not None and dec.cursor_image(dec.cursor.shape_id) is not None
