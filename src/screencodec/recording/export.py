"""Exports of a recording: MP4 video, PNG screenshots, the JSONL audit log.

* :func:`export_mp4`: H.264 (PyAV, yuv420p for every player) at a constant
  ``fps`` sampled on the recording's own timeline: frame *k* is the viewer's
  framebuffer at ``k / fps`` seconds, so the video lasts what the session did
  (to one frame) whatever the update rate was. The recording is decoded
  once, forward.
* :func:`export_pngs`: one PNG every ``every`` seconds (BeyondTrust's form).
* :func:`export_log`: the metadata, then every audit event, one JSON object
  per line.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from screencodec.errors import CodecUnavailableError, DecodeError, ScreencodecError
from screencodec.frames import Frame
from screencodec.recording.chain import Chain, ChainCursor, ChainPlayer
from screencodec.recording.player import draw_cursor
from screencodec.recording.reader import RecordingReader
from screencodec.recording.verdicts import PictureFailure
from screencodec.wire.format import MessageType
from screencodec.wire.parse import parse_update, split_message

__all__ = ["MAX_FPS", "MAX_FRAMES", "UNVERIFIED", "export_log", "export_mp4", "export_pngs",
           "output_note", "write_png"]  # fmt: skip

#: The most MP4 frames (or PNGs) one export makes: 11.6 days at 10 fps. A
#: chunk time is whatever the file says (2**62 us is 146,000 years), and an
#: export loops over the timeline, so without a bound a forged time is an
#: export that never ends and fills the disk.
MAX_FRAMES = 10_000_000
MAX_FPS = 1000.0


def _bound(count: float, length: float, what: str) -> None:
    """DecodeError when an export of ``length`` seconds would make ``count`` > MAX_FRAMES."""
    if count > MAX_FRAMES:
        raise DecodeError(f"the recording says it lasts {length:.0f} s: that is {count:.0f} "
                         f"{what}, more than an export makes ({MAX_FRAMES}); are its times "
                         "forged?")  # fmt: skip


#: Rows of a PNG converted and compressed at a time: about this many bytes.
_PNG_BAND_BYTES = 4 << 20
#: A PNG's IDAT chunks are written once this much compressed data is waiting.
_PNG_IDAT_BYTES = 1 << 20


def write_png(path: Path, fb: Frame, cursor: tuple[Frame, int, int] | None = None, *,
              note: str = "") -> None:  # fmt: skip
    """An 8-bit RGB PNG of a BGRX framebuffer (no filter, zlib level 6), the
    pointer ``cursor`` (a :meth:`CursorTrack.at`) blended in; ``note``, when
    given, is written as its ``Comment`` (a tEXt chunk, Latin-1).

    Written in bands of rows, straight to the file (IDAT chunks of ~1 MiB):
    besides ``fb`` it takes a band's RGB (~4 MiB) and what zlib holds, never
    a copy of the picture. A 16384x16384 picture (1 GiB of framebuffer) was
    written through a copy with the pointer (1 GiB), the RGB rows (768 MiB)
    and their bytes (768 MiB) more: `play --at` peaked at 3.6 GB."""
    h, w = fb.shape[:2]
    rows = max(1, _PNG_BAND_BYTES // (w * 3 + 1))
    pack = zlib.compressobj(6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(data, zlib.crc32(kind)))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr))
        if note:
            f.write(chunk(b"tEXt", b"Comment\0" + note.encode("latin-1", "replace")))
        waiting: list[bytes] = []
        size = 0
        band = np.empty((min(rows, h), w * 3 + 1), np.uint8)
        band[:, 0] = 0  # filter type None for every row
        for y in range(0, h, rows):
            n = min(rows, h - y)
            pixels = fb[y : y + n]
            if cursor is not None and y - cursor[0].shape[0] < cursor[2] < y + n:
                pixels = draw_cursor(pixels, (cursor[0], cursor[1], cursor[2] - y))
            band[:n, 1:].reshape(n, w, 3)[...] = pixels[:, :, 2::-1]
            out = pack.compress(band[:n].data)
            if y + n >= h:
                out += pack.flush()
            if out:
                waiting.append(out)
                size += len(out)
            if size >= _PNG_IDAT_BYTES or (y + n >= h and size):
                f.write(chunk(b"IDAT", b"".join(waiting)))
                waiting, size = [], 0
        f.write(chunk(b"IEND", b""))


#: What an export of a picture that failed its check says of itself.
UNVERIFIED = "UNVERIFIED"


def output_note(unverified: str, *failures: PictureFailure | None) -> str:
    """The note of an output: "" when it is the host's picture; else why not
    (``unverified``: what is known of the whole recording)."""
    failure = next((f for f in failures if f is not None), None)
    if failure is not None:
        return f"{UNVERIFIED}: NOT the host's recorded picture: {failure.describe()}"
    return f"{UNVERIFIED}: {unverified}" if unverified else ""


def _chain(source: RecordingReader | Chain) -> Chain:
    """A recording as a session of one part; a session's parts as they are."""
    return source if isinstance(source, Chain) else Chain.of(source)


def export_pngs(
    source: RecordingReader | Chain, directory: Path, every: float, *, cursor: bool = True,
    strict: bool = True, unverified: str = "", failures: list[PictureFailure] | None = None,
) -> list[Path]:  # fmt: skip
    """A PNG every ``every`` seconds from 0 to the end (``t_000012.0.png``...),
    the first at the first picture when none was shown at 0 (:func:`_png_times`),
    with the pointer drawn in unless ``cursor`` is False. Each picture (and
    pointer) is checked against its recorded hash as it is decoded
    (:class:`Player`): one that fails raises BadPictureError, PNGs of the
    pictures before it written; with ``strict=False`` it is written as
    ``t_000012.0.UNVERIFIED.png`` with a ``Comment`` saying why, as is every
    PNG when ``unverified`` (why the whole recording is not verified) is
    given. ``failures`` gets those met (strict=False). A :class:`Chain`: its
    parts as one session, on the session's clock."""
    if not (every > 0 and math.isfinite(every)):  # 0: ZeroDivisionError; NaN: no count
        raise ValueError(f"a screenshot every {every} s: give a number of seconds above 0")
    chain = _chain(source)
    _bound(chain.duration / every, chain.duration, "screenshots")
    times = _png_times(chain, every)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # write_png takes no copy: up to the wire's size
    player = ChainPlayer(chain, max_pixels=None, strict=strict)
    track = ChainCursor(chain, strict=strict) if cursor else None
    out = []
    for t in times:
        fb = player.frame_at(t)
        if fb is None:
            continue
        drawn = None if track is None else track.at(t)
        note = output_note(unverified, player.shown_failure,
                       None if track is None else track.shown_failure)  # fmt: skip
        path = directory / f"t_{t:09.1f}{'.' + UNVERIFIED if note else ''}.png"
        write_png(path, fb, drawn, note=note)
        out.append(path)
    if failures is not None:
        failures += player.failures + ([] if track is None else track.failures)
    return out


def _png_times(chain: Chain, every: float) -> list[float]:
    """The times of :func:`export_pngs`' PNGs: every ``every`` seconds from 0
    to the end, and, when the first picture came after 0 (a session records
    from the agent's join; its first picture comes once the host's user said
    yes), that picture's time, rounded up to the tenth a PNG's name shows,
    in place of the times before it, which show nothing. walk41: a session
    of 87 s with ``--png-every 60`` had one PNG, at 60 s; the docs promised
    them from 0."""
    grid = [k * every for k in range(int(max(0.0, chain.duration) // every) + 1)]
    if not chain.update_count:
        return grid
    first = math.ceil(round(chain.update_time(0) * 10, 6)) / 10
    if first <= 0.0:
        return grid
    return [first, *(t for t in grid if t > first)]


def export_log(source: RecordingReader | Chain, path: Path) -> int:
    """The audit log as JSONL; returns the number of events. A :class:`Chain`
    of several parts: each part's ``session`` line (its META and END, with
    its ``file`` and ``offset``, seconds into the session) before its events,
    which name their ``file`` and are timed on the session's clock."""
    chain = _chain(source)
    events = chain.events()
    several = len(chain.parts) > 1
    with open(path, "w") as f:
        for part in chain.parts:
            where = {"file": part.path.name, "offset": part.offset} if several else {}
            f.write(json.dumps({"type": "session", **part.reader.meta(), **where},
                               sort_keys=True) + "\n")  # fmt: skip
            for ev in events:
                if not several or ev["file"] == part.path.name:
                    f.write(json.dumps(ev, sort_keys=True) + "\n")
    return len(events)


def _largest(chain: Chain, first: Frame, length: float) -> tuple[int, int]:
    """:func:`_largest_picture` over a session's parts."""
    w, h = first.shape[1], first.shape[0]
    for part in chain.parts:
        if part.offset <= length:
            pw, ph = _largest_picture(part.reader, first, length - part.offset)
            w, h = max(w, pw), max(h, ph)
    return w, h


def _largest_picture(reader: RecordingReader, first: Frame, length: float) -> tuple[int, int]:
    """(width, height) of the largest picture in the first ``length`` seconds:
    the video takes that size, so a switch to a larger monitor is shown
    whole and a smaller picture is padded. A size changes only with a
    keyframe, so only their headers are read; one the player cannot read
    either is passed over."""
    w, h = first.shape[1], first.shape[0]
    for ordinal in reader.index.keyframes:
        if reader.update_time(ordinal) > length:
            continue
        try:
            kind, body = split_message(reader.update(ordinal)[1])
            if kind is MessageType.UPDATE:
                update = parse_update(body)
                w, h = max(w, update.width), max(h, update.height)
        except ScreencodecError:
            continue
    return w, h


def _tagged(av: Any, part: Path, path: Path, note: str) -> None:
    """``part``'s video at ``path`` with its ``comment`` tag ``note``: its
    packets copied (a muxer takes its tags before the first packet, when the
    note is not known yet), then ``part`` removed."""
    with av.open(str(part)) as src, av.open(str(path), "w", format="mp4") as out:
        out.metadata["comment"] = note[:1000]
        video = src.streams.video[0]
        copy = out.add_stream_from_template(video)
        for packet in src.demux(video):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = copy
            out.mux(packet)
    part.unlink()


def export_mp4(
    source: RecordingReader | Chain, path: Path, *, fps: float = 10.0, crf: int = 23,
    preset: str = "veryfast", seconds: float | None = None, cursor: bool = True,
    strict: bool = True, unverified: str = "",
    on_frame: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Encode the recording (its first ``seconds``, default all) as H.264 MP4,
    the pointer drawn in unless ``cursor`` is False; returns frames,
    duration, size, ``unverified`` (its note: "" when every picture and
    pointer shown was the host's) and ``failures`` (strict=False: the
    pictures and pointers met that were not the host's).

    Each picture is checked against its recorded hash as it is decoded: a
    picture that is not the host's raises BadPictureError and no MP4 is
    left at ``path`` (it is written beside it and renamed once done). With
    ``strict=False`` the export goes on and the MP4's ``comment`` tag (what
    ffprobe shows) starts with UNVERIFIED and names the first failure, as
    it does when ``unverified`` (why the whole recording is not verified)
    is given. A :class:`Chain`: its parts as one session, on the session's
    clock. ``on_frame(done, frames)`` is called after each frame written
    (a command's progress line: walk44, a minute of silence for 6 min)."""
    try:
        import av
    except ImportError:
        raise CodecUnavailableError("MP4 export needs PyAV, the 'record' extra:"
                                    " pip install 'screencodec[record]'") from None  # fmt: skip
    # 0 divides by zero below, NaN and inf have no frame count, and the time
    # base is in thousandths of a frame a second (below 0.001 it is 0).
    if not 0.001 <= fps <= MAX_FPS:
        raise ValueError(f"{fps} frames a second: give a rate from 0.001 to {MAX_FPS:g}")
    chain = _chain(source)
    length = chain.duration if seconds is None else min(seconds, chain.duration)
    _bound(length * fps, length, "frames")
    frames = max(1, math.ceil(length * fps - 1e-9))
    player = ChainPlayer(chain, strict=strict)
    cursors = any(p.reader.index.cursors for p in chain.parts)
    track = ChainCursor(chain, strict=strict) if cursor and cursors else None
    first = player.first_picture()
    if first is None:
        raise CodecUnavailableError(f"{chain.path}: the recording holds no picture")
    w, h = _largest(chain, first, length)
    # 4:2:0 needs even sizes: an odd one is cropped by a pixel, and a 1-pixel
    # side (a hostile or odd header: cropping leaves nothing) padded to 2.
    ew, eh = max(2, w - w % 2), max(2, h - h % 2)
    rate = round(fps * 1000)
    path = Path(path)
    part = path.with_name(f".{path.name}.part")
    note = ""
    try:
        with av.open(str(part), "w", format="mp4") as out:
            stream = out.add_stream("libx264", rate=Fraction(rate, 1000))
            stream.width, stream.height = ew, eh
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": preset}
            for k in range(frames):
                fb = player.frame_at(k / fps)
                if fb is None:
                    fb = np.zeros_like(first)
                if track is not None:
                    fb = draw_cursor(fb, track.at(k / fps))
                note = note or output_note(unverified, player.shown_failure,
                                       None if track is None else track.shown_failure)
                if fb.shape[:2] != (eh, ew):  # odd, or a smaller monitor: pad (or crop by a pixel)
                    canvas = np.zeros((eh, ew, 4), np.uint8)
                    ch, cw = min(eh, fb.shape[0]), min(ew, fb.shape[1])
                    canvas[:ch, :cw] = fb[:ch, :cw]
                    fb = canvas
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(fb), format="bgra")
                frame = frame.reformat(format="yuv420p")
                frame.pts = k
                for packet in stream.encode(frame):
                    out.mux(packet)
                if on_frame is not None:
                    on_frame(k + 1, frames)
            for packet in stream.encode(None):
                out.mux(packet)
        if note:
            _tagged(av, part, path, note)
        else:
            part.replace(path)
    except av.FFmpegError as exc:  # x264 refuses a 16384x16384 picture: say which
        part.unlink(missing_ok=True)
        raise CodecUnavailableError(
            f"{chain.path}: MP4 export of its {w}x{h} picture failed ({exc})") from None
    except BaseException:  # a bad picture (or Ctrl-C): no MP4 that looks whole
        part.unlink(missing_ok=True)
        raise
    return {"frames": frames, "duration": frames / fps, "bytes": path.stat().st_size,
            "unverified": note,
            "failures": player.failures + ([] if track is None else track.failures)}
