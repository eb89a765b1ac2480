"""walk40: `make demo`'s kbit/s column, as a newcomer reads it.

Found: each scenario of `make demo` runs about 1 s, and kbit/s counted all
its bytes, the first picture's too: the idle screen read 6,003 kbit/s, more
than typing (5,226), while its later updates were 32 bytes each. The column
is now the rate of the updates after the first picture (the first picture has
its own column), so an idle screen reads a few kbit/s.
"""

from __future__ import annotations

import pytest

from screencodec.cli import main


def test_the_idle_screens_rate_is_that_of_its_updates(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--source", "synthetic", "--scenario", "idle", "--seconds", "1.5",
                 "--size", "640x360"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    row = next(line for line in out.splitlines() if line.startswith("idle "))
    _, _, frames, fps, _, _, first, delta, kbit_s, *_ = row.split()
    later_rate = float(delta) * 8 * float(fps) / 1000  # what the later updates send
    whole_run = int(first) * 8 / 1000 / 1.5  # the first picture spread over the run
    assert int(frames) > 10, row
    assert float(kbit_s) <= later_rate * 1.5 + 1, row
    assert float(kbit_s) < whole_run / 10, row
    assert "kbit/s: the rate of those updates" in " ".join(out.split())
