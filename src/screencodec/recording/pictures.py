"""The picture check of ``recordings verify``: does the recorded screen decode?

A chunk's CRC, seal or host signature says the bytes are the ones written;
it does not say they are a picture. :func:`check_pictures` replays the
recording's screen stream (one viewer's: a recording holds the updates that
viewer was sent) with a real :class:`~screencodec.decoder.ScreenDecoder`,
exactly as ``play`` and the viewer did: every UPDATE in order (VIDEO ops with
PyAV), and every CHECKPOINT that claims to follow the updates before it is
decoded on its own and must show the very picture sequential decoding gives
there (``play --at`` starts from it). The first update or checkpoint that
fails is reported: which one, its session sequence, its time, and why.

What it catches is what a decoder catches: a message or op that does not
parse, a payload that does not decompress, a delta before any keyframe or
after a size change, a lost update (its sequence number), and every
framebuffer hash an update or checkpoint carries (keyframes and checkpoints
of a host's encoder do), and, in a recording with picture hashes (its
HEADER's ``pictures``; a recorder writes them by default), the PICTURE chunk
after every update: the xxh3-64 of the framebuffer the host's recorder
decoded there, which every picture decoded here must match. Without them a
delta's changed pixel decodes, wrongly, and is seen only if it lasts until
a checkpoint.

Bounded: one payload at a time from the reader's mapping (never the whole
file), one decoder for the stream (its framebuffer, hash-undo buffer and
codec state) and one more for the checkpoints, whose framebuffer every
checkpoint reuses: about three framebuffers whatever the length. Time:
what the viewer spent decoding, at full speed (``benchmarks`` and docs/recording.md give figures).
"""

from __future__ import annotations

import struct
import time
from typing import Any

import numpy as np
import xxhash

from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError
from screencodec.frames import framebuffer_hash
from screencodec.recording.format import PICTURE_PAYLOAD, ChunkType
from screencodec.recording.reader import RecordingReader
from screencodec.recording.verdicts import BadPictureError, PictureFailure, PictureReport
from screencodec.transport.channel.display import counted

__all__ = [
    "BadPictureError",
    "PictureFailure",
    "PictureReport",
    "check_pictures",
    "drawn_pointer",
    "picture_failure",
    "pointer_digest",
    "pointer_failure",
]

#: The pointer as drawn: (shape, BGRA straight alpha; left; top), None: not drawn.
Drawn = tuple[Any, int, int] | None
_POINTER_PLACE = struct.Struct(">iiII")


def drawn_pointer(dec: ScreenDecoder) -> Drawn:
    """The pointer ``dec``'s cursor messages leave drawn: (shape BGRA, left,
    top), or None when it is hidden, unknown or its shape was never sent."""
    pos = dec.cursor
    if pos is None or not pos.visible:
        return None
    image = dec.cursor_image(pos.shape_id)
    if image is None:
        return None
    return image.pixels, pos.x - image.hotspot[0], pos.y - image.hotspot[1]


def pointer_digest(drawn: Drawn) -> int:
    """xxh3-64 of the pointer as drawn: where (its shape's top left corner),
    its size and every pixel of its shape; of no bytes when none is drawn.
    What a POINTER chunk records after each cursor message."""
    if drawn is None:
        return xxhash.xxh3_64_intdigest(b"")
    shape, left, top = drawn
    h, w = shape.shape[:2]
    return xxhash.xxh3_64_intdigest(_POINTER_PLACE.pack(left, top, w, h) +
                                    np.ascontiguousarray(shape).tobytes())  # fmt: skip


def picture_failure(reader: RecordingReader, applied: int, fb: np.ndarray | None
                    ) -> PictureFailure | None:  # fmt: skip
    """Whether ``fb``, the picture after the first ``applied`` updates, is
    the one the host's recorder hashed (its PICTURE chunk, right after
    update ``applied`` - 1): None when it is, or when the recording has no
    picture hashes (or ``applied`` is 0: no picture yet). What a player
    checks of every picture it decodes, without a pass of its own."""
    if not reader.picture_hashes or applied <= 0:
        return None
    idx = reader.index
    chunk = idx.pictures[applied - 1]
    if chunk < 0:
        return _unhashed(reader, idx.updates[applied - 1], applied - 1)
    reason = _hash_differs(reader.payload(idx.chunks[chunk]), applied, fb)
    return _update_failure(reader, chunk - 1, applied - 1, reason) if reason else None


def _video_missing(reason: str) -> bool:
    """A VIDEO op met by a decoder without PyAV: nothing wrong with the file."""
    return reason.startswith("no decoder for VIDEO")


def check_pictures(reader: RecordingReader, chunks: int | None = None) -> PictureReport:
    """Decode the screen updates among ``reader``'s first ``chunks`` chunks
    (default: all indexed) in order; check each checkpoint among them
    against the stream. Payloads must be readable (a plain recording, or a
    sealed one opened with the auditor's key): an IntegrityError or a
    DecodeError raised by the reader (not the decoder) propagates."""
    began = time.monotonic()
    idx = reader.index
    limit = len(idx.chunks) if chunks is None else min(chunks, len(idx.chunks))
    dec = ScreenDecoder()
    # One decoder for every checkpoint: its framebuffer is reused (a fresh
    # one per checkpoint doubled their cost in page faults).
    keyframes = ScreenDecoder()
    pointer = ScreenDecoder()  # the cursor messages alone, as a player draws them
    applied = checked = hashed = moved = 0
    failure: PictureFailure | None = None
    for n in range(limit):
        h = idx.chunks[n]
        if reader.picture_hashes and hashed < applied and h.type is not ChunkType.PICTURE:
            failure = _unhashed(reader, n - 1, applied - 1)
            break
        if reader.pointer_hashes and h.type is not ChunkType.POINTER and moved and (
                idx.chunks[n - 1].type is ChunkType.CURSOR):
            failure = pointer_failure(reader, moved, pointer)
            break
        if h.type is ChunkType.CURSOR:
            try:
                pointer.decode(reader.payload(h))
            except DecodeError as exc:
                failure = PictureFailure("pointer", moved, 0, h.time, n, str(exc))
                break
            moved += 1
        elif h.type is ChunkType.POINTER:
            failure = pointer_failure(reader, moved, pointer, n)
            if failure is not None:
                break
        elif h.type is ChunkType.PICTURE:
            reason = _picture_differs(reader.payload(h), applied, hashed, dec)
            if reason:
                failure = _update_failure(reader, n - 1, applied - 1, reason)
                break
            hashed += 1
        elif h.type is ChunkType.UPDATE:
            body = reader.payload(h)
            seq = int.from_bytes(body[:4], "big")
            try:
                if len(body) < 4:
                    raise DecodeError("the chunk is too short for a session sequence")
                dec.decode(memoryview(body)[4:])
            except DecodeError as exc:
                if _video_missing(str(exc)):
                    return PictureReport(applied, checked, None, time.monotonic() - began,
                                         f"update {applied} holds VIDEO, which needs PyAV "
                                         "(pip install 'screencodec[record]')")  # fmt: skip
                failure = PictureFailure("update", applied, seq, h.time, n, str(exc))
                break
            applied += 1
        elif h.type is ChunkType.CHECKPOINT:
            body = reader.payload(h)
            after = int.from_bytes(body[:4], "big")
            if len(body) < 4 or after != applied:
                continue  # no seek point (docs/recording.md): play never starts there
            reason = _checkpoint_differs(keyframes, dec.framebuffer, memoryview(body)[4:])
            if reason:
                seq = dec.sequence if dec.sequence is not None else 0
                failure = PictureFailure("checkpoint", applied, seq, h.time, n, reason)
                break
            checked += 1
    else:  # the file stops right after an update or cursor message: its hash is missing
        if reader.picture_hashes and hashed < applied:
            failure = _unhashed(reader, limit - 1, applied - 1)
        elif reader.pointer_hashes and limit and idx.chunks[limit - 1].type is ChunkType.CURSOR:
            failure = pointer_failure(reader, moved, pointer)
    return PictureReport(applied, checked, failure, time.monotonic() - began, hashed=hashed,
                         pointers=moved if reader.pointer_hashes else 0)  # fmt: skip


def pointer_failure(reader: RecordingReader, moved: int, dec: ScreenDecoder,
                    chunk: int | None = None) -> PictureFailure | None:  # fmt: skip
    """Whether the pointer ``dec`` draws after the first ``moved`` cursor
    messages is the one the host's recorder hashed: its POINTER chunk
    (``chunk``; default: the one right after cursor message ``moved`` - 1).
    None when it is, or when the recording has no pointer hashes."""
    if not reader.pointer_hashes or (moved <= 0 and chunk is None):
        return None
    idx = reader.index
    if moved <= 0:  # a POINTER chunk before any cursor message
        h = idx.chunks[chunk or 0]
        return PictureFailure("pointer", 0, 0, h.time, h.index, "a POINTER chunk before any "
                              "cursor message: out of place")  # fmt: skip
    cursor = idx.cursors[moved - 1]
    h = idx.chunks[cursor]
    if chunk is None:
        chunk = idx.pointers[moved - 1]
    if chunk < 0:
        return PictureFailure("pointer", moved - 1, 0, h.time, cursor, "its POINTER chunk "
                              "(the hash of the pointer as drawn after it) is missing: a "
                              "recording with pointer hashes has one right after every "
                              "cursor message")  # fmt: skip
    body = reader.payload(idx.chunks[chunk])
    if len(body) != PICTURE_PAYLOAD.size:
        reason = f"its POINTER chunk has {len(body)} bytes, not {PICTURE_PAYLOAD.size}"
    elif PICTURE_PAYLOAD.unpack(body)[0] != moved or chunk != cursor + 1:
        reason = (f"a POINTER chunk for the pointer after {PICTURE_PAYLOAD.unpack(body)[0]} "
                  "cursor messages follows it: out of place")  # fmt: skip
    else:
        actual, recorded = pointer_digest(drawn_pointer(dec)), PICTURE_PAYLOAD.unpack(body)[1]
        if actual == recorded:
            return None
        reason = (f"the pointer it draws is not the one the host recorded (xxh3-64 "
                  f"{actual:016x}, recorded {recorded:016x}): play draws it elsewhere, or "
                  "another shape, than the viewer saw")  # fmt: skip
    return PictureFailure("pointer", moved - 1, 0, h.time, cursor, reason)


def _picture_differs(body: bytes, applied: int, hashed: int, dec: ScreenDecoder) -> str:
    """Why PICTURE payload ``body`` is not the hash of the picture ``dec``
    shows after ``applied`` updates (``hashed`` of them checked so far); ""
    when it is."""
    # No update waits for its hash: any PICTURE chunk here is out of place.
    return _hash_differs(body, applied if hashed < applied else -1, dec.framebuffer)


def _hash_differs(body: bytes, applied: int, fb: np.ndarray | None) -> str:
    """Why ``fb`` is not the picture PICTURE payload ``body`` (for the
    picture after ``applied`` updates) hashes; "" when it is."""
    if len(body) != PICTURE_PAYLOAD.size:
        return f"its PICTURE chunk has {len(body)} bytes, not {PICTURE_PAYLOAD.size}"
    after, recorded = PICTURE_PAYLOAD.unpack(body)
    if after != applied:
        return (f"a PICTURE chunk for the picture after {counted(after, 'update')} follows it: out "
                "of place")  # fmt: skip
    actual = None if fb is None else framebuffer_hash(fb)
    if actual != recorded:
        return (f"its picture is not the one the host recorded (xxh3-64 "
                f"{actual or 0:016x}, recorded {recorded:016x}): play shows another "
                "screen there than the viewer saw")  # fmt: skip
    return ""


def _update_failure(reader: RecordingReader, chunk: int, ordinal: int,
                    reason: str) -> PictureFailure:  # fmt: skip
    """The failure of update ``ordinal`` (chunk ``chunk``, or the chunk
    before a stray PICTURE) for ``reason``."""
    h = reader.index.chunks[chunk]
    body = reader.payload(h) if h.type is ChunkType.UPDATE else b""
    return PictureFailure("update", max(ordinal, 0), int.from_bytes(body[:4], "big"), h.time,
                          chunk, reason)  # fmt: skip


def _unhashed(reader: RecordingReader, chunk: int, ordinal: int) -> PictureFailure:
    return _update_failure(reader, chunk, ordinal, "its PICTURE chunk (the hash of the "
                           "picture after it) is missing: a recording with picture hashes "
                           "has one right after every update")  # fmt: skip


def _checkpoint_differs(
    keyframes: ScreenDecoder, stream: np.ndarray | None, message: memoryview
) -> str:
    """Why a checkpoint's keyframe (decoded by ``keyframes``) is not the
    stream's picture ``stream``; "" when it is."""
    try:
        fb = keyframes.decode(message)
    except DecodeError as exc:
        return f"its keyframe does not decode: {exc}"
    if stream is None:
        return "it shows a picture where the stream has none yet"
    if fb.shape != stream.shape:
        return (f"it shows a {fb.shape[1]}x{fb.shape[0]} picture where the stream's is "
                f"{stream.shape[1]}x{stream.shape[0]}")  # fmt: skip
    # Both decoders write 255 into every 4th byte: whole pixels compare.
    if not np.array_equal(fb, stream):
        rows = np.flatnonzero((fb[..., :3] != stream[..., :3]).any(axis=(1, 2)))
        return (f"its picture is not the stream's (rows {int(rows[0])} to {int(rows[-1])} "
                "differ): play --at from it would show another screen")  # fmt: skip
    return ""
