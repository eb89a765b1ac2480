"""The ``.screc`` session-recording format: append-only, self-delimiting chunks.

A file is an 8-byte magic followed by chunks, nothing else (docs/recording.md)::

    magic   b"SCREC01\\n"
    chunk   header (24 bytes) | payload (length bytes) | trailer

    header  "<4sBBHIqI": b"SCk1", type, flags, reserved (0), index, time_us, length

``index`` counts chunks from 0 (the HEADER chunk) and must be the chunk's
position: a reader that finds any other value has a file whose chunks were
removed or reordered. ``time_us`` is microseconds since the recording's start
(its HEADER's ``start_unix``). The trailer is a CRC-32 of header and payload
(4 bytes) in a plain recording and a 16-byte AEAD tag in a sealed one
(:mod:`.crypto`; the header is then the associated data and the payload is
ciphertext). Chunk 0 is always plain: it says how to read the rest; so are
SIGNATURE chunks (a host's signature over the bytes before it, :mod:`.sign`).

Why chunks and no up-front index: a process killed at any moment leaves a
prefix of complete chunks plus at most one torn chunk, and the prefix plays.
A reader builds its index by walking the 24-byte headers (no payload is read,
so a 1-hour file is indexed in milliseconds).
"""

from __future__ import annotations

import enum
import json
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from screencodec.errors import DecodeError

__all__ = [
    "CHUNK_HEADER",
    "CHUNK_MAGIC",
    "FORMAT",
    "FORMAT_VERSION",
    "MAGIC",
    "MAX_PAYLOAD",
    "MIN_POINTER_VERSION",
    "PICTURE_HASH",
    "PICTURE_PAYLOAD",
    "PLAIN_TYPES",
    "RECORDING_NAME",
    "ChunkFlags",
    "ChunkHeader",
    "ChunkType",
    "NewerFormatError",
    "crc_trailer",
    "json_payload",
    "parse_json",
]

MAGIC = b"SCREC01\n"
#: A file name a recording may name as the one it resumes: the recorder's own
#: names, and nothing with a directory in it.
RECORDING_NAME = re.compile(r"[\w.-]{1,200}\.screc", re.ASCII)
CHUNK_MAGIC = b"SCk1"
CHUNK_HEADER = struct.Struct("<4sBBHIqI")
FORMAT = "screencodec-session-recording"
#: The newest format version this code reads (and writes). The writer
#: writes the lowest version that describes its file (1 without POINTER
#: chunks), so older readers keep reading what they can; a reader refuses a
#: HEADER ``version`` above this one as made by a newer version, not damage.
FORMAT_VERSION = 2
#: The version of a recording with POINTER chunks (pointer hashes).
MIN_POINTER_VERSION = 2
#: No chunk is larger: a 4K keyframe is far smaller; a bigger length is damage.
MAX_PAYLOAD = 64 * 1024 * 1024
CRC = struct.Struct("<I")
TAG_SIZE = 16


class ChunkType(enum.IntEnum):
    HEADER = 0  #: JSON: format, version, start, sealing (always plain)
    META = 1  #: JSON: session metadata known at the start
    UPDATE = 2  #: u32 wire sequence | one wire UPDATE message exactly as sent
    CURSOR = 3  #: one wire cursor message (shape or position) exactly as sent
    CHECKPOINT = 4  #: u32 updates before it | a lossless keyframe of the framebuffer
    EVENT = 5  #: JSON: one audit event
    END = 6  #: JSON: end, reason, counts; the last chunk of a complete recording
    #: A host's Ed25519 signature over the file before it (:mod:`.sign`);
    #: always plain (CRC trailer), also in a sealed recording. Only in a
    #: recording whose HEADER names a ``signer``; the last one follows END.
    SIGNATURE = 7
    #: u32 n | xxh3-64 of the framebuffer after the first n updates, both
    #: big-endian: the picture the update before it shows (the recorder
    #: decodes every update). Right after each UPDATE in a recording whose
    #: HEADER says ``"pictures": "xxh3-64"``.
    PICTURE = 8
    #: u32 n | xxh3-64 of the pointer as drawn after the first n cursor
    #: messages, both big-endian (:func:`pointer_digest`). Right after each
    #: CURSOR in a recording whose HEADER says ``"pointer": "xxh3-64"``
    #: (format version 2).
    POINTER = 9


#: A PICTURE chunk's payload: updates applied (u32), the framebuffer's xxh3-64.
PICTURE_PAYLOAD = struct.Struct(">IQ")
#: The HEADER's ``pictures`` value of a recording with a PICTURE chunk per update.
PICTURE_HASH = "xxh3-64"


class NewerFormatError(DecodeError):
    """A recording whose HEADER says it is of a format version newer than
    this code reads: not damage, a job for a newer screencodec."""


#: Chunks that are plain (CRC-32 trailer) in a sealed recording too.
PLAIN_TYPES = frozenset({ChunkType.HEADER, ChunkType.SIGNATURE})


class ChunkFlags(enum.IntFlag):
    NONE = 0
    KEYFRAME = 1  #: an UPDATE that is a wire keyframe (resets every decoder stream)


@dataclass(frozen=True, slots=True)
class ChunkHeader:
    """One chunk's header as found at ``offset`` (the header's first byte)."""

    type: ChunkType
    flags: int
    index: int
    time_us: int
    length: int
    offset: int

    @property
    def payload_offset(self) -> int:
        return self.offset + CHUNK_HEADER.size

    @property
    def time(self) -> float:
        return self.time_us / 1e6

    def pack(self) -> bytes:
        return CHUNK_HEADER.pack(
            CHUNK_MAGIC, self.type, self.flags, 0, self.index, self.time_us, self.length)

    @classmethod
    def unpack(cls, buf: Any, offset: int) -> ChunkHeader:
        """DecodeError when the bytes at ``offset`` are not a chunk header."""
        if len(buf) - offset < CHUNK_HEADER.size:
            raise DecodeError(f"torn chunk header at byte {offset}")
        magic, ctype, flags, reserved, index, time_us, length = CHUNK_HEADER.unpack_from(
            buf, offset)
        if magic != CHUNK_MAGIC or reserved:
            raise DecodeError(f"no chunk at byte {offset}")
        try:
            kind = ChunkType(ctype)
        except ValueError:
            raise DecodeError(f"unknown chunk type {ctype} at byte {offset}") from None
        if length > MAX_PAYLOAD:
            raise DecodeError(f"chunk of {length} bytes at byte {offset}")
        return cls(kind, flags, index, time_us, length, offset)


def crc_trailer(header: bytes, payload: bytes | memoryview) -> bytes:
    return CRC.pack(zlib.crc32(payload, zlib.crc32(header)))


def json_payload(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(payload: bytes, what: str) -> dict[str, Any]:
    # A hostile file's JSON must fail as damage (DecodeError), whatever it
    # holds: deep nesting raises RecursionError, an integer of more than
    # 4300 digits a plain ValueError, and NaN/Infinity (which json.loads
    # accepts, and the writer never writes) would make `export --log` write
    # lines that are not JSON.
    try:
        obj = json.loads(payload, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError too
        raise DecodeError(f"{what}: not JSON ({str(exc)[:200]})") from None
    if not isinstance(obj, dict):
        raise DecodeError(f"{what}: not a JSON object")
    return obj
