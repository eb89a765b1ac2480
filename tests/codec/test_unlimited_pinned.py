"""Without a rate the encoder's output is byte for byte what it was before rate
control existed, whether or not lossy coding is enabled.

The digests below were taken from the encoder before screencodec.quality was
added (motion detection off: it stops at a CPU-time budget, so its output may
vary with the machine's load; video off: x264's output depends on its thread
count). A change of the lossless path that is meant to change bytes updates
them (last: photo-like blocks filtered with MED by default); rate control
must never.
"""

from __future__ import annotations

import hashlib

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.encoder import ScreenEncoder

#: sha256 (first 32 hex digits) of 24 updates of each scenario at 480x270, seed 3.
PINNED = {
    "browser": "54dd907fddb1fc142b6b49baf385cd97",
    "drag": "6437b58b1364b8456916b37cd1adaa21",
    "idle": "03114f51671f330c4791e3c8d9db9d39",
    "terminal": "56d323657454125395b4e02acb16cb69",
    "typing": "5d9deac7222e3a090f8b473742a2e574",
    "video": "cd447955ef2de35eef9e41effa980470",
}


def digest(scenario: str, *, lossy: bool = False, unlimited_at: int | None = None) -> str:
    src = SyntheticDesktop(480, 270, scenario=scenario, seed=3)
    enc = ScreenEncoder(480, 270, motion=False, integrity=True, threads=1, lossy=lossy)
    h = hashlib.sha256()
    for i in range(24):
        if i == unlimited_at:
            enc.set_rate(None)
        h.update(enc.encode(src.frame_at(i), now=i / 30))
    return h.hexdigest()[:32]


@pytest.mark.parametrize("scenario", sorted(PINNED))
def test_unlimited_output_is_pinned(scenario: str) -> None:
    assert digest(scenario) == PINNED[scenario]
    assert digest(scenario, lossy=True) == PINNED[scenario]
    assert digest(scenario, lossy=True, unlimited_at=5) == PINNED[scenario]


def test_lossy_without_rate_matches_lossless_with_video() -> None:
    """With video regions too (same machine, so the same x264 output)."""
    outs = []
    for lossy in (False, True):
        src = SyntheticDesktop(480, 270, scenario="video", seed=3)
        enc = ScreenEncoder(480, 270, motion=False, integrity=True, video=True, lossy=lossy)
        outs.append(b"".join(enc.encode(src.frame_at(i), now=i / 30) for i in range(30)))
    assert outs[0] == outs[1]
