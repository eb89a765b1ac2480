"""Packets -> framebuffer: the viewer's side of docs/protocol.md.

An update is applied atomically: every op is validated and decompressed
before the first pixel is written, and when the update carries a framebuffer
hash that does not match, the written rectangles are restored. So after any
rejected update the framebuffer is exactly what it was before.

Codecs with state across updates (the ZSTREAM history stream) drop it when a
keyframe starts and whenever the decoder needs one: the host's stream went
on without this decoder, so only a fresh start can be decoded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from screencodec.frames import Frame

from .codecs.base import StreamDecoder
from .codecs.registry import CodecRegistry, default_registry
from .errors import DecodeError, IntegrityError
from .frames import framebuffer_hash, readonly_view
from .motion._rowhash import apply_copies
from .wire import (
    MAX_DIMENSION,
    CursorPosition,
    MessageReader,
    MessageType,
    Op,
    Update,
    check_version,
    parse_cursor_position,
    parse_cursor_shape,
    parse_update,
    split_frame,
)

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "CursorImage", "ScreenDecoder", "too_large"]


#: A 4K keyframe of pure noise is 25 MB; anything near this is hostile.
DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024
_CURSOR_CACHE = 64


def too_large(width: int, height: int, max_pixels: int | None) -> str | None:
    """Why a ``width`` x ``height`` picture is refused under ``max_pixels``
    (None: it is not, or there is no limit). The words a viewer ends its
    session with: the screen is the host's, the limit this side's."""
    if max_pixels is None or width * height <= max_pixels:
        return None
    return f"the host's screen is {width}x{height}, over this viewer's limit of {max_pixels} pixels"


_NO_FRAME = readonly_view(np.zeros((0, 0, 4), np.uint8))


class CursorImage:
    """A decoded pointer shape: (h, w, 4) BGRA with straight alpha, and its hotspot."""

    __slots__ = ("hotspot", "pixels", "shape_id")

    def __init__(self, shape_id: int, pixels: Frame, hotspot: tuple[int, int]) -> None:
        self.shape_id = shape_id
        self.pixels = pixels
        self.hotspot = hotspot


#: Per codec type, whether it is a StreamDecoder.
_STREAM_TYPES: dict[type, bool] = {}


def _is_stream(codec: object) -> bool:
    """Whether ``codec`` is a StreamDecoder, answered once per type: isinstance
    against the runtime-checkable protocol looks its members up anew on each
    call (0.37 ms for a decoder's four codecs on Python 3.11, two thirds of
    ScreenDecoder(); the fuzz tests make thousands). The codecs define
    drop_stream on their class."""
    known = _STREAM_TYPES.get(type(codec))
    if known is None:
        known = _STREAM_TYPES[type(codec)] = isinstance(codec, StreamDecoder)
    return known


class ScreenDecoder:
    """Keeps the viewer's framebuffer and applies updates to it.

    ``decode(data)`` takes exactly one message; ``feed(chunk)`` takes a byte
    stream in chunks of any size. Both return the framebuffer: an (H, W, 4)
    uint8 read-only view whose B, G, R are bit-exact to the host's frame and
    whose 4th byte is 255. The view is updated in place by later updates; copy
    it to keep a frame.

    After a DecodeError (any refused message: an update, a cursor message, a
    header, a lost update found by its sequence number), ``needs_keyframe``
    is True: the caller should ask the host for a keyframe. Until one
    arrives, delta updates are counted in ``skipped`` and not applied,
    because they build on a state this decoder never reached; stream state
    (ZSTREAM history) is dropped at the same moment. Messages of a type this
    decoder does not know are skipped and counted in ``ignored``.

    Verifying hashes (``verify``, updates with HASH) keeps a second buffer
    of the framebuffer's size, where the pixels an update will overwrite are
    saved until its hash matches.

    ``max_pixels`` (None: only the wire's 16384 per side) refuses, as a
    DecodeError, any update whose frame has more pixels, before anything of
    that size is allocated: a framebuffer costs 4 bytes a pixel, twice with
    ``verify``. A :class:`~screencodec.transport.Viewer` sets it.

    ``sequence`` is the number of the last update applied that counts (a
    keyframe, ops or a hash; None before the first keyframe); a delta without
    a hash must carry the next number (docs/protocol.md, "Sequence
    numbers"). Not thread-safe.
    """

    def __init__(
        self,
        *,
        max_width: int = MAX_DIMENSION,
        max_height: int = MAX_DIMENSION,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        verify: bool = True,
        registry: CodecRegistry | None = None,
        max_pixels: int | None = None,
    ) -> None:
        self.max_width = max_width
        self.max_height = max_height
        self.max_pixels = max_pixels
        self.max_message_size = max_message_size
        self.verify = verify
        self._decoders: dict[Op, Any] = (registry or default_registry()).create_decoders()
        self._codecs = list({id(d): d for d in self._decoders.values()}.values())
        self._streams: list[StreamDecoder] = [c for c in self._codecs if _is_stream(c)]
        self._fb: Frame | None = None
        self._undo: Frame | None = None  # pixels saved before a hashed update writes
        # COPY sources of an update, saved before any is written (kept between
        # updates: a fresh buffer would be paged in every time).
        self._copy_scratch: np.ndarray[Any, np.dtype[np.uint8]] | None = None
        self._reader = MessageReader(max_message_size)
        self.needs_keyframe = True
        self.sequence: int | None = None
        self.updates = 0
        self.skipped = 0
        self.ignored = 0
        self.cursor: CursorPosition | None = None
        self._cursor_shapes: OrderedDict[int, CursorImage] = OrderedDict()

    @property
    def needs_keyframe(self) -> bool:
        """Whether only a keyframe can be applied next (after a refused
        message, or before the first keyframe)."""
        return self._needs_keyframe

    @needs_keyframe.setter
    def needs_keyframe(self, value: bool) -> None:
        """Set by the decoder itself; a caller that clears it by hand (it knows
        better) also clears ``sequence``: the next delta's number is taken as
        it comes, since nothing anchors it."""
        if not value and getattr(self, "_needs_keyframe", False) and self._fb is not None:
            self.sequence = None
        self._needs_keyframe = value
        if value:
            self._drop_streams()

    def adopt(self, picture: Any, /) -> None:
        """Start from ``picture`` ((H, W, 4) uint8; copied, the 4th byte set
        to 255), held from an earlier stream: a resumed session's viewer
        keeps the picture it showed, and the host's first update on the new
        link may be a delta on it (``ScreenEncoder.continue_from``). Deltas
        are then taken with whatever number the first one carries; stream
        state starts afresh. Raises DecodeError for a picture of another
        shape or over this decoder's limits."""
        arr = np.asarray(picture)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 4:
            raise DecodeError(f"a picture of {arr.dtype} {arr.shape} cannot be adopted")
        height, width = arr.shape[:2]
        if not (1 <= width <= self.max_width and 1 <= height <= self.max_height):
            raise DecodeError(f"a {width}x{height} picture is over this decoder's limits")
        refused = too_large(width, height, self.max_pixels)
        if refused is not None:
            raise DecodeError(refused)
        fb = np.array(arr, np.uint8, order="C")
        fb[..., 3] = 255
        self._fb = fb
        self._drop_streams()
        self.sequence = None  # nothing anchors the next delta's number
        self._needs_keyframe = False

    def _drop_streams(self) -> None:
        for codec in self._streams:
            codec.drop_stream()

    @property
    def framebuffer(self) -> Frame | None:
        """The current picture (read-only view), or None before the first keyframe."""
        if self._fb is None:
            return None
        return readonly_view(self._fb)

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the framebuffer, or None before the first keyframe."""
        return None if self._fb is None else (self._fb.shape[1], self._fb.shape[0])

    def cursor_image(self, shape_id: int) -> CursorImage | None:
        return self._cursor_shapes.get(shape_id)

    def decode(self, data: bytes | bytearray | memoryview, /) -> Frame:
        """Apply one whole message; return the framebuffer.

        A version-1 message of a type this decoder does not know is skipped
        (counted in ``ignored``). Before the first keyframe there is no
        framebuffer: a cursor message (valid on its own) then returns an
        empty (0, 0, 4) array.
        """
        try:
            self._message(split_frame(data, self.max_message_size))
        except BaseException:
            # Whatever was refused, even a cursor message or a header, may
            # have been an update: the next delta could build on a state
            # this decoder never reached. Anything else (MemoryError while
            # writing) may have left an update half-written: the same.
            self.needs_keyframe = True
            raise
        fb = self.framebuffer
        if fb is None:  # only cursor messages so far
            return _NO_FRAME
        return fb

    def feed(self, chunk: bytes | bytearray | memoryview, /) -> int:
        """Apply every message that ``chunk`` completes; return how many
        were applied (or skipped: unknown types, deltas awaiting a keyframe).

        A message that fails does not stop the ones after it (a keyframe among
        them must not be lost); the first error is raised once all are
        handled. After a header that cannot be one (the stream's framing is
        lost) the decoder searches the stream for the next keyframe and goes
        on from there (docs/protocol.md, "Decoding a byte stream").
        """
        reader = self._reader
        reader.push(chunk)
        error: DecodeError | None = None
        count = 0
        while True:
            try:
                msg = reader.pop()
                if msg is None:
                    break
                self._message(split_frame(msg, self.max_message_size))
                count += 1
            except DecodeError as e:
                self.needs_keyframe = True
                reader.reject()
                error = error or e
            except BaseException:
                self.needs_keyframe = True  # as in decode(): maybe half-written
                raise
        if error is not None:
            raise error
        return count

    def _message(self, frame: tuple[int, int, memoryview]) -> None:
        version, kind, body = frame
        check_version(version)
        try:
            mtype = MessageType(kind)
        except ValueError:
            # New types extend version 1 only when ignoring them leaves the
            # picture right (docs/protocol.md, "Versioning").
            self.ignored += 1
            return
        if mtype is MessageType.UPDATE:
            self._apply_update(parse_update(body, self.max_width, self.max_height))
        elif mtype is MessageType.CURSOR_SHAPE:
            s = parse_cursor_shape(body)
            pixels = np.frombuffer(s.pixels, np.uint8).reshape(s.height, s.width, 4).copy()
            self._cursor_shapes[s.shape_id] = CursorImage(
                s.shape_id, pixels, (s.hotspot_x, s.hotspot_y)
            )
            self._cursor_shapes.move_to_end(s.shape_id)
            while len(self._cursor_shapes) > _CURSOR_CACHE:
                self._cursor_shapes.popitem(last=False)
        else:
            self.cursor = parse_cursor_position(body)

    def _apply_update(self, u: Update) -> None:
        refused = too_large(u.width, u.height, self.max_pixels)
        if refused is not None:
            raise DecodeError(refused)
        if not u.keyframe:
            if self._fb is None:
                raise DecodeError("a delta update arrived before any keyframe")
            if self.needs_keyframe:
                self.skipped += 1
                return
            if (u.width, u.height) != self.size:
                raise DecodeError(
                    f"the frame size changed to {u.width}x{u.height} without a keyframe"
                )
            # A hashed update is judged by its hash, which catches any lost
            # update that left the picture wrong (docs/protocol.md,
            # "Sequence numbers").
            expected = u.sequence if self.sequence is None else (self.sequence + 1) & 0xFFFFFFFF
            if u.framebuffer_hash is None and u.sequence != expected:
                raise DecodeError(
                    f"update {u.sequence} where {expected} belongs: an update was lost"
                )
        size = (u.width, u.height)
        if u.keyframe:
            self._drop_streams()  # a keyframe starts every stream afresh
        for codec in self._codecs:
            codec.begin_update()
        prepared = []
        for op in u.ops:
            dec = self._decoders.get(op.op)
            if dec is None:
                raise DecodeError(f"no decoder for {op.op.name} ops")
            prepared.append((dec, dec.prepare(op, size)))

        target = self._fb
        if target is None or (u.width, u.height) != self.size:
            target = np.zeros((u.height, u.width, 4), np.uint8)
            target[..., 3] = 255
        # With a hash to verify, what the ops will write is saved first, so a
        # mismatch can be undone. Into one buffer kept between updates: a new
        # array per op costs an allocation and fresh pages every time.
        undo = None
        if u.framebuffer_hash is not None and self.verify and target is self._fb:
            undo = self._undo
            if undo is None or undo.shape != target.shape:
                undo = self._undo = np.empty_like(target)
            for _, p in prepared:
                rows, cols = p.rect.slices()
                undo[rows, cols] = target[rows, cols]

        # Every COPY reads the framebuffer as it was before the update: one
        # kernel call moves a lone COPY (a scroll) in place, or saves the
        # sources of several first (linear in the copied area, overlaps and all).
        copies = [
            (p.data.x, p.data.y, p.rect.x, p.rect.y, p.rect.w, p.rect.h)
            for _, p in prepared
            if p.op is Op.COPY
        ]
        if copies:
            scratch = apply_copies(target, np.array(copies, np.int32), self._copy_scratch)
            # Kept for the next update only up to a frame's size: copies
            # may cover up to 4 frames (the op coverage cap), once.
            keep = scratch is not None and scratch.nbytes <= target.nbytes
            self._copy_scratch = scratch if keep else None
        for dec, p in prepared:
            if p.op is not Op.COPY:
                dec.apply(p, target)

        if u.framebuffer_hash is not None and self.verify:
            actual = framebuffer_hash(target)
            if actual != u.framebuffer_hash:
                if undo is not None:
                    # Every save came before any write: the order of the
                    # restores does not matter, overlaps included.
                    for _, p in prepared:
                        rows, cols = p.rect.slices()
                        target[rows, cols] = undo[rows, cols]
                raise IntegrityError(
                    f"update {u.sequence}: framebuffer hash {actual:016x} "
                    f"!= {u.framebuffer_hash:016x}"
                )
        self._fb = target
        if u.keyframe or u.ops or u.framebuffer_hash is not None:
            # An empty delta without a hash does not count: it carries the
            # number of the next update, and a transport may leave it unsent.
            self.sequence = u.sequence
        self.updates += 1
        if u.keyframe:
            self._needs_keyframe = False
