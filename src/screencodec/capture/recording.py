"""Recorded screen clips on disk: the real-screen corpus format.

A clip is a folder with two files:

* ``frames.bin``: one screencodec UPDATE message per captured frame,
  concatenated (each message is self-delimiting). They come from a lossless
  ``ScreenEncoder(w, h, integrity=True, video=False)``, so every update carries
  the xxh3-64 of the framebuffer it produces and frame 0 is a keyframe.
* ``manifest.json``: name, size, nominal fps, per-frame times (seconds from the
  first frame, as captured with ``time.monotonic``), per-frame hashes (hex
  xxh3-64 of the frame as a viewer holds it: captured B, G, R with the 4th byte
  255, i.e. :func:`screencodec.frames.framebuffer_hash` of the decoded
  framebuffer) and free-form notes on what was recorded; optionally, per
  frame, the X server's damage (XDamage) reported since the previous frame.

Our own codec is the storage format because it is lossless, compact on screen
content and already hardened against hostile input; the hashes make every
decoded frame provably the captured one. ``scripts/record_corpus.py`` writes
the corpus with :class:`RecordingWriter`; :class:`Recording` plays it back
(usually through :class:`screencodec.capture.replay.PacedSource`).
"""

from __future__ import annotations

import itertools
import json
import math
import mmap
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from screencodec.frames import Frame

from ..errors import CaptureError, DecodeError, FrameError, IntegrityError
from ..frames import as_frame
from ..wire import MAX_DIMENSION, MessageType, UpdateFlags
from ..wire.format import HASH, HEADER, UPDATE_HEADER
from ..wire.parse import parse_header

if TYPE_CHECKING:
    # The codec imports the capture package (for CursorState): import it lazily.
    from ..decoder import ScreenDecoder

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_DAMAGE_RECTS", "Recording", "RecordingWriter"]


FORMAT = "screencodec-recording"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FRAMES = "frames.bin"
_HASH_NOTE = (
    "xxh3-64 of the frame as decoded (captured B, G, R; 4th byte 255): "
    "screencodec.frames.framebuffer_hash"
)
_HEX = frozenset("0123456789abcdef")
#: Bytes of an update message up to and including its framebuffer hash.
_PREFIX = HEADER.size + UPDATE_HEADER.size + HASH.size
#: At most this many damage rects per frame (x11damage.MAX_RECTS: the tracker
#: reports a larger region as its extents).
MAX_DAMAGE_RECTS = 4096
_DAMAGE_NOTE = (
    "per frame: the XDamage rects (x, y, w, h; clipped to the screen) the X server "
    "reported since the previous frame's grab, taken right before this frame's grab "
    "(ScreenSource.grab_hinted); null for frame 0 and when the damage was not known"
)


def _update_prefix(buf: Any, pos: int, where: str) -> tuple[int, int, bool, int, int, int]:
    """(message length, sequence, keyframe, width, height, framebuffer hash) of the update
    message at ``pos`` in ``buf``, from its headers alone. DecodeError when the
    message is not a hashed update or runs past the end of ``buf``."""
    size = len(buf)
    if size - pos < HEADER.size:
        raise DecodeError(f"{where}: truncated message header at byte {pos}")
    mtype, body_len = parse_header(buf[pos : pos + HEADER.size])
    end = pos + HEADER.size + body_len
    if mtype is not MessageType.UPDATE:
        raise DecodeError(f"{where}: a {mtype.name} message where an update belongs")
    if end > size or body_len < UPDATE_HEADER.size + HASH.size:
        raise DecodeError(f"{where}: update of {body_len} bytes truncated at byte {size}")
    seq, flags, w, h, _res, _count = UPDATE_HEADER.unpack_from(buf, pos + HEADER.size)
    if not flags & UpdateFlags.HASH:
        raise DecodeError(f"{where}: update carries no framebuffer hash")
    (fb_hash,) = HASH.unpack_from(buf, pos + HEADER.size + UPDATE_HEADER.size)
    return end - pos, seq, bool(flags & UpdateFlags.KEYFRAME), w, h, fb_hash


def _field(m: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = m.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DecodeError(f"{where}: manifest field {key!r} is missing or not {kind}")
    return value


def _damage_rects(value: Any, width: int, height: int, where: str) -> npt.NDArray[np.int32] | None:
    """One frame's manifest damage (null, or a list of [x, y, w, h]) -> an (n, 4)
    int32 array (None for null). DecodeError unless every rect is 4 integers
    with a positive size inside the frame, and there are at most
    :data:`MAX_DAMAGE_RECTS` of them."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise DecodeError(f"{where}: damage is not a list of rects or null")
    if len(value) > MAX_DAMAGE_RECTS:
        raise DecodeError(f"{where}: {len(value)} damage rects, more than {MAX_DAMAGE_RECTS}")
    for r in value:
        ok = (
            isinstance(r, list)
            and len(r) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in r)
        )
        if not ok:
            raise DecodeError(f"{where}: damage rect {r!r} is not 4 integers [x, y, w, h]")
        x, y, w, h = r
        if not (x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= width and y + h <= height):
            raise DecodeError(
                f"{where}: damage rect {r!r} is empty or not inside the {width}x{height} frame"
            )
    rects: npt.NDArray[np.int32] = np.array(value, np.int32).reshape(-1, 4)
    rects.flags.writeable = False
    return rects


class Recording:
    """A recorded clip (see the module docstring); a ``FrameSequence``.

    ``frame(i)`` returns frame ``i`` as an (H, W, 4) uint8 BGRX read-only view
    of an internal decoder's framebuffer: the next ``frame`` call overwrites
    it, so copy it to keep it. Decoding is sequential: going forwards decodes
    the updates in between, going backwards starts again from frame 0. Every
    decoded update is checked against its framebuffer hash, and that hash
    against the manifest (at :meth:`open`), so each returned frame is exactly
    the captured one; anything else raises :class:`DecodeError`
    (:class:`IntegrityError` for a hash mismatch) and the next call starts
    again from frame 0.

    State: the decoder, the index of the frame it holds, the mapped
    ``frames.bin``. Not thread-safe: one reader per thread, or a lock. A
    :meth:`close` from another thread waits for a read in progress, which
    returns its frame; later reads raise CaptureError.
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        data: mmap.mmap,
        offsets: list[int],
        damage: list[npt.NDArray[np.int32] | None] | None = None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.name: str = manifest["name"]
        self.width: int = manifest["width"]
        self.height: int = manifest["height"]
        self.fps: float = float(manifest["fps"])
        self.times: list[float] = [float(t) for t in manifest["times"]]
        self.hashes: list[int] = [int(h, 16) for h in manifest["hashes"]]
        self.description: str = str(manifest.get("description", ""))
        self._damage = damage  # per frame, checked by _check_manifest
        self._data: mmap.mmap | None = data
        self._offsets = offsets  # message i is data[offsets[i]:offsets[i + 1]]
        self._decoder: ScreenDecoder | None = None
        self._pos = -1  # the frame the decoder holds
        self._fb: Frame | None = None
        # Held by a read and by close(): a close from another thread (a
        # host's owner ending the session while its capture thread grabs)
        # dropped the decoder between two steps of a read, which crashed
        # with AttributeError (lead47; seen once in a bench).
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Recording:
        """Open the clip in folder ``path``: read and check the manifest, index
        ``frames.bin`` and check every update's size, hash flag and hash against
        the manifest. CaptureError when a file cannot be read, DecodeError when
        one is malformed."""
        folder = Path(path)
        where = str(folder)
        try:
            text = (folder / MANIFEST).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CaptureError(f"{where}: cannot read {MANIFEST}: {exc}") from exc
        try:
            manifest = json.loads(text)
        except ValueError as exc:
            raise DecodeError(f"{where}: {MANIFEST} is not valid JSON: {exc}") from exc
        damage = cls._check_manifest(manifest, where)
        try:
            with open(folder / FRAMES, "rb") as f:
                if os.fstat(f.fileno()).st_size == 0:
                    raise DecodeError(f"{where}: {FRAMES} is empty")
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise CaptureError(f"{where}: cannot read {FRAMES}: {exc}") from exc
        try:
            offsets = cls._index(data, manifest, where)
        except BaseException:
            data.close()
            raise
        return cls(folder, manifest, data, offsets, damage)

    @staticmethod
    def _check_manifest(m: Any, where: str) -> list[npt.NDArray[np.int32] | None] | None:
        """Check the manifest ``m``; return its damage, one entry per frame
        (None without a ``damage`` field)."""
        if not isinstance(m, dict):
            raise DecodeError(f"{where}: {MANIFEST} is not a JSON object")
        if m.get("format") != FORMAT or m.get("version") != FORMAT_VERSION:
            raise DecodeError(
                f"{where}: not a {FORMAT} version {FORMAT_VERSION} manifest "
                f"(format {m.get('format')!r}, version {m.get('version')!r})"
            )
        _field(m, "name", str, where)
        w, h = _field(m, "width", int, where), _field(m, "height", int, where)
        n = _field(m, "frames", int, where)
        fps = _field(m, "fps", (int, float), where)
        times, hashes = _field(m, "times", list, where), _field(m, "hashes", list, where)
        if not (1 <= w <= MAX_DIMENSION and 1 <= h <= MAX_DIMENSION):
            raise DecodeError(f"{where}: frame size {w}x{h} out of range")
        if not (math.isfinite(fps) and fps > 0):
            raise DecodeError(f"{where}: fps {fps!r} is not positive")
        if n < 1 or len(times) != n or len(hashes) != n:
            raise DecodeError(
                f"{where}: {n} frames but {len(times)} times and {len(hashes)} hashes"
            )
        prev = 0.0
        for i, t in enumerate(times):
            ok = isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t)
            if not ok or t < prev or (i == 0 and t != 0):
                raise DecodeError(
                    f"{where}: time {t!r} of frame {i} is not a non-decreasing count of "
                    "seconds from frame 0"
                )
            prev = t
        for i, s in enumerate(hashes):
            if not (isinstance(s, str) and len(s) == 16 and set(s) <= _HEX):
                raise DecodeError(f"{where}: hash {s!r} of frame {i} is not 16 hex digits")
        damage = m.get("damage")
        if damage is None:
            return None
        if not isinstance(damage, list) or len(damage) != n:
            raise DecodeError(f"{where}: manifest field 'damage' is not a list of {n} frames")
        if damage[0] is not None:
            raise DecodeError(f"{where}: damage of frame 0 (a keyframe) is not null")
        return [
            _damage_rects(d, w, h, f"{where}: damage of frame {i}") for i, d in enumerate(damage)
        ]

    @staticmethod
    def _index(data: mmap.mmap, m: dict[str, Any], where: str) -> list[int]:
        offsets = [0]
        pos, size = 0, len(data)
        for i, want in enumerate(m["hashes"]):
            at = f"{where}/{FRAMES} frame {i}"
            length, seq, key, w, h, fb_hash = _update_prefix(data, pos, at)
            # The sequence is the one header field decoding ignores: check it here
            # so that no byte of the file can change without an error.
            if seq != i:
                raise DecodeError(f"{at}: update sequence {seq} where {i} belongs")
            if (w, h) != (m["width"], m["height"]):
                raise DecodeError(f"{at}: {w}x{h} in a {m['width']}x{m['height']} recording")
            if i == 0 and not key:
                raise DecodeError(f"{at}: the first update is not a keyframe")
            if f"{fb_hash:016x}" != want:
                raise DecodeError(f"{at}: update hash {fb_hash:016x} != manifest {want}")
            pos += length
            offsets.append(pos)
        if pos != size:
            raise DecodeError(f"{where}/{FRAMES}: {size - pos} bytes after the last frame")
        return offsets

    def __len__(self) -> int:
        return len(self.times)

    @property
    def nbytes(self) -> int:
        """Size of ``frames.bin``."""
        return self._offsets[-1]

    def update_size(self, index: int, /) -> int:
        """Bytes of the stored update of frame ``index``."""
        return self._offsets[index + 1] - self._offsets[index]

    @property
    def has_damage(self) -> bool:
        """Whether the clip recorded the X server's damage (manifest ``damage``)."""
        return self._damage is not None

    def damage(self, index: int, /) -> npt.NDArray[np.int32] | None:
        """The XDamage rects (a read-only (n, 4) int32 array of x, y, w, h inside the
        frame; n may be 0: nothing drawn) the X server reported between the grabs of
        frames ``index - 1`` and ``index``, taken right before the grab of frame
        ``index``: what was drawn during that grab is in the next frame's damage.
        None when the clip has no damage, for frame 0 (a keyframe), and for a
        frame whose damage was not known. FrameError for an index out of range."""
        if not 0 <= index < len(self.times):
            raise FrameError(f"{self.name}: frame {index} outside 0..{len(self.times) - 1}")
        return None if self._damage is None else self._damage[index]

    def frame(self, index: int, /) -> Frame:
        """Frame ``index`` (see the class notes: a read-only view, overwritten later)."""
        if not 0 <= index < len(self.times):
            raise FrameError(f"{self.name}: frame {index} outside 0..{len(self.times) - 1}")
        with self._lock:
            data = self._data
            if data is None:
                raise CaptureError(f"{self.name}: the recording is closed")
            if index < self._pos or self._decoder is None:
                from ..decoder import ScreenDecoder

                self._decoder = ScreenDecoder(max_width=self.width, max_height=self.height)
                self._pos = -1
            while self._pos < index:
                self._step(self._decoder, data)
            assert self._fb is not None
            return self._fb

    def _step(self, dec: ScreenDecoder, data: mmap.mmap) -> None:
        k = self._pos + 1
        try:
            fb = dec.decode(data[self._offsets[k] : self._offsets[k + 1]])
        except DecodeError as exc:
            self._decoder, self._pos, self._fb = None, -1, None
            kind = IntegrityError if isinstance(exc, IntegrityError) else DecodeError
            raise kind(f"{self.path}/{FRAMES} frame {k}: {exc}") from exc
        self._pos, self._fb = k, fb

    def close(self) -> None:
        """Unmap ``frames.bin``; later ``frame`` calls raise CaptureError. Idempotent."""
        with self._lock:
            data, self._data = self._data, None
            self._decoder, self._fb, self._pos = None, None, -1
        if data is not None:
            data.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Recording({self.name!r}, {self.width}x{self.height}, {len(self)} frames, "
            f"{self.nbytes} bytes)"
        )


class RecordingWriter:
    """Writes a clip folder: :meth:`add` encodes one frame (and, with
    ``verify=True``, decodes it again and checks that B, G, R are exactly the
    given frame's); :meth:`close` writes ``manifest.json``. Until then the
    folder holds no manifest, so an interrupted recording never opens as a clip.

    ``info`` is stored in the manifest as ``"recorded"`` (what, how, versions).
    ``times`` passed to :meth:`add` are any clock's seconds; the manifest keeps
    them relative to the first frame. Not thread-safe.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str,
        width: int,
        height: int,
        *,
        fps: float,
        description: str = "",
        info: dict[str, Any] | None = None,
        verify: bool = True,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / MANIFEST).unlink(missing_ok=True)
        self.name, self.width, self.height, self.fps = name, width, height, float(fps)
        self.description = description
        self.info = dict(info or {})
        from ..decoder import ScreenDecoder
        from ..encoder import ScreenEncoder

        self._encoder = ScreenEncoder(width, height, integrity=True, video=False, threads=threads)
        self._decoder = ScreenDecoder() if verify else None
        self._file = open(self.path / FRAMES, "wb")  # noqa: SIM115 - closed in close()
        self._t0: float | None = None
        self.times: list[float] = []
        self.hashes: list[int] = []
        self.sizes: list[int] = []
        #: per frame, the damage given to :meth:`add` as lists of [x, y, w, h]
        self.damage: list[list[list[int]] | None] = []
        self._has_damage = False

    def add(self, frame: Any, t: float, /, damage: Any = None) -> int:
        """Encode ``frame`` captured at time ``t`` (seconds); return its update's size.

        ``damage``: the X server's damage since the previous frame (an (n, 4)
        integer array of x, y, w, h rects inside the frame, as
        ``ScreenSource.grab_hinted`` gives it), or None (not known; always for
        frame 0). A clip is stored with ``damage`` when any frame had some."""
        f = as_frame(frame)
        if f.shape[:2] != (self.height, self.width):
            size = f"{f.shape[1]}x{f.shape[0]}"
            raise FrameError(f"frame {size} in a {self.width}x{self.height} clip")
        if self._t0 is None:
            self._t0 = t
        rel = t - self._t0
        if self.times and rel < self.times[-1]:
            raise FrameError(f"frame time {rel} goes back from {self.times[-1]}")
        rects: list[list[int]] | None = None
        if damage is not None and self.times:
            try:
                a = np.asarray(damage)
            except Exception as exc:
                raise FrameError(f"{self.name}: damage is not (x, y, w, h) rects: {exc}") from None
            if a.size == 0:
                a = a.reshape(0, 4)
            if a.dtype.kind not in "iu" or a.ndim != 2 or a.shape[1] != 4:
                raise FrameError(f"{self.name}: damage must be (n, 4) integers, not {a.shape}")
            rects = a.tolist()
            try:
                _damage_rects(rects, self.width, self.height, self.name)
            except DecodeError as exc:
                raise FrameError(str(exc)) from None
        data = self._encoder.encode(f)
        fb_hash = _update_prefix(data, 0, self.name)[-1]
        if self._decoder is not None:
            out = self._decoder.decode(data)
            if not np.array_equal(out[..., :3], f[..., :3]):
                raise IntegrityError(f"{self.name}: frame {len(self.times)} did not round-trip")
        self._file.write(data)
        self.times.append(rel)
        self.hashes.append(fb_hash)
        self.sizes.append(len(data))
        self.damage.append(rects)
        self._has_damage = self._has_damage or rects is not None
        return len(data)

    def close(self) -> dict[str, Any]:
        """Finish ``frames.bin`` and write the manifest; return the manifest."""
        self._file.close()
        self._encoder.close()
        if not self.times:
            raise FrameError(f"{self.name}: no frames recorded")
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "description": self.description,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": len(self.times),
            "bytes": sum(self.sizes),
            "changed_frames": sum(a != b for a, b in itertools.pairwise(self.hashes)),
            "encoder": {"integrity": True, "video": False, "motion": True},
            "hash": _HASH_NOTE,
            "recorded": self.info,
            "times": [round(t, 6) for t in self.times],
            "hashes": [f"{h:016x}" for h in self.hashes],
        }
        text = json.dumps(manifest, indent=1)
        if self._has_damage:
            # One line per frame (indent=1 would give every number a line of its own).
            manifest["damage_note"] = _DAMAGE_NOTE
            manifest["damage"] = self.damage
            lines = ",\n  ".join(json.dumps(d, separators=(",", ":")) for d in self.damage)
            text = (
                text[: text.rindex("\n}")]
                + f',\n "damage_note": {json.dumps(_DAMAGE_NOTE)},\n "damage": [\n  {lines}\n ]\n}}'
            )
        tmp = self.path / (MANIFEST + ".part")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(self.path / MANIFEST)
        return manifest

    def abort(self) -> None:
        """Stop without a manifest (the folder is left incomplete)."""
        self._file.close()
        self._encoder.close()
