"""Partial grabs (ScreenSource.grab_hinted): the source keeps a frame of its
own and reads from the screen only the row bands the damage touches and a
rolling band of its own, on a real Xvfb with a real xterm typed into.

The invariant: the source's frame equals the screen wherever the hint did
not flag a change, and a change XDamage never reported is in the frame and
in the hint within ROLL_GRABS grabs (its rolling band)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture import ScreenSource
from screencodec.capture.screen import BAND_GRID, ROLL_GRABS, _row_bands
from screencodec.capture.xvfb import xvfb_xterm
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import CaptureError
from screencodec.geometry import Rect
from screencodec.transport.session.screens import CaptureHub, HintCursor
from transport.helpers import bgr_equal, run, until
from transport.test_hub_hints import session

if TYPE_CHECKING:
    from conftest import Painter

Frame = npt.NDArray[np.uint8]
Hint = npt.NDArray[np.int32]
SIZE = (640, 400)
TEXT = "partial grabs read only the rows that changed 0123456789 " * 3


@pytest.fixture
def xterm() -> Iterator[str]:
    with xvfb_xterm(*SIZE) as display:
        yield display


def covered(hint: Hint | None, rect: Rect) -> bool:
    """Whether the union of ``hint``'s rects holds every pixel of ``rect``."""
    if hint is None:
        return True
    mask = np.zeros((rect.bottom, rect.right), bool)
    for x, y, w, h in hint.tolist():
        mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = True
    return bool(mask[rect.y : rect.bottom, rect.x : rect.right].all())


def type_and_grab(display: str, src: ScreenSource, text: str) -> list[int]:
    """``src.grab_hinted()`` as fast as it goes while xdotool types ``text``;
    the rows each grab read."""
    env = {**os.environ, "DISPLAY": display}
    rows = []
    typist = subprocess.Popen(["xdotool", "type", "--delay", "10", text], env=env)
    try:
        deadline = time.monotonic() + 30
        while typist.poll() is None:
            assert time.monotonic() < deadline, "xdotool did not finish typing"
            src.grab_hinted()
            rows.append(src.rows_read)
            time.sleep(0.005)
    finally:
        typist.kill()
        typist.wait(5)
    assert typist.returncode == 0
    return rows


# -- the bands ------------------------------------------------------------------


def test_damage_becomes_grid_bands_merged_with_the_rolling_band() -> None:
    rects = np.array([[5, 10, 3, 3], [100, 60, 1, 10], [0, 300, 9, 1]], np.int32)
    # 10..13 and 60..70 touch bands 0 and 0..1; 300 band 4 (256..320); the
    # rolling band 330..355 stands apart, 390..400 is cut at the height.
    assert _row_bands(rects, 400, (330, 355)) == [(0, 128), (256, 320), (330, 355)]
    assert _row_bands(rects, 310, (300, 310)) == [(0, 128), (256, 310)]
    assert _row_bands(rects[:0], 400, (25, 50)) == [(25, 50)]
    assert _row_bands(rects[:0], 400, (50, 50)) == []
    # Many rects (NumPy's way) give the same bands as a few.
    many = np.repeat(rects, 20, axis=0)
    assert _row_bands(many, 400, (320, 345)) == [(0, 128), (256, 345)]
    assert BAND_GRID == 64 and ROLL_GRABS == 16


# -- typing into a real xterm --------------------------------------------------


def test_after_typing_the_frame_equals_the_screen_and_few_rows_were_read(xterm: str) -> None:
    with ScreenSource(display=xterm) as src, ScreenSource(display=xterm) as screen:
        _, hint = src.grab_hinted()
        assert hint is None and src.rows_read == SIZE[1]
        own = src.grab_hinted()[0]
        assert own is src.grab_hinted()[0]  # the source's own frame, every time
        assert not src.hinted_buffers_fresh
        rows = type_and_grab(xterm, src, TEXT)
        assert len(rows) >= 20, rows
        time.sleep(0.3)  # the xterm has drawn the last character
        src.grab_hinted()  # a change drawn between take and grab: read now
        frame, hint = src.grab_hinted()
        assert frame is own
        assert np.array_equal(frame[..., :3], screen.grab()[..., :3])
        # Typing touches a band or two of 64 rows, plus the rolling band
        # (25 rows here): far from the 400 rows of a full grab.
        assert max(rows) < SIZE[1]
        assert np.median(rows) <= 2 * BAND_GRID + SIZE[1] // ROLL_GRABS, rows
        assert hint is not None and src.rows_read == -(-SIZE[1] // ROLL_GRABS)


def test_a_change_xdamage_missed_comes_with_its_rolling_band(
    x_painter: Painter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XDamage reports nothing (its take is made to return no rects): a
    painted square reaches the frame, and the hint, exactly at the grab whose
    rolling band covers its rows, not before; an encoder fed the frames and
    hints shows it then."""
    height = 720  # tests/conftest.py's Xvfb
    step = -(-height // ROLL_GRABS)  # 45 rows
    with ScreenSource(display=x_painter.display) as src:
        frame, hint = src.grab_hinted()  # a full grab; the rolling band starts at row 0
        assert hint is None
        tracker: Any = src._damage
        monkeypatch.setattr(tracker, "take", lambda: np.zeros((0, 4), np.int32))
        enc = ScreenEncoder(frame.shape[1], frame.shape[0], threads=1)
        dec = ScreenDecoder()
        dec.decode(enc.encode(frame))
        squares = {Rect(300, 100, 20, 10): (255, 0, 0), Rect(900, 700, 30, 15): (0, 0, 255)}
        for rect, rgb in squares.items():
            x_painter.fill(rect, rgb)
        seen: dict[Rect, int] = {}
        for n in range(1, ROLL_GRABS + 1):
            frame, hint = src.grab_hinted()
            assert hint is not None
            x, y, w, h = hint[-1].tolist()
            assert (x, y, w, h) == (0, (n - 1) * step, frame.shape[1], step)
            assert src.rows_read == step
            dec.decode(enc.encode(frame, hint=hint))
            for rect, (r, g, b) in squares.items():
                area = frame[rect.y : rect.bottom, rect.x : rect.right, :3]
                shown = dec.framebuffer[rect.y : rect.bottom, rect.x : rect.right, :3]
                there = bool((area == (b, g, r)).all())
                if rect not in seen and there:
                    assert covered(hint, rect), (n, hint)
                    seen[rect] = n
                elif rect not in seen:  # not a pixel of it yet
                    assert not (area == (b, g, r)).all(axis=-1).any(), (n, rect)
                if rect in seen:
                    assert there and (shown == (b, g, r)).all(), (n, rect)
        # Rows 100..110 lie in band 100 // 45 = 2 (grab 3), rows 700..715 in the
        # last band (grab 16).
        assert seen == {Rect(300, 100, 20, 10): 3, Rect(900, 700, 30, 15): 16}
        assert np.array_equal(frame[..., :3], src.grab()[..., :3])


def test_the_hub_never_gives_up_the_sources_own_frame(xterm: str) -> None:
    """One viewer's grabs are given up to its encoder (``owned``) only when
    they are fresh buffers: the frame a partial grab updates in place is not."""
    owned: list[bool] = []

    def work(frame: Frame, own: bool, hint: Hint | None) -> None:
        owned.append(own)

    async def main() -> None:
        hub = CaptureHub(lambda i: ScreenSource(i, display=xterm), reuse=0)
        hub.acquire(1)
        cursor = HintCursor()
        for _ in range(4):
            await hub.grab_hinted_then(1, cursor, work)
        hub.close()

    run(main(), 30)
    assert owned == [False] * 4


def test_two_viewers_of_partial_grabs_end_bit_exact(xterm: str) -> None:
    """A host session over loopback TCP with two viewers while xdotool types:
    the host's grabs are partial, and each viewer ends exactly as X shows."""
    env = {**os.environ, "DISPLAY": xterm}
    sources: list[ScreenSource] = []

    def factory(index: int) -> ScreenSource:
        src = ScreenSource(index, display=xterm)
        sources.append(src)
        return src

    reads: list[int] = []

    async def main() -> None:
        async with session(factory, 2) as views:
            await until(lambda: all(v.decoded >= 1 for v in views), 20, "first pictures")
            typist = await asyncio.create_subprocess_exec(
                "xdotool", "type", "--delay", "15", TEXT, env=env
            )
            typed = asyncio.ensure_future(typist.wait())
            deadline = time.monotonic() + 30
            while not typed.done() and time.monotonic() < deadline:
                reads.append(sources[0].rows_read)
                await asyncio.sleep(0.02)
            assert await asyncio.wait_for(typed, 5) == 0
            with ScreenSource(display=xterm) as screen:
                await until(
                    lambda: all(bgr_equal(v.framebuffer, screen.grab()) for v in views),
                    20,
                    "bit-exact viewers",
                )

    run(main(), 90)
    assert len(sources) == 1
    # Most grabs while typing read a band or two and the rolling band.
    assert len(reads) >= 10 and np.median(reads) < SIZE[1] // 2, reads


def test_a_region_is_read_in_its_own_coordinates(x_painter: Painter) -> None:
    """A region's bands are rows of the region: what is painted inside it
    lands at the same place as in a full grab of the region."""
    region = Rect(100, 50, 300, 400)
    with ScreenSource(display=x_painter.display, region=region) as src:
        src.grab_hinted()
        x_painter.fill(Rect(150, 120, 40, 20), (10, 200, 30))  # band 1 of the region
        x_painter.fill(Rect(380, 60, 50, 5), (250, 250, 0))  # sticks out of it
        frame, hint = src.grab_hinted()
        assert hint is not None and src.rows_read == 2 * 64  # bands 0 and 1 (the rolling band in 0)
        assert covered(hint, Rect(50, 70, 40, 20)) and covered(hint, Rect(280, 10, 20, 5))
        assert np.array_equal(frame[..., :3], src.grab()[..., :3])


def test_without_partial_grabs_every_grab_is_whole_and_fresh(x_painter: Painter) -> None:
    """``partial_grabs=False``: grab_hinted as before partial grabs, a fresh
    full grab each time and the damage alone as the hint."""
    with ScreenSource(display=x_painter.display, partial_grabs=False) as src:
        first, hint = src.grab_hinted()
        assert hint is None and src.hinted_buffers_fresh
        x_painter.fill(Rect(30, 40, 5, 6), (1, 2, 3))
        second, hint = src.grab_hinted()
        assert hint is not None and hint.tolist() == [[30, 40, 5, 6]]
        assert second is not first and src.hinted_buffers_fresh and src.rows_read == 720


def test_a_failed_band_grab_is_followed_by_a_full_grab(
    x_painter: Painter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A band's grab fails half-way (the frame holds some new bands, not all):
    CaptureError, and the next call is a full grab with hint None."""
    with ScreenSource(display=x_painter.display) as src:
        src.grab_hinted()
        x_painter.fill(Rect(10, 10, 5, 5), (200, 0, 0))  # band 0
        x_painter.fill(Rect(10, 300, 5, 5), (0, 200, 0))  # band 4
        sct: Any = src._sct
        real, calls = sct.grab, []

        def second_fails(box: dict[str, int]) -> Any:
            calls.append(box["top"])
            if len(calls) == 2:
                raise OSError("the X server went away")
            return real(box)

        monkeypatch.setattr(sct, "grab", second_fails)
        with pytest.raises(CaptureError, match="rows"):
            src.grab_hinted()
        monkeypatch.setattr(sct, "grab", real)
        frame, hint = src.grab_hinted()
        assert hint is None and src.rows_read == 720
        assert np.array_equal(frame[..., :3], src.grab()[..., :3])
        _, hint = src.grab_hinted()
        assert hint is not None and src.rows_read < 720
