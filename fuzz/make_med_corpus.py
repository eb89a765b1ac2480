"""Write the MED seed corpus for fuzz_med.py (or fuzz_decoder.py):
``python fuzz/make_med_corpus.py fuzz/med-corpus``.

Each file is one fuzz input as make_corpus.py writes them (state byte, mode
byte, message): med_seeds.med_seed_messages() one-shot and streamed in
chunks of 7 bytes, plus make_corpus.py's seeds, so one corpus covers both.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from med_seeds import med_seed_messages
from seeds import seed_messages


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "med-corpus")
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for state, msg in med_seed_messages() + seed_messages():
        for mode in (0, 7):
            data = bytes([state, mode]) + msg
            (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
            n += 1
    print(f"wrote {n} seeds to {out}")


if __name__ == "__main__":
    main()
