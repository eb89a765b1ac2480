"""Rate control on the encoder side: lossy where it costs least, exact again
when the link has room (``ScreenEncoder(lossy=True).set_rate(...)``).

- ``classify``: which blocks look like photos (vectorised text test).
- ``model``: ``LossyOptions`` and the size model (quantiser choice, lossless
  bytes per pixel) corrected by feedback.
- ``lossymap``: which tiles are not exact at the viewer, and their source.
- ``plan``: where an update's stills go, and the text and UI inside them.
- ``stills``: lossy stills, one H.264 IDR per rect, as VIDEO ops (PyAV);
  ``sps`` rewrites their SPS cropping so encoders are shared between sizes.
- ``controller``: ``RateController``, the per-update budget: text lossless,
  photo-like damage lossless or lossy, refinement oldest first.

The package imports PyAV only through ``stills`` and ``controller``, which the
encoder loads when lossy coding is enabled.
"""

from __future__ import annotations

from .classify import photo_like
from .lossymap import LossyMap
from .metrics import psnr, sse
from .model import LossyOptions, RateModel

__all__ = ["LossyMap", "LossyOptions", "RateModel", "photo_like", "psnr", "sse"]
