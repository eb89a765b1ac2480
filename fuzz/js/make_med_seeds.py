"""Write MED seed streams for fuzz/js/fuzz_med.mjs (and fuzz.mjs, and
tests/web/js/crosscheck.mjs): ``python fuzz/js/make_med_seeds.py DIR``.

Streams of updates with ZSTD ops filtered MED | PLANAR (op flags 6): the
synthetic browser scenario encoded with ``photo_filter="med"`` (with and
without history and HASH), and, for each picture size of fuzz/seeds.py, its
keyframe followed by fuzz/med_seeds.py's seeds (MED ops at 1x1, one row,
one column, the frame's edges, over chained and swapped COPYs, hashed; many
of them raw zstd blocks, whose bytes a mutation can change and still reach
the MED inverse). Python's verdicts are written beside them, as
tests/web/test_js_decoder.py does.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fuzz"))

from med_seeds import med_seed_messages  # noqa: E402
from seeds import SIZES, setup_message  # noqa: E402

from screencodec.capture.replay import synthetic_sequence  # noqa: E402
from screencodec.encoder import ScreenEncoder  # noqa: E402


def synthetic(*, history: bool, integrity: bool) -> list[bytes]:
    seq = synthetic_sequence("browser", 240, 160, fps=10, seconds=0.6, seed=3)
    enc = ScreenEncoder(
        240, 160, threads=1, history=history, integrity=integrity, photo_filter="med"
    )
    return [enc.encode(np.ascontiguousarray(seq.frame(i))) for i in range(len(seq))]


def seed_streams() -> list[tuple[str, list[bytes]]]:
    """Per state, the setup keyframe then each seed as its next message:
    after a refused or applied seed the stream goes on with the next keyframe."""
    out = []
    by_state: dict[int, list[bytes]] = {}
    for state, msg in med_seed_messages():
        by_state.setdefault(state, []).append(msg)
    for state, msgs in sorted(by_state.items()):
        setup = setup_message(state) if SIZES[state] is not None else None
        stream: list[bytes] = []
        for m in msgs:
            stream += ([setup] if setup is not None else []) + [m]
        out.append((f"med-seeds-state{state}", stream))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    tools = runpy.run_path(str(ROOT / "tests" / "web" / "test_js_decoder.py"))
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    streams = seed_streams()
    for history in (False, True):
        for integrity in (False, True):
            streams.append((f"med-browser-h{int(history)}-i{int(integrity)}",
                            synthetic(history=history, integrity=integrity)))  # fmt: skip
    for name, messages in streams:
        tools["write_stream"](out, name, messages)
    print(f"{len(streams)} streams in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
