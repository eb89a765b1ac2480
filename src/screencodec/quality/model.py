"""How many bytes a lossy still or a lossless refinement will take: the model
the rate controller picks quantisers and refinement sizes from.

Lossy stills: a bits-per-pixel curve over the quantiser (measured with x264
``superfast`` intra pictures on the synthetic photo wallpaper, 4:4:4 and
4:2:0), shifted in the log domain by feedback. Content differs in scale and
in shape (film with little grain costs a tenth of a grainy wallpaper at a
coarse quantiser, about as much at a fine one), so the shift is learnt per
band of 6 quantiser steps: the first still in a band sets its shift, later
ones move it half-way towards what they really cost. A band not seen yet
borrows the nearest seen band's shift, but never a negative one: the curve is
that of costly content, so an unknown band errs towards coarse quantisers
(under budget) rather than towards a picture several times too big.

Quality floor: the quantiser never exceeds a cap that starts where the grainy
wallpaper still reaches the PSNR floor and moves with feedback: a still that
came within 1 dB of the floor lowers the cap below its quantiser, one well
above lets it rise again by one step.

Lossless: bytes per pixel of photo-like content sent losslessly, and of
refinement (moving averages over the last few sends), to estimate what
sending a block or refining lossy cells exactly will cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["QP_STEP", "LossyOptions", "RateModel"]

QP_STEP = 2

_QP = np.array([12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45], np.float64)
#: bits per pixel of x264 superfast intra pictures of the grainy photo wallpaper
_BPP_444 = np.log2([3.2, 2.8, 2.45, 2.1, 1.8, 1.55, 1.3, 1.1, 0.97, 0.8, 0.66, 0.51])
_BPP_420 = np.log2([2.95, 2.6, 2.3, 2.0, 1.72, 1.46, 1.25, 1.07, 0.93, 0.77, 0.63, 0.48])
#: The op header, the VIDEO payload header and SPS + PPS of every still.
_STILL_OVERHEAD = 60
_LOSSLESS_INIT = 0.75  # bytes per pixel of photo-like content (zstd, filtered)
#: ... of refined areas, per weighted pixel (lossymap: 0.7-1.6 on the corpus
#: for content not seen before), erring high
_REFINE_INIT = 1.0
#: How far one observation moves a bytes-per-pixel estimate (about the last
#: five updates count).
_LEARN = 0.2


@dataclass(frozen=True, slots=True)
class LossyOptions:
    """Tuning of lossy coding under a rate (``ScreenEncoder(lossy=True)``).

    :param min_psnr: PSNR floor (dB) of lossy pixels: a still below it is
        encoded again at a finer quantiser, and sent losslessly if that fails.
    :param qp_min: finest quantiser: past it a still costs about as much as
        its refinement will, so better quality is left to the refinement.
    :param qp_max: coarsest quantiser ever used.
    :param qp_start: the coarsest quantiser at the start (the cap then moves
        with the measured PSNR, within ``qp_min..qp_max``, in steps of
        ``QP_STEP`` from ``qp_min``).
    :param preset: x264 preset of the stills.
    :param video_share: share of the rate given to video regions.
    :param video_share_refining: ... while lossy pixels outside every film
        wait for refinement (a first picture's stills beside a film): the
        rest refines them, so the text beside a film is exact in seconds,
        and the film's quality climbs after. At least half ``video_share``
        (a stream's rate moves live down to half the rate it opened at).
    :param video_qp_max: the coarsest quantiser of video regions under a rate
        (their quality floor: about 33 dB on film; past it they overshoot).
    :param lossless_slack: photo-like damage is sent losslessly when its
        estimated size is at most this times the budget left: a little over
        budget costs less than a lossy picture and its refinement.
    :param min_still: smallest lossy still (w, h), and ``min_still_area`` the
        fewest photo-like pixels it must hold; smaller damage stays lossless.
    :param max_stills: lossy stills per update at most (the viewer takes 8
        VIDEO ops per update, video regions included).
    :param first_picture: seconds of the rate a keyframe's text may take;
        past it the text goes lossy in the stills too and is refined after,
        so a joining viewer sees a picture soon (text is otherwise always
        lossless); unless those stills took more than twice this (the PSNR
        floor over fine grain) and more than the text: then the keyframe is
        made again with its text and UI exact and its stills coarse
        (``first_min_psnr``).
    :param delta_picture: seconds of the rate a delta update's text may
        take (the budget left, when more): past it the text below is filled
        with each block's background and refined after, top down, so a Page
        Down of a text page shows its top at once; 0: text always exact.
    :param first_min_psnr: the PSNR floor of a keyframe's stills when its
        text and UI are exact. A keyframe is refined to exact by the updates
        right after it, and over fine grain ``min_psnr`` asks a quantiser
        that makes the picture several times larger (a 1080p wallpaper of
        grain sigma 6: 281 kB at qp 26 and 31 dB, 27 kB at qp 38 and 27 dB).
        Its stills are encoded finer, up to twice ``first_picture``, while
        they stay below ``min_psnr``. Grain so heavy that this floor alone
        would take them past that (sigma 10 and more) is not held to it:
        those stills go at ``qp_max`` (24-26 dB; sigma 12: 70 kB at 1
        Mbit/s instead of 880 kB).
    """

    min_psnr: float = 30.0
    qp_min: int = 20
    qp_max: int = 42
    qp_start: int = 38
    preset: str = "superfast"
    video_share: float = 0.8
    video_share_refining: float = 0.4
    video_qp_max: int = 40
    lossless_slack: float = 1.25
    min_still: tuple[int, int] = (2, 2)
    min_still_area: int = 512
    max_stills: int = 6
    first_picture: float = 0.4
    delta_picture: float = 0.15
    first_min_psnr: float = 26.0

    def __post_init__(self) -> None:
        if not 1 <= self.qp_min <= self.qp_start <= self.qp_max <= 51:
            raise ValueError("need 1 <= qp_min <= qp_start <= qp_max <= 51")
        if not 0 < self.video_share <= 1:
            raise ValueError("video_share must lie in (0, 1]")
        if not 0 < self.video_share_refining <= self.video_share:
            raise ValueError("video_share_refining must lie in (0, video_share]")
        if not 1 <= self.max_stills <= 7:
            raise ValueError("max_stills must lie in 1..7")
        if self.lossless_slack < 1:
            raise ValueError("lossless_slack must be at least 1")
        if not self.first_picture > 0:
            raise ValueError("first_picture must be positive")
        if self.delta_picture < 0:
            raise ValueError("delta_picture must not be negative")
        if not 0 < self.first_min_psnr <= self.min_psnr:
            raise ValueError("first_min_psnr must lie in (0, min_psnr]")


class RateModel:
    """Predicts still and lossless sizes; learns from what was sent.

    State: the log2 shifts of the still curve, the quantiser cap, the lossless
    bytes per pixel. Not thread-safe (the encoder's thread only).
    """

    def __init__(self, options: LossyOptions, chroma420: bool) -> None:
        self.options = o = options
        self._curve = _BPP_420 if chroma420 else _BPP_444
        self._offsets: dict[int, float] = {}  # log2 shift per band of 6 quantisers
        # The coarsest quantiser on the QP_STEP grid from qp_min.
        self._top = o.qp_min + (o.qp_max - o.qp_min) // QP_STEP * QP_STEP
        self.qp_cap = min(self._top, o.qp_min + (o.qp_start - o.qp_min) // QP_STEP * QP_STEP)
        self.lossless_per_pixel = _LOSSLESS_INIT
        #: the same for refinement, per pixel weighted by detail (lossymap)
        self.refine_per_pixel = _REFINE_INIT
        self._last_qp: int | None = None

    def offset(self, qp: int) -> float:
        """The log2 shift of the curve at ``qp``."""
        band = qp // 6
        if band in self._offsets:
            return self._offsets[band]
        if not self._offsets:
            return 0.0
        near = min(self._offsets, key=lambda b: (abs(b - band), b))
        return max(0.0, self._offsets[near])

    def still_bytes(self, qp: int, pixels: int) -> float:
        """Predicted size of stills at ``qp`` over ``pixels`` photo-like pixels."""
        log_bpp = float(np.interp(qp, _QP, self._curve)) + self.offset(qp)
        return float(pixels * 2.0**log_bpp / 8)

    def choose_qp(self, pixels: int, target: float, stills: int = 1) -> int:
        """The finest quantiser (at most the cap) whose predicted size fits
        ``target`` bytes; the cap when none does. Quantisers go in steps of
        ``QP_STEP`` from ``qp_min``: an x264 encoder is opened per quantiser
        and picture size, and fewer quantisers mean more of them are reused."""
        room = target - stills * _STILL_OVERHEAD
        best = self.qp_cap
        for qp in range(self.options.qp_min, self.qp_cap, QP_STEP):
            if self.still_bytes(qp, pixels) <= room:
                best = qp
                break
        # One step either way keeps the last quantiser: budgets left over
        # after text and refinement jitter from update to update, and every
        # new quantiser is a new encoder to open.
        last = self._last_qp
        if last is not None and abs(best - last) <= QP_STEP and last <= self.qp_cap:
            best = last
        self._last_qp = best
        return best

    def observe_still(self, qp: int, pixels: int, size: int, psnr: float | None) -> None:
        """Learn from stills just sent: their quantiser, photo-like pixels,
        bytes (payloads) and PSNR."""
        o = self.options
        predicted = self.still_bytes(qp, pixels)
        actual = max(1.0, size - _STILL_OVERHEAD)
        if pixels >= 1024 and predicted > 0:
            band = qp // 6
            err = math.log2(actual / predicted)
            gain = 0.5 if band in self._offsets else 1.0
            self._offsets[band] = min(4.0, max(-6.0, self.offset(qp) + gain * err))
        if psnr is None:
            return
        # The cap moves in whole QP_STEPs from qp_min, so that the stills of
        # a scene keep to a few quantisers (and reuse their encoders).
        if psnr < o.min_psnr + 1:
            self.qp_cap = max(o.qp_min, min(self.qp_cap, qp - QP_STEP))
        elif psnr > o.min_psnr + 4 and qp >= self.qp_cap:
            self.qp_cap = min(self._top, self.qp_cap + QP_STEP)

    def observe_refine(self, pixels: int, size: int, *, weighted: float | None = None) -> None:
        """Learn from a refinement just sent: ``pixels`` of them, ``weighted``
        pixels by the lossy map's weights (default: ``pixels``)."""
        if pixels >= 1024:
            cost = size / max(1.0, pixels if weighted is None else weighted)
            if cost > self.refine_per_pixel:
                # Dearer than thought: believe it at once (an underestimate
                # sends a refinement that holds the link for several frames).
                self.refine_per_pixel = cost
            else:
                self.refine_per_pixel += _LEARN * (cost - self.refine_per_pixel)

    def lossless_bytes(self, pixels: int, thin: int = 0) -> float:
        """Predicted size of ``pixels`` photo-like pixels sent losslessly, of
        which ``thin`` lie in rects 1 to 3 pixels high or wide: those compress
        about as badly as raw pixels (3 bytes each)."""
        return (pixels - thin) * self.lossless_per_pixel + thin * max(3.0, self.lossless_per_pixel)

    def observe_lossless(self, pixels: int, size: int) -> None:
        """Learn from photo-like pixels just sent losslessly."""
        if pixels >= 1024:
            self.lossless_per_pixel += _LEARN * (size / pixels - self.lossless_per_pixel)
