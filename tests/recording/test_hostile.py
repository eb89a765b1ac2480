"""A mangled recording is refused with the library's errors, never crashes a
reader, verify or the player with anything else."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from screencodec.errors import ScreencodecError
from screencodec.recording import Player, RecordingReader

from .synth import synth


def test_mutations_fail_cleanly(tmp_path: Path) -> None:
    path, _ = synth(tmp_path / "rec", frames=6, size=(96, 64))
    good = path.read_bytes()
    rng = np.random.default_rng(11)
    bad = tmp_path / "bad.screc"
    outcomes = {"refused": 0, "flagged": 0, "intact": 0}
    for _ in range(150):
        data = bytearray(good)
        how = rng.integers(3)
        if how == 0:  # flip bytes
            for pos in rng.integers(0, len(data), rng.integers(1, 4)):
                data[pos] ^= int(rng.integers(1, 256))
        elif how == 1:  # cut
            data = data[: int(rng.integers(0, len(data)))]
        else:  # splice a slice elsewhere
            a, b = sorted(int(x) for x in rng.integers(0, len(data), 2))
            at = int(rng.integers(0, len(data)))
            data = data[:at] + data[a:b] + data[at:]
        bad.write_bytes(data)
        try:
            with RecordingReader(bad) as r:
                report = r.verify()
                r.meta()
                r.events()
                frames = sum(1 for _ in Player(r).frames())
        except ScreencodecError:
            outcomes["refused"] += 1
            continue
        if report.status == "complete":
            assert bytes(data) == good or frames == 6
            outcomes["intact"] += 1
        else:
            outcomes["flagged"] += 1
    assert outcomes["refused"] + outcomes["flagged"] > 100
