"""Which encoder a viewer's session runs: what the viewer can decode decides.

The viewer declares its decoders in a :class:`~.messages.Capabilities` message
(a viewer that sends none is a version-0.1 viewer and decodes every op of
that version, both H.264 profiles). From that, the session's default encoder
uses video regions and lossy photo areas only when the viewer decodes VIDEO
and PyAV is installed, 4:4:4 only when the viewer decodes it, COPY ops only
when it decodes COPY, and the ZSTREAM history stream only when it decodes
ZSTREAM and grants the stream's window (``max_cache``, 8 MiB): a terminal's
text then costs a fraction. Photo-like blocks are filtered with MED (about
0.75x the bytes) only for a viewer whose flags have
:data:`~.messages.Capabilities.ZSTD_MED`, else with DELTA_UP. A viewer
that cannot decode the lossless core ops cannot be served at all. A host's
own ``encoder_factory`` overrides all of this (it then answers for what it
sends).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

from screencodec.codecs.lossless import PhotoFilter
from screencodec.errors import ProtocolError
from screencodec.transport.session._msglink import Capabilities
from screencodec.transport.session.services import EncoderFactory, EncoderLike
from screencodec.wire import ZSTREAM_MAX_WINDOW, Op

__all__ = ["EncoderChoice", "choose_encoder", "open_encoder", "session_encoder"]

#: Ops every update may need: the lossless coder picks among them per block.
_CORE_OPS = (Op.FILL, Op.RAW, Op.ZSTD, Op.PALETTE)


@dataclass(frozen=True, slots=True)
class EncoderChoice:
    """How to build this session's encoder."""

    video: bool
    chroma: Literal["444", "420"]
    motion: bool
    factory: EncoderFactory | None = None  #: the host's own; overrides the rest
    history: bool = False  #: text-like blocks through one zstd stream (ZSTREAM)
    #: how photo-like blocks are filtered: "med" only if the viewer declared it
    photo_filter: PhotoFilter = "delta"


def _pyav() -> bool:
    return importlib.util.find_spec("av") is not None


def choose_encoder(caps: Capabilities, factory: EncoderFactory | None = None) -> EncoderChoice:
    """The encoder settings for a viewer with ``caps``; ProtocolError if it
    cannot decode what every session needs."""
    missing = [op.name for op in _CORE_OPS if not caps.decodes(op)]
    if missing:
        raise ProtocolError(f"the viewer cannot decode {', '.join(missing)}")
    video = caps.decodes(Op.VIDEO) and bool(caps.video) and _pyav()
    chroma: Literal["444", "420"] = "444" if caps.video & Capabilities.H264_444 else "420"
    history = caps.decodes(Op.ZSTREAM) and caps.max_cache >= ZSTREAM_MAX_WINDOW
    photo: PhotoFilter = "med" if caps.flags & Capabilities.ZSTD_MED else "delta"
    return EncoderChoice(video, chroma, caps.decodes(Op.COPY), factory, history, photo)


def open_encoder(choice: EncoderChoice, width: int, height: int) -> EncoderLike:
    if choice.factory is not None:
        return choice.factory(width, height)
    from screencodec.encoder import ScreenEncoder

    if choice.video:
        return ScreenEncoder(
            width, height, motion=choice.motion, video=True, video_chroma=choice.chroma,
            lossy=True, history=choice.history, photo_filter=choice.photo_filter,
        )  # fmt: skip
    return ScreenEncoder(
        width, height, motion=choice.motion, history=choice.history,
        photo_filter=choice.photo_filter,
    )  # fmt: skip


def session_encoder(
    width: int, height: int, capabilities: Capabilities | None = None
) -> EncoderLike:
    """The encoder a session runs for a viewer that declared ``capabilities``
    (default: one that decodes everything). For wrappers that observe it (a
    benchmark's ``encoder_factory``)."""
    return open_encoder(choose_encoder(capabilities or Capabilities.full()), width, height)
