"""Video regions: H.264 (PyAV / libx264) where the screen plays video, lossless elsewhere.

The package imports PyAV only when a video stage, stream or codec is built,
so ``screencodec`` works without the optional ``av`` dependency.

- ``_yuv`` (C, csrc/yuv.c) + ``reference``: BGRX <-> YUV 4:4:4 / 4:2:0.
- ``h264``: libx264 encoder / libavcodec decoder wrappers.
- ``codec``: the VIDEO op (payload, ``VideoStream``, ``VideoDecoder``, ``VIDEO_SPEC``).
- ``regions``: video-region detection; ``stage``: the encoder's pipeline stage.
- ``fullframe``: ``VideoStreamEncoder``, a plain H.264 stream of whole frames.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .stage import VideoStage

__all__ = ["available", "make_video_stage"]


def available() -> bool:
    """Whether PyAV is installed, so video regions can be encoded and decoded."""
    return importlib.util.find_spec("av") is not None


def make_video_stage(
    video: bool | Literal["auto"],
    *,
    crf: int | None = None,
    chroma: Literal["444", "420"] = "444",
    bitrate: int | None = None,
    refresh_delay: float | None = None,
) -> VideoStage | None:
    """The stage ``ScreenEncoder(video=...)`` runs: None when ``video`` is
    False, or ``"auto"`` without PyAV; ``True`` without PyAV raises
    CodecUnavailableError."""
    if video is False or (video == "auto" and not available()):
        return None
    if not available():
        from ..errors import CodecUnavailableError

        raise CodecUnavailableError("video regions need PyAV: pip install screencodec[video]")
    from .h264 import DEFAULT_CRF, H264Options
    from .stage import DEFAULT_REFRESH_DELAY, VideoStage

    options = H264Options(chroma=chroma, crf=DEFAULT_CRF if crf is None else crf, bitrate=bitrate)
    delay = DEFAULT_REFRESH_DELAY if refresh_delay is None else refresh_delay
    return VideoStage(options, refresh_delay=delay)
