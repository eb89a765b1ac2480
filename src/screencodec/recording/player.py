"""Playing a recording: the framebuffer at any time, and a FrameSource that replays it.

:class:`Player` decodes a recording's wire updates with a
:class:`~screencodec.decoder.ScreenDecoder`, exactly as the viewer did, so the
framebuffer after update *i* is bit for bit the viewer's after it. Seeking
to ``t`` starts from the nearest seek point before ``t`` (a checkpoint, or a
wire keyframe) and decodes forward; when the stream after a checkpoint turns
out to need decoder state the checkpoint cannot carry (a video stream that
began before it), the player takes the seek point before that one: what it
returns is always what sequential decoding gives. For a history viewer the
checkpoints are the encoder's seek points (its streams restarted there), so
they hold for ZSTREAM and video alike. Playing forward continues
from where the last call left off.

Memory: a player holds one decoder (its framebuffer, up to 1 GiB for the
wire's largest picture, 16384x16384) and drops it before a seek starts
another. A picture larger than ``max_pixels`` (default
:data:`MAX_PICTURE_PIXELS`) is refused with :class:`PictureTooLargeError`
before anything of its size is allocated: the web playback re-encodes each
picture, and an encoder keeps several frames of its own. ``play --at`` and
``export --png-every`` pass ``max_pixels=None`` (their PNGs are written in
bands, never a copy), MP4 export and :class:`RecordingSource` keep the limit.

Not thread-safe: one player per thread (readers may be shared).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from screencodec.capture.base import FrameSource
from screencodec.errors import CaptureError, DecodeError, IntegrityError, ScreencodecError
from screencodec.frames import Frame
from screencodec.geometry import Monitor
from screencodec.recording.pictures import (
    BadPictureError,
    PictureFailure,
    drawn_pointer,
    picture_failure,
    pointer_failure,
)
from screencodec.recording.reader import RecordingReader, seek_us
from screencodec.wire.format import UPDATE_HEADER, MessageType
from screencodec.wire.parse import split_message

__all__ = [
    "MAX_PICTURE_PIXELS",
    "CursorTrack",
    "PictureTooLargeError",
    "Player",
    "RecordingSource",
    "draw_cursor",
]  # fmt: skip

#: The largest picture a :class:`Player` decodes by default, in pixels:
#: 8192x8192 (a 256 MiB framebuffer). The wire allows 16384x16384 (1 GiB).
MAX_PICTURE_PIXELS = 8192 * 8192


class PictureTooLargeError(ScreencodecError, ValueError):
    """A recorded picture is larger than the player was allowed to decode.
    Not a DecodeError: no other seek point would make it smaller."""


class _Checked:
    """What a player or pointer track found not to be the host's: raised
    (``strict``) or kept in ``failures``; ``shown_failure`` is the failure
    of what it last returned (None: the host's, or nothing recorded to
    compare with)."""

    def __init__(self, reader: RecordingReader, strict: bool) -> None:
        self.reader = reader
        self.strict = strict
        #: what was not the host's (strict=False), in the order met
        self.failures: list[PictureFailure] = []
        self.shown_failure: PictureFailure | None = None
        self._failed_at = -1  # messages applied when the last failure was met

    def _check(self, failure: PictureFailure | None, applied: int) -> None:
        """``failure`` (None: none) of what ``applied`` messages show."""
        if failure is None:
            return
        if self.strict:
            raise BadPictureError(self.reader.path, failure)
        if self._failed_at != applied or not self.failures:
            self.failures.append(failure)
        self._failed_at = applied

    def _shown(self, applied: int) -> None:
        """What ``applied`` messages show is what is returned now."""
        self.shown_failure = self.failures[-1] if self._failed_at == applied > 0 else None


class Player(_Checked):
    """Framebuffers of ``reader``'s recording. ``frame_at`` and ``frame_after``
    return read-only views of the player's framebuffer, valid until the next call.

    In a recording with picture hashes every picture the player decodes (each
    update it applies, and the checkpoint it starts from) is compared with
    the hash the host's recorder took of it, as it goes: no pass of its own.
    One that differs (or whose hash is missing) raises
    :class:`BadPictureError`; with ``strict=False`` it is kept in
    ``failures`` instead, and ``shown_failure`` says whether the picture
    last returned is one of them."""

    def __init__(
        self, reader: RecordingReader, *, max_pixels: int | None = MAX_PICTURE_PIXELS,
        strict: bool = True,
    ) -> None:  # fmt: skip
        super().__init__(reader, strict)
        #: the largest picture decoded (width x height); None: the wire's limit
        self.max_pixels = max_pixels
        self._decoder: object | None = None
        self._applied = 0  # updates applied to _decoder
        self.decoded = 0  #: updates decoded since the player was made (seek cost)
        #: where the last seek started: (updates applied there, True for a
        #: checkpoint, False for a wire keyframe); None when it went on from
        #: where the call before left off
        self.started_from: tuple[int, bool] | None = None

    def _fresh(self) -> object:
        from screencodec.decoder import ScreenDecoder

        return ScreenDecoder()

    def _seek_points(self, target: int) -> list[tuple[int, int | None]]:
        """Places to start from for reaching ``target`` updates applied, best
        first: (updates applied after the start, checkpoint chunk or None for
        a keyframe at that ordinal)."""
        idx = self.reader.index
        points: list[tuple[int, int | None]] = []
        for ordinal, chunk in idx.checkpoints:
            if ordinal <= target:
                points.append((ordinal, chunk))
        for k in idx.keyframes[: bisect.bisect_left(idx.keyframes, target)]:
            points.append((k, None))
        points.sort(key=lambda p: (p[0], p[1] is not None), reverse=True)
        return points

    def frame_after(self, count: int) -> Frame | None:
        """The framebuffer once the first ``count`` updates are applied (None
        before the first keyframe)."""
        count = max(0, min(count, self.reader.update_count))
        if self._decoder is not None and self._applied <= count:
            try:
                self.started_from = None
                return self._advance(self._decoder, self._applied, count)
            except IntegrityError:  # the file changed since it was checked: no other way
                raise
            except DecodeError:
                pass
        # Its framebuffer goes before another decoder makes one (a backward
        # seek held two at once: 2 GiB for the wire's largest picture).
        self._decoder = None
        for start, chunk in self._seek_points(count):
            dec = self._fresh()
            try:
                if chunk is not None:
                    after, key = self.reader.checkpoint(chunk)
                    if after != start:  # it says it follows another update: forged or
                        continue  # misplaced, so its picture is not this seek point's
                    self._check_size(key, f"the checkpoint after update {start}")
                    dec.decode(key)  # type: ignore[attr-defined]
                    self._check_start(dec, start, chunk)
                self.started_from = (start, chunk is not None)
                return self._advance(dec, start, count)
            except IntegrityError:
                raise
            except DecodeError:
                continue
        if count == 0:
            return None
        raise DecodeError(f"{self.reader.path}: no seek point reaches update {count}")

    def _advance(self, dec: object, applied: int, count: int) -> Frame | None:
        self._decoder = dec
        self._applied = applied
        for i in range(applied, count):
            _, data = self.reader.update(i)
            self._check_size(data, f"update {i}")
            fb = dec.decode(data)  # type: ignore[attr-defined]
            self._applied = i + 1
            self.decoded += 1
            self._check(picture_failure(self.reader, i + 1, fb), i + 1)
        self._shown(count)
        return dec.framebuffer  # type: ignore[attr-defined,no-any-return]

    def _check_start(self, dec: object, start: int, chunk: int) -> None:
        """The checkpoint (chunk ``chunk``) a seek starts from must show the
        host's picture after ``start`` updates."""
        fb = dec.framebuffer  # type: ignore[attr-defined]
        if start > 0:
            self._check(picture_failure(self.reader, start, fb), start)
        elif self.reader.picture_hashes:  # verify says so of it too
            self._check(PictureFailure("checkpoint", 0, 0, self.reader.index.chunks[chunk].time,
                                       chunk, "it shows a picture where the stream has none "
                                       "yet"), 0)  # fmt: skip

    def _check_size(self, message: bytes, what: str) -> None:
        """PictureTooLargeError when ``message`` is an update of a picture
        larger than ``max_pixels`` (read from its header: nothing of that
        size is allocated). Anything unreadable is the decoder's to refuse."""
        if self.max_pixels is None:
            return
        try:
            kind, body = split_message(message)
        except DecodeError:
            return
        if kind is not MessageType.UPDATE or len(body) < UPDATE_HEADER.size:
            return
        _, _, width, height, _, _ = UPDATE_HEADER.unpack_from(body)
        if width * height > self.max_pixels:
            raise PictureTooLargeError(
                f"{self.reader.path}: {what} is a {width}x{height} picture "
                f"({width * height / 1e6:.0f} M pixels, a {width * height * 4 >> 20} MiB "
                f"framebuffer), more than this player decodes ({self.max_pixels / 1e6:.0f} M "
                "pixels, e.g. 8192x8192); `recordings play --at` writes it (about its "
                "framebuffer's size in memory), the web playback and MP4 export do not")

    def frame_at(self, t: float) -> Frame | None:
        """The framebuffer as the viewer had it ``t`` seconds into the recording."""
        return self.frame_after(self.reader.updates_until(t))

    def frames(self) -> Iterator[tuple[float, Frame]]:
        """Every update in order: (its time, the framebuffer after it)."""
        for i in range(self.reader.update_count):
            fb = self.frame_after(i + 1)
            if fb is not None:
                yield self.reader.update_time(i), fb


class CursorTrack(_Checked):
    """The pointer over a recording's timeline (its CURSOR chunks): position,
    visibility and shape at any time. Forward in time is incremental.

    In a recording with pointer hashes, the pointer after every cursor
    message is compared with the host's (its POINTER chunk), and a message
    that does not decode is a failure too: :class:`BadPictureError`, or with
    ``strict=False`` kept in ``failures``, ``shown_failure`` saying whether
    the pointer last returned is one of them."""

    def __init__(self, reader: RecordingReader, *, strict: bool = True) -> None:
        super().__init__(reader, strict)
        idx = reader.index
        self._chunks = idx.cursors
        self._times = [idx.chunks[n].time_us for n in idx.cursors]
        self._dec: object | None = None
        self._applied = 0

    def at(self, t: float) -> tuple[Frame, int, int] | None:
        """(shape BGRA straight alpha, left, top) of the pointer at ``t``, or
        None when it is hidden or unknown."""
        target = bisect.bisect_right(self._times, seek_us(t))
        if self._dec is None or target < self._applied:
            from screencodec.decoder import ScreenDecoder

            self._dec, self._applied = ScreenDecoder(), 0
        dec: Any = self._dec
        hashed = self.reader.pointer_hashes
        for i in range(self._applied, target):
            h = self.reader.index.chunks[self._chunks[i]]
            try:
                dec.decode(self.reader.payload(h))
            except DecodeError as exc:
                if hashed:
                    self._check(PictureFailure("pointer", i, 0, h.time, h.index, str(exc)),
                                i + 1)  # fmt: skip
                continue
            if hashed:
                self._check(pointer_failure(self.reader, i + 1, dec), i + 1)
        self._applied = target
        self._shown(target)
        return drawn_pointer(dec)


def draw_cursor(fb: Frame, cursor: tuple[Frame, int, int] | None) -> Frame:
    """A copy of ``fb`` with the pointer blended in (straight alpha)."""
    out = np.array(fb)
    if cursor is None:
        return out
    shape, left, top = cursor
    h, w = out.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + shape.shape[1], w), min(top + shape.shape[0], h)
    if x0 >= x1 or y0 >= y1:
        return out
    src = shape[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.uint16)
    dst = out[y0:y1, x0:x1, :3].astype(np.uint16)
    alpha = src[:, :, 3:4]
    out[y0:y1, x0:x1, :3] = ((src[:, :, :3] * alpha + dst * (255 - alpha) + 127) // 255).astype(
        np.uint8)
    return out


class RecordingSource(FrameSource):
    """A :class:`FrameSource` that replays a recording: ``grab()`` shows the
    framebuffer at the recording's own timing (from the first grab, by
    ``clock``), or frame by frame with ``paced=False`` (one update per grab,
    the last one repeated at the end). Recordings thus serve as benchmark and
    test content."""

    def __init__(
        self,
        path: str | RecordingReader,
        *,
        paced: bool = True,
        speed: float = 1.0,
        private_key: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = (path if isinstance(path, RecordingReader)
                       else RecordingReader(path, private_key=private_key))  # fmt: skip
        self.player = Player(self.reader)
        self.paced = paced
        self.speed = speed
        self._clock = clock
        self._t0: float | None = None
        self._next = 0
        first = self.player.frame_after(min(1, self.reader.update_count))
        if first is None:
            raise CaptureError(f"{self.reader.path}: the recording holds no picture")
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self._frame = np.array(first)

    @property
    def width(self) -> int:
        return self._size[0]

    @property
    def height(self) -> int:
        return self._size[1]

    @property
    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, self.width, self.height),
                Monitor(1, 0, 0, self.width, self.height, primary=True)]

    def grab(self) -> Frame:
        if self.paced:
            now = self._clock()
            if self._t0 is None:
                self._t0 = now
            fb = self.player.frame_at((now - self._t0) * self.speed)
        else:
            self._next = min(self._next + 1, self.reader.update_count)
            fb = self.player.frame_after(self._next)
        if fb is not None:
            if fb.shape != self._frame.shape:
                self._frame = np.array(fb)
            else:
                np.copyto(self._frame, fb)
        return self._frame

    def close(self) -> None:
        self.reader.close()
