"""XDamage hints (capture/x11damage.py, ScreenSource.grab_hinted) on a real Xvfb.

The contract the encoder relies on (``ScreenEncoder.encode(hint=...)``):
every pixel that differs between two grabs lies inside the hint of the later
grab or of the one after it. Checked pixel by pixel while xdotool types into
a real xterm.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture import ScreenSource
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.x11damage import (
    MAX_RECTS,
    MAX_REPLY_BYTES,
    XDamageTracker,
    parse_region,
)
from screencodec.capture.x11wire import XWire
from screencodec.capture.xvfb import private_xvfb, xvfb_xterm
from screencodec.errors import CaptureError
from screencodec.geometry import Rect

if TYPE_CHECKING:
    from conftest import Painter

Frame = npt.NDArray[np.uint8]
Hint = npt.NDArray[np.int32]
SIZE = (640, 400)


def _wire(rects: list[tuple[int, int, int, int]]) -> bytes:
    """Rectangles as a FetchRegion reply lists them (client byte order)."""
    dt = np.dtype([("x", "=i2"), ("y", "=i2"), ("w", "=u2"), ("h", "=u2")])
    return np.array(rects, dt).tobytes()


# -- the reply validator -------------------------------------------------------


def test_a_region_reply_becomes_rects() -> None:
    rects = [(10, 20, 30, 40), (-5, 0, 5, 2), (7, 7, 0, 9)]
    for n in (1, 40):  # a short list, and a long one (parsed another way)
        got = parse_region(_wire(rects * n), (-5, 0, 45, 60))
        assert got is not None and got.dtype == np.int32 and got.shape == (2 * n, 4)
        # The empty rectangle (width 0) is dropped.
        assert got.tolist() == [[10, 20, 30, 40], [-5, 0, 5, 2]] * n
    empty = parse_region(b"", (0, 0, 0, 0))
    assert empty is not None and empty.shape == (0, 4)


def test_a_region_of_too_many_rects_is_its_extents() -> None:
    many = _wire([(i % 100, i // 100, 1, 1) for i in range(MAX_RECTS + 1)])
    got = parse_region(many, (0, 0, 100, 41))
    assert got is not None and got.tolist() == [[0, 0, 100, 41]]
    # At the limit, the rects themselves.
    got = parse_region(many[: MAX_RECTS * 8], (0, 0, 100, 41))
    assert got is not None and len(got) == MAX_RECTS


def test_a_hostile_region_reply_is_refused_not_trusted() -> None:
    # Not whole rectangles.
    assert parse_region(b"\x01" * 13, (0, 0, 10, 10)) is None
    # A rectangle outside the extents the same reply gave, alone or among
    # many (a long list is checked another way).
    assert parse_region(_wire([(0, 0, 20, 5)]), (0, 0, 10, 10)) is None
    assert parse_region(_wire([(-1, 0, 2, 2)]), (0, 0, 10, 10)) is None
    many = [(i % 10, i // 10, 1, 1) for i in range(100)]
    assert parse_region(_wire(many), (0, 0, 10, 10)) is not None
    assert parse_region(_wire([*many, (9, 9, 1, 2)]), (0, 0, 10, 10)) is None
    assert parse_region(_wire([*many, (-1, 9, 1, 1)]), (0, 0, 10, 10)) is None
    # A negative extent, and a huge count in nothing.
    assert parse_region(b"", (0, 0, -1, 5)) is None
    huge = b"\0" * 8 * 1_000_000  # a million rectangles (8 MB), all empty
    assert parse_region(huge, (0, 0, 0, 0)) is None
    # A million in a real box: its extents, quickly, no million-row array.
    got = parse_region(huge, (1, 2, 3, 4))
    assert got is not None and got.tolist() == [[1, 2, 3, 4]]


# -- the raw reply reader, against a fake server --------------------------------


def _event(seq: int, kind: int = 91) -> bytes:
    return struct.pack("=BBH", kind, 0, seq) + bytes(28)


def _reply(seq: int, body: bytes = b"", words: int | None = None) -> bytes:
    n = len(body) // 4 if words is None else words
    return struct.pack("=BBHI", 1, 0, seq, n) + struct.pack("=hhHH", 0, 0, 9, 9) + bytes(16) + body


@pytest.fixture
def wire() -> Iterator[tuple[XWire, socket.socket]]:
    ours, server = socket.socketpair()
    try:
        yield XWire(ours, 65534), server
    finally:
        ours.close()
        server.close()


def test_the_reader_finds_its_reply_among_events(wire: tuple[XWire, socket.socket]) -> None:
    w, server = wire
    serial = w.send(b"\0" * 24, 2)  # the serial counter wraps at 16 bits
    assert (serial, w.serial) == (65535, 0)
    assert server.recv(64) == b"\0" * 24
    body = _wire([(1, 2, 3, 4)])
    whole = _event(65534) + _reply(65535, body) + _event(65535)
    for i in range(0, len(whole), 7):  # in pieces, as a socket may give it
        server.send(whole[i : i + 7])
    got = w.reply(serial, timeout=20)
    assert got == _reply(65535, body)
    assert w.event_seq == 65534
    w.poll()  # the event after the reply
    assert w.event_seq == 65535


def test_the_reader_refuses_hostile_answers(wire: tuple[XWire, socket.socket]) -> None:
    w, server = wire
    # A reply that says it is 16 GB long: refused from its header alone.
    server.send(_reply(7, words=0xFFFFFFFF))
    with pytest.raises(ConnectionError, match="bytes"):
        w.reply(7, timeout=20)
    assert MAX_REPLY_BYTES < 0xFFFFFFFF * 4


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (struct.pack("=BBH", 0, 3, 7) + bytes(28), "X error 3"),
        (_reply(6), "request 6, not 7"),
        (struct.pack("=BBHI", 35, 0, 7, 1 << 30) + bytes(24), "bytes"),  # a GenericEvent
    ],
)
def test_the_reader_refuses_errors_and_strays(
    wire: tuple[XWire, socket.socket], answer: bytes, match: str
) -> None:
    w, server = wire
    server.send(answer)
    with pytest.raises(ConnectionError, match=match):
        w.reply(7, timeout=20)


def test_the_reader_notices_a_closed_connection(wire: tuple[XWire, socket.socket]) -> None:
    w, server = wire
    server.send(_reply(7)[:20])  # half a reply, then nothing
    server.close()
    with pytest.raises(ConnectionError, match="closed"):
        w.reply(7, timeout=20)


# -- the tracker and ScreenSource on a real X server ---------------------------


def test_the_tracker_reports_exactly_what_was_drawn(x_painter: Painter) -> None:
    tracker = XDamageTracker(x_painter.display)
    try:
        tracker.take()
        x_painter.fill(Rect(10, 20, 30, 40), (255, 0, 0))
        x_painter.fill(Rect(300, 200, 5, 6), (0, 255, 0))
        got = tracker.take()
        assert got is not None
        assert sorted(map(tuple, got.tolist())) == [(10, 20, 30, 40), (300, 200, 5, 6)]
        serial = tracker._wire.serial
        empty = tracker.take()  # taken: nothing new
        assert empty is not None and empty.shape == (0, 4)
        # No DamageNotify came since the subtract: no request was sent.
        assert tracker._wire.serial == serial
        x_painter.fill(Rect(0, 0, 1, 1), (1, 2, 3))
        got = tracker.take()
        assert got is not None and got.tolist() == [[0, 0, 1, 1]]
        assert tracker._wire.serial == (serial + 2) & 0xFFFF
    finally:
        tracker.close()


def test_hints_are_in_the_captured_areas_coordinates(x_painter: Painter) -> None:
    with ScreenSource(display=x_painter.display, region=Rect(100, 50, 200, 100)) as src:
        first, hint = src.grab_hinted()
        assert hint is None  # nothing known before the first grab
        assert first.shape == (100, 200, 4)
        x_painter.fill(Rect(150, 70, 10, 10), (255, 0, 0))  # inside the region
        x_painter.fill(Rect(290, 140, 50, 50), (0, 0, 255))  # sticks out of it
        x_painter.fill(Rect(600, 500, 10, 10), (0, 255, 0))  # outside
        _, hint = src.grab_hinted()
        assert hint is not None
        assert sorted(map(tuple, damage(hint, 200).tolist())) == [
            (50, 20, 10, 10),
            (190, 90, 10, 10),
        ]
        _, hint = src.grab_hinted()
        assert hint is not None and damage(hint, 200).shape == (0, 4)
        # Another area: the frame changes size, the next hint is unknown.
        src.select_monitor(1)
        _, hint = src.grab_hinted()
        assert hint is None
        x_painter.fill(Rect(600, 500, 10, 10), (0, 0, 0))
        _, hint = src.grab_hinted()
        assert hint is not None and damage(hint, src.width).tolist() == [[600, 500, 10, 10]]


def test_no_xdamage_no_hints() -> None:
    """A server without DAMAGE, and a source that cannot tell: hint None
    every time (the encoder compares everything, as before); frames as usual."""
    with private_xvfb(*SIZE, args=["-br", "-extension", "DAMAGE"]) as display:
        with pytest.raises(CaptureError, match="DAMAGE"):
            XDamageTracker(display)
        with ScreenSource(display=display) as src:
            got = [src.grab_hinted() for _ in range(3)]
            assert [h for _, h in got] == [None, None, None]
            assert all(f.shape == (SIZE[1], SIZE[0], 4) for f, _ in got)
    desktop = SyntheticDesktop(96, 64)
    frame, hint = desktop.grab_hinted()
    assert hint is None and frame.shape == (64, 96, 4)


# -- typing into a real xterm --------------------------------------------------


@pytest.fixture
def xterm() -> Iterator[str]:
    with xvfb_xterm(*SIZE) as display:
        yield display


def damage(hint: Hint, width: int) -> Hint:
    """The XDamage part of a ScreenSource hint: all but its last rect, the
    source's rolling band (full width; see tests/capture/test_partial_grab.py)."""
    x, _, w, h = hint[-1].tolist()
    assert (x, w) == (0, width) and h > 0, hint
    return hint[:-1]


def copied(grab: tuple[Frame, Any]) -> tuple[Frame, Any]:
    """A grab_hinted result kept: its frame is the source's own, updated by the next."""
    return grab[0].copy(), grab[1]


def _mask(hints: list[Hint], shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(shape[:2], bool)
    for rects in hints:
        for x, y, w, h in rects.tolist():
            mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = True
    return mask


def typed_grabs(display: str, text: str, settle: float = 0.5) -> list[tuple[Frame, Any]]:
    """``grab_hinted`` as fast as it goes while xdotool types ``text``, then
    a few grabs of the still screen."""
    env = {**os.environ, "DISPLAY": display}
    out = []
    with ScreenSource(display=display) as src:
        out.append(copied(src.grab_hinted()))
        typist = subprocess.Popen(["xdotool", "type", "--delay", "8", text], env=env)
        try:
            deadline = time.monotonic() + 30
            while typist.poll() is None:
                assert time.monotonic() < deadline, "xdotool did not finish typing"
                out.append(copied(src.grab_hinted()))
        finally:
            typist.kill()
            typist.wait(5)
        end = time.monotonic() + settle
        while time.monotonic() < end:
            out.append(copied(src.grab_hinted()))
        out.append(copied(src.grab_hinted()))
    return out


def changed(a: Frame, b: Frame) -> npt.NDArray[np.bool_]:
    """The pixels whose colour differs (the padding byte aside)."""
    xor = a.view(np.uint32)[..., 0] ^ b.view(np.uint32)[..., 0]
    return (xor & np.uint32(0x00FFFFFF)) != 0


def uncovered(grabs: list[tuple[Frame, Any]]) -> list[tuple[int, int]]:
    """(grab, pixels) for every pair of grabs whose changed pixels are not all
    inside the union of the later grab's hint and the next one's."""
    bad = []
    for i in range(len(grabs) - 2):
        diff = changed(grabs[i][0], grabs[i + 1][0])
        if not diff.any():
            continue
        outside = diff & ~_mask([grabs[i + 1][1], grabs[i + 2][1]], diff.shape)
        if outside.any():
            bad.append((i + 1, int(outside.sum())))
    return bad


def test_every_change_typed_into_an_xterm_is_hinted(xterm: str) -> None:
    text = "the quick brown fox jumps over the lazy dog 0123456789 " * 3
    grabs = typed_grabs(xterm, text)
    hints = [h for _, h in grabs]
    assert hints[0] is None and all(h is not None for h in hints[1:])
    changes = sum(int(changed(a, b).sum()) for (a, _), (b, _) in itertools.pairwise(grabs))
    assert changes > 1000, "the typing changed (almost) nothing on screen"
    assert uncovered(grabs) == []
    # The hints are small: typed characters, not the screen.
    area = [
        int((h[:, 2] * h[:, 3]).sum()) for h in map(damage, hints[1:], itertools.repeat(SIZE[0]))
    ]
    assert max(area) < SIZE[0] * SIZE[1] // 10
    # The screen stood still at the end: no hint.
    assert area[-1] == 0


def test_connections_whose_server_died_are_closed_not_left_to_the_collector() -> None:
    """ends53: Xvfb gone under a live damage tracker and cursor, which are
    then closed (as ScreenSource does once a take failed), and opened again
    on the dead display (a capture that goes on, the injector's connection).
    Found: each failed open left python-xlib's two sockets open (its connect
    closes neither the Unix socket refused nor the TCP one it falls back
    to), held by the error until it was collected, then a ResourceWarning
    each: a host that outlives many display restarts collecting
    descriptors; and close() raised python-xlib's ConnectionClosedError
    (ScreenSource hid it). Now: no warning, the descriptors back where they
    were while the errors are still held, and closing again does nothing."""
    import gc
    import warnings

    from screencodec.capture.x11cursor import XFixesCursor
    from screencodec.transport.input.xdisplay import _open_display

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        before = fds()
        with private_xvfb(*SIZE) as display:
            tracker = XDamageTracker(display)
            cursor = XFixesCursor(display)
            tracker.take()
            cursor.query()
        with pytest.raises(ConnectionError):  # the connection's end, read
            tracker.take()
        tracker.close()
        tracker.close()
        cursor.close()
        cursor.close()
        failed = []
        for opening in (XDamageTracker, XFixesCursor, _open_display):
            with pytest.raises(CaptureError, match="cannot open X display") as info:
                opening(display)
            failed.append(info)  # held, as a caller that keeps the error does
        assert fds() == before
        del tracker, cursor, failed, info
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    assert fds() == before
