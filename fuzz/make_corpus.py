"""Write the seed corpus for fuzz_decoder.py: ``python fuzz/make_corpus.py fuzz/corpus``.

Each file is one fuzz input: a state byte (which picture the decoder starts
from, see seeds.SIZES), a mode byte (0: one-shot decode, else streamed in
chunks), then the message.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seeds import seed_messages


def write_corpus(default: str, messages: list[tuple[int, bytes]]) -> None:
    """Each (state, message) one-shot and streamed in chunks of 7, into the
    folder named on the command line (else ``default`` beside this file)."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / default)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for state, msg in messages:
        for mode in (0, 7):
            data = bytes([state, mode]) + msg
            (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
            n += 1
    print(f"wrote {n} seeds to {out}")


def main() -> None:
    write_corpus("corpus", seed_messages())


if __name__ == "__main__":
    main()
