"""Write the MED seed corpus for fuzz_med.py (or fuzz_decoder.py):
``python fuzz/make_med_corpus.py fuzz/med-corpus``.

Each file is one fuzz input as make_corpus.py writes them (state byte, mode
byte, message): med_seeds.med_seed_messages() one-shot and streamed in
chunks of 7 bytes, plus make_corpus.py's seeds, so one corpus covers both.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_corpus import write_corpus
from med_seeds import med_seed_messages
from seeds import seed_messages


def main() -> None:
    write_corpus("med-corpus", med_seed_messages() + seed_messages())


if __name__ == "__main__":
    main()
