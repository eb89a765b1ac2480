"""Resuming on the picture the viewer kept, not on a new keyframe.

A viewer whose link dropped still holds the host's screen as it last showed
it, and most of that screen has usually not changed in the seconds the link
was down. A keyframe would send all of it again: about a second at 4 Mbit/s
for an ordinary desktop. Instead (docs/transport.md, "Resuming on the kept
picture"):

* A host that can do this says so once VIEW is granted: an Extension on
  :data:`KEPT_CHANNEL` whose payload is the version, ``b"\\x01"``. An older
  viewer ignores an extension it does not know.
* A viewer reconnecting to such a host sends, right after its ticket, a
  *digest* of its picture on the same channel: version 1, width and height
  (u16 LE), a 16-byte key it chose at random, then 8 bytes per tile of
  :data:`TILE` x :data:`TILE` pixels in raster order (the last row and
  column may be partial): BLAKE2b keyed with that key over the tile's B, G,
  R bytes, row after row.
* If the ticket resumes the session and the digest's size is the screen's,
  the host hashes its own next frame the same way and sends, as its first
  update, a *delta* that paints every tile whose digest differs, made as a
  keyframe would be (no COPY, its ZSTREAM ops start a new stream), instead
  of a keyframe. A delta with no op (nothing changed) is sent all the same:
  the viewer's receipt of it ends its blind time. A digest the host cannot
  use is dropped, and the first update is a keyframe as before.

Why keyed: a web page on the host's screen can be anyone's. Unkeyed, eight
bytes are open to a search for two tiles with the same digest (2^32 work), so
a page could swap one for the other while the link is down and leave the
agent shown the old one. The key is random per resume and never on the
screen, so no such search can be done ahead.

What the viewer kept may differ anywhere (a lost update, lossy video or
stills): such tiles differ from the host's exact frame and are sent again.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from screencodec.damage._tiles import merge_rects
from screencodec.errors import ProtocolError
from screencodec.wire import MAX_DIMENSION

__all__ = ["DIGEST_SIZE", "KEPT_CHANNEL", "KEY_SIZE", "OFFER", "TILE", "KeptPicture"]

#: The reserved extension channel of the offer (host -> viewer) and the
#: digest (viewer -> host).
KEPT_CHANNEL = "screencodec.kept"
#: The host's offer: the version of the digest it reads.
OFFER = b"\x01"
TILE = 64
KEY_SIZE = 16
DIGEST_SIZE = 8
_HEAD = struct.Struct("<BHH")
_VERSION = 1


def _grid(width: int, height: int) -> tuple[int, int]:
    """Tile columns and rows of a ``width`` x ``height`` picture."""
    return -(-width // TILE), -(-height // TILE)


@dataclass(frozen=True)
class KeptPicture:
    """The digest of a viewer's picture: its size, key and tile digests."""

    width: int
    height: int
    key: bytes
    digests: bytes

    @classmethod
    def of(cls, frame: npt.NDArray[np.uint8], key: bytes | None = None) -> KeptPicture:
        """The digest of ``frame`` ((H, W, 4) uint8 BGRX) under ``key`` (a new
        random one by default)."""
        height, width = frame.shape[:2]
        key = secrets.token_bytes(KEY_SIZE) if key is None else key
        return cls(width, height, key, tile_digests(frame, key))

    def encode(self) -> bytes:
        return _HEAD.pack(_VERSION, self.width, self.height) + self.key + self.digests

    @classmethod
    def parse(cls, payload: bytes) -> KeptPicture:
        """Checks every field before use: ProtocolError for a digest of
        another version, an impossible size, or a length that is not the
        size's exactly."""
        if len(payload) < _HEAD.size + KEY_SIZE:
            raise ProtocolError(f"a kept-picture digest of {len(payload)} bytes")
        version, width, height = _HEAD.unpack_from(payload)
        if version != _VERSION:
            raise ProtocolError(f"a kept-picture digest of version {version}")
        if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
            raise ProtocolError(f"a kept picture of {width}x{height}")
        start = _HEAD.size + KEY_SIZE
        cols, rows = _grid(width, height)
        if len(payload) - start != cols * rows * DIGEST_SIZE:
            raise ProtocolError(
                f"a kept-picture digest of {len(payload) - start} bytes for {width}x{height}")
        return cls(width, height, bytes(payload[_HEAD.size : start]), bytes(payload[start:]))

    def differing(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
        """The rects of ``frame`` to send a viewer holding this picture:
        its tiles whose digest differs, merged (as damage is), (N, 4) int32
        of (x, y, w, h). ``frame`` must have this size."""
        height, width = frame.shape[:2]
        if (width, height) != (self.width, self.height):
            raise ValueError(f"a {width}x{height} frame for a {self.width}x{self.height} digest")
        ours = np.frombuffer(tile_digests(frame, self.key), np.uint64)
        theirs = np.frombuffer(self.digests, np.uint64)
        cols = _grid(width, height)[0]
        index = np.flatnonzero(ours != theirs)
        if not len(index):
            return np.zeros((0, 4), np.int32)
        x = (index % cols) * TILE
        y = (index // cols) * TILE
        w = np.minimum(TILE, width - x)
        h = np.minimum(TILE, height - y)
        return merge_rects(np.stack([x, y, w, h], axis=1).astype(np.int32), width, height)


def tile_digests(frame: npt.NDArray[np.uint8], key: bytes) -> bytes:
    """BLAKE2b-64 keyed with ``key`` of each TILE x TILE tile's B, G, R bytes
    (row after row), in raster order. The X byte is left out: a capture may
    set it to anything, a decoder sets it to 255."""
    height, width = frame.shape[:2]
    bgr = np.ascontiguousarray(frame[..., :3])  # one pass: the tiles below are views
    out = bytearray()
    # One call per tile, once per resume (510 at 1080p: 25-65 ms, medians
    # measured under load 8-9 on the 2-core machine): the hashing itself
    # runs in C, and a resume is not a hot path.
    for y in range(0, height, TILE):
        band = bgr[y : y + TILE]
        for x in range(0, width, TILE):
            tile = np.ascontiguousarray(band[:, x : x + TILE])
            out += hashlib.blake2b(tile.data, digest_size=DIGEST_SIZE, key=key).digest()
    return bytes(out)
