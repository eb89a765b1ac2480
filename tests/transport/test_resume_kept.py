"""Resuming on the picture the viewer kept (transport/session/kept.py).

The codec part runs the real encoder and decoder on synthetic frames; the
session part runs a real Host and Viewer over loopback through a proxy whose
connections the test cuts. Each test names what the viewer must end with:
the host's screen, bit-exact, after a first update that paints only what
changed while the link was down.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError, FrameError, ProtocolError, SessionClosedError
from screencodec.recording import Player, Recorder, RecordingReader
from screencodec.transport import VIEW, Viewer
from screencodec.transport.channel.base import ChannelTap
from screencodec.transport.session import messages as m
from screencodec.transport.session.kept import (
    DIGEST_SIZE,
    KEPT_CHANNEL,
    KEY_SIZE,
    TILE,
    KeptPicture,
    tile_digests,
)
from screencodec.transport.session.link import ViewerLink
from screencodec.wire import UpdateFlags, parse_update

from .helpers import bgr_equal, run, until
from .test_resume import _granted, _lose, _Setup


def _desktop(width: int = 320, height: int = 240, seed: int = 3) -> SyntheticDesktop:
    return SyntheticDesktop(width, height, scenario="typing", seed=seed)


def _frame(desktop: SyntheticDesktop) -> np.ndarray:
    return np.array(desktop.grab(), copy=True)


# -- the digest ---------------------------------------------------------------


def test_the_digest_round_trips_and_names_exactly_the_changed_tiles() -> None:
    frame = _frame(_desktop(300, 200))  # 5 x 4 tiles, the last row and column partial
    kept = KeptPicture.of(frame)
    assert len(kept.key) == KEY_SIZE and len(kept.digests) == 5 * 4 * DIGEST_SIZE
    assert KeptPicture.parse(kept.encode()) == kept
    now = frame.copy()
    now[70, 130, 1] ^= 0x40  # tile (2, 1)
    now[199, 299, 0] ^= 1  # the partial corner tile (4, 3)
    now[5, 5, 3] ^= 0xFF  # the X byte: no change
    rects = kept.differing(now)
    assert sorted(map(tuple, rects.tolist())) == [(2 * TILE, TILE, TILE, TILE),
                                                   (4 * TILE, 3 * TILE, 300 - 4 * TILE,
                                                    200 - 3 * TILE)]  # fmt: skip
    assert len(kept.differing(frame)) == 0


def test_the_digest_is_keyed() -> None:
    frame = _frame(_desktop())
    a, b = KeptPicture.of(frame), KeptPicture.of(frame)
    assert a.key != b.key and a.digests != b.digests
    assert tile_digests(frame, a.key) == a.digests


@pytest.mark.parametrize(("payload", "why"), [
    (b"", "of 0 bytes"),
    (bytes([2, 64, 0, 64, 0]) + bytes(KEY_SIZE + 8), "of version 2"),
    (bytes([1, 0, 0, 64, 0]) + bytes(KEY_SIZE + 8), "of 0x64"),
    (bytes([1, 64, 0, 64, 0]) + bytes(KEY_SIZE + 7), "of 7 bytes for 64x64"),
    (bytes([1, 65, 0, 64, 0]) + bytes(KEY_SIZE + 8), "of 8 bytes for 65x64"),
])  # fmt: skip
def test_a_malformed_digest_is_refused_before_use(payload: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        KeptPicture.parse(payload)


# -- the codec: continue_from and adopt ----------------------------------------


@pytest.mark.parametrize("options", [{}, {"integrity": True}, {"history": False},
                                     {"motion": False}])  # fmt: skip
def test_a_continuation_paints_only_the_changed_tiles_and_the_stream_goes_on_exact(
    options: dict[str, bool],
) -> None:
    desktop = _desktop(640, 480)
    first = ScreenEncoder(640, 480, **options)
    viewer = ScreenDecoder()
    for _ in range(5):
        held = viewer.decode(first.encode(_frame(desktop))).copy()
    first.request_keyframe()
    keyframe = len(first.encode(_frame(desktop)))  # for scale only
    first.close()
    for _ in range(8):  # the screen moves on while the link is down
        desktop.grab()
    now = _frame(desktop)
    kept = KeptPicture.of(held)

    encoder = ScreenEncoder(640, 480, **options)  # the resumed link's: a new one
    decoder = ScreenDecoder()
    decoder.adopt(held)
    rects = kept.differing(now)
    assert len(rects) > 0
    encoder.continue_from(rects)
    data = encoder.encode(now)
    update = parse_update(memoryview(data)[8:])
    assert not update.flags & UpdateFlags.KEYFRAME
    assert all(op.op.name != "COPY" for op in update.ops)
    painted = np.zeros((480, 640), bool)
    for op in update.ops:
        painted[op.rect.y : op.rect.y + op.rect.h, op.rect.x : op.rect.x + op.rect.w] = True
    changed = (now[..., :3] != held[..., :3]).any(axis=2)
    assert not (changed & ~painted).any()
    assert bgr_equal(decoder.decode(data), now)
    assert len(data) < keyframe
    for _ in range(20):  # deltas after it: motion, history, all exact
        frame = _frame(desktop)
        assert bgr_equal(decoder.decode(encoder.encode(frame)), frame)
    encoder.close()


def test_a_continuation_with_nothing_changed_is_an_empty_delta_the_decoder_takes() -> None:
    frame = _frame(_desktop())
    encoder = ScreenEncoder(320, 240)
    decoder = ScreenDecoder()
    decoder.adopt(frame)
    encoder.continue_from(np.zeros((0, 4), np.int32))
    data = encoder.encode(frame)
    update = parse_update(memoryview(data)[8:])
    assert not update.flags and not update.ops
    assert bgr_equal(decoder.decode(data), frame)
    nxt = frame.copy()
    nxt[10:20, 10:20] = 7
    assert bgr_equal(decoder.decode(encoder.encode(nxt)), nxt)
    encoder.close()


def test_a_kept_picture_wrong_in_a_tile_is_mended_by_the_continuation() -> None:
    frame = _frame(_desktop())
    held = frame.copy()
    held[100:110, 200:230] = (0, 0, 255, 255)  # what the viewer shows is not the host's
    encoder = ScreenEncoder(320, 240)
    decoder = ScreenDecoder()
    decoder.adopt(held)
    encoder.continue_from(KeptPicture.of(held).differing(frame))
    assert bgr_equal(decoder.decode(encoder.encode(frame)), frame)
    encoder.close()


def test_continue_from_refuses_rects_outside_the_frame() -> None:
    with ScreenEncoder(320, 240) as encoder:
        with pytest.raises(FrameError, match="outside the 320x240 frame"):
            encoder.continue_from([[300, 0, 64, 64]])
        with pytest.raises(FrameError):
            encoder.continue_from([[0, 0, 0, 10]])


def test_a_continuation_on_a_frame_of_another_size_is_a_keyframe() -> None:
    with ScreenEncoder(320, 240) as encoder:
        encoder.continue_from([[0, 0, 64, 64]])
        data = encoder.encode(_frame(_desktop(400, 300)))
        assert parse_update(memoryview(data)[8:]).flags & UpdateFlags.KEYFRAME


@pytest.mark.parametrize(("picture", "why"), [
    (np.zeros((10, 10, 3), np.uint8), "cannot be adopted"),
    (np.zeros((10, 10, 4), np.uint16), "cannot be adopted"),
    (np.zeros((0, 10, 4), np.uint8), "over this decoder's limits"),
])  # fmt: skip
def test_the_decoder_adopts_only_a_picture_it_could_have_decoded(
    picture: np.ndarray, why: str
) -> None:
    with pytest.raises(DecodeError, match=why):
        ScreenDecoder().adopt(picture)
    with pytest.raises(DecodeError, match="over this viewer's limit"):
        ScreenDecoder(max_pixels=99).adopt(np.zeros((10, 10, 4), np.uint8))


# -- the session ----------------------------------------------------------------


class _Updates(ChannelTap):
    """The viewer's channel, noting each update that came: (keyframe, bytes)."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)  # type: ignore[arg-type]
        self.updates: list[tuple[bool, int]] = []

    def on_received(self, message: bytes, /) -> None:
        msg = m.decode(message)
        if isinstance(msg, m.Update):
            flags = int.from_bytes(msg.data[12:14], "little")
            self.updates.append((bool(flags & UpdateFlags.KEYFRAME), len(message)))
        elif isinstance(msg, m.CompactUpdate):
            self.updates.append((False, len(message)))


def _link(s: _Setup) -> ViewerLink:
    (link,) = s.host._runtime.serving
    return link


async def _join(s: _Setup, **kw: object) -> tuple[Viewer, asyncio.Task[str], _Updates]:
    tap = _Updates(await s.connect())
    viewer = Viewer(tap, who="Alice (support)", **kw)  # type: ignore[arg-type]
    await viewer.start(VIEW)
    return viewer, asyncio.ensure_future(viewer.run()), tap


def test_a_resumed_viewer_goes_on_from_its_picture_with_a_delta_not_a_keyframe() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task, first = await _join(s)
            await _granted(viewer)
            assert viewer.host_keeps
            await until(lambda: len(first.updates) >= 10, 10, "updates")
            join_keyframe = first.updates[0]
            assert join_keyframe[0]
            await _lose(s, viewer, task)
            kept = viewer.kept_picture
            assert kept is not None

            again, task2, tap = await _join(s, resume=viewer.resume_ticket, picture=kept)
            await until(lambda: len(tap.updates) >= 1, 10, "the first update")
            keyframe, size = tap.updates[0]
            assert not keyframe
            assert size < join_keyframe[1] / 2
            stream = _link(s).stream
            assert (stream.continuations, stream.keyframes_sent) == (1, 0)
            s.screen.frozen = True
            await until(lambda: bgr_equal(again.framebuffer, s.screen.grab()), 10, "exact")
            # Compact deltas go on after it: both sides took it as a start.
            s.screen.frozen = False
            await until(lambda: again.compact_received > 0, 10, "a compact delta")
            assert again.decode_errors == 0 and again.keyframe_requests == 0
            await again.bye()
            await task2

    run(main(), 60)


def test_without_the_kept_picture_the_resume_is_a_keyframe() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task, _ = await _join(s)
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            again, task2, tap = await _join(s, resume=ticket)
            await until(lambda: len(tap.updates) >= 1, 10, "the first update")
            assert tap.updates[0][0]
            assert (_link(s).stream.continuations, _link(s).stream.keyframes_sent) == (0, 1)
            await again.bye()
            await task2

    run(main(), 60)


def test_a_kept_picture_with_a_ticket_that_no_longer_works_gets_a_keyframe_after_consent(
) -> None:
    """The digest comes before the user's answer: nothing is sent for it
    until the user said yes, and then a whole picture (a new session)."""
    async def main() -> None:
        async with _Setup() as s:
            viewer, task, _ = await _join(s)
            ticket = await _granted(viewer)
            kept = viewer.framebuffer
            assert kept is not None
            await viewer.bye()
            await task
            again, task2, tap = await _join(s, resume=ticket, picture=kept.copy())
            assert len(s.asked) == 2  # asked again: the ticket ended with the bye
            await until(lambda: len(tap.updates) >= 1, 10, "the first update")
            assert tap.updates[0][0]
            await again.bye()
            await task2

    run(main(), 60)


async def _read_until_closed(channel: ChannelTap | object) -> None:
    while True:
        await asyncio.wait_for(channel.recv(), 10)  # type: ignore[attr-defined]


def test_a_malformed_digest_ends_only_that_connection() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task, _ = await _join(s)
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            channel = await s.connect()
            await channel.send(m.encode(m.Capabilities.full()))
            await channel.send(m.encode(m.Extension("screencodec.resume", ticket)))
            await channel.send(m.encode(m.Extension(KEPT_CHANNEL, b"\x01\xff\xff\xff\xff")))
            await channel.send(m.encode(m.PermissionRequest(VIEW.bits, "x")))
            with pytest.raises(SessionClosedError):
                await _read_until_closed(channel)
            await channel.close()
            # The session is still there to resume with the same ticket.
            again, task2, _tap = await _join(s, resume=ticket)
            await until(lambda: again.decoded >= 1, 10, "a picture")
            assert len(s.asked) == 1
            await again.bye()
            await task2

    run(main(), 60)


@pytest.mark.parametrize("during_the_cut", ["the screen changed", "nothing changed"])
def test_a_recorded_link_resumes_on_a_continuation_and_its_recording_plays_exact(
    tmp_path: Path, during_the_cut: str,
) -> None:
    """The resumed link's recording starts at that link: the continuation is
    recorded as a keyframe of the picture it makes, the stream restarts after
    it, and the recording verifies and plays to the viewer's picture. With
    nothing changed, the continuation is an empty delta, which does not count
    (the next update carries its number): its keyframe takes the one before."""
    async def main() -> Any:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task, _ = await _join(s)
            await _granted(viewer)
            if during_the_cut == "nothing changed":
                s.screen.frozen = True
                await until(lambda: bgr_equal(viewer.framebuffer, s.screen.grab()), 10, "exact")
            await _lose(s, viewer, task)
            again, task2, tap = await _join(s, resume=viewer.resume_ticket,
                                            picture=viewer.kept_picture)  # fmt: skip
            await until(lambda: len(tap.updates) >= 1, 10, "the first update")
            assert not tap.updates[0][0]  # a continuation on the wire
            assert _link(s).stream.continuations == 1
            s.screen.frozen = False
            await until(lambda: len(tap.updates) >= 8, 10, "updates after it")
            s.screen.frozen = True
            await until(lambda: bgr_equal(again.framebuffer, s.screen.grab()), 10, "exact")
            shown = np.array(again.framebuffer, copy=True)
            await again.bye()
            await task2
        sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        await asyncio.to_thread(recorder.close)
        return shown, sessions

    shown, sessions = run(main(), 60)
    last = max(sessions, key=lambda x: x.start_unix)  # the resumed link's recording
    with RecordingReader(last.path) as reader:
        assert reader.verify().status == "complete"
        assert reader.index.keyframes[:1] == [0]  # it starts on a keyframe
        picture = Player(reader).frame_after(reader.update_count)
    assert bgr_equal(picture, shown)


def test_a_sink_viewer_resumes_on_the_digest_its_sink_made() -> None:
    """The page holds the picture (a sink): the bridge passes the digest the
    page made, and the host's first update is a delta, as for a decoder."""

    class _Sink:
        def __init__(self) -> None:
            self.decoder = ScreenDecoder()
            self.first: bool | None = None

        def update(self, data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
            done: asyncio.Future[tuple[int, int] | None] = (
                asyncio.get_running_loop().create_future())  # fmt: skip
            if self.first is None:
                self.first = bool(parse_update(memoryview(data)[8:]).flags & UpdateFlags.KEYFRAME)
            try:
                fb = self.decoder.decode(data)
            except DecodeError:
                done.set_result(None)
            else:
                done.set_result((fb.shape[1], fb.shape[0]))
            return done

        def cursor(self, data: bytes, /) -> None:
            pass

    async def main() -> None:
        async with _Setup() as s:
            viewer, task, _ = await _join(s)
            await _granted(viewer)
            await _lose(s, viewer, task)
            held = viewer.framebuffer
            assert held is not None and viewer.host_keeps
            sink = _Sink()
            sink.decoder.adopt(held)
            with pytest.raises(ValueError, match="goes with a sink, which holds it"):
                Viewer(object(), resume=viewer.resume_ticket,  # type: ignore[arg-type]
                       picture=KeptPicture.of(held))  # fmt: skip
            again = Viewer(await s.connect(), sink=sink, resume=viewer.resume_ticket,
                           picture=KeptPicture.of(held))  # fmt: skip
            await again.start(VIEW)
            task2 = asyncio.ensure_future(again.run())
            await until(lambda: sink.first is not None, 10, "the first update")
            assert sink.first is False
            assert _link(s).stream.continuations == 1
            s.screen.frozen = True
            await until(lambda: bgr_equal(sink.decoder.framebuffer, s.screen.grab()), 10, "exact")
            await again.bye()
            await task2

    run(main(), 60)
