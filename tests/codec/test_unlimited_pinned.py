"""Without a rate the encoder's output is byte for byte what it was before rate
control existed, whether or not lossy coding is enabled.

The digests below were taken from the encoder before screencodec.quality was
added (motion detection off: it stops at a CPU-time budget, so its output may
vary with the machine's load; video off: x264's output depends on its thread
count). A change of the lossless path that is meant to change bytes updates
them; rate control must never.
"""

from __future__ import annotations

import hashlib

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.encoder import ScreenEncoder

#: sha256 (first 32 hex digits) of 24 updates of each scenario at 480x270, seed 3.
PINNED = {
    "browser": "3bd3005ff755348fd023b32a6d932b91",
    "drag": "d292c27237f90af1ec5143dcdf4975bc",
    "idle": "09e5da50df9aa3f7233a4134beb61b6d",
    "terminal": "c21836fdbd326fee44a16e347ada1f6f",
    "typing": "e1854e369c16840691d5bae0619c4638",
    "video": "36f5fbe7f1c402a6b8a05876c9dbd15c",
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
