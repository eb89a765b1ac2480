"""atheris harness for ZSTD ops with the MED filter (op flags MED | PLANAR).

    python fuzz/make_med_corpus.py fuzz/med-corpus
    python fuzz/fuzz_med.py -max_total_time=600 fuzz/med-corpus

Inputs are fuzz_decoder.py's (a state byte, a mode byte, the message), and
every invariant of fuzz_decoder.py is checked. Two things are added:

- a custom mutator: half of the time libFuzzer's own byte mutations, half of
  the time med_seeds.mutate_med on the message (residuals changed and
  compressed again, so the MED inverse sees arbitrary residuals instead of
  zstd refusing the bytes; neighbouring op flags; a content size one off;
  the rect resized under the same payload);
- an oracle: when a one-shot update with MED ops is accepted, the final
  pixels of each MED op's rect that no later op wrote over, filtered again
  by the C forward filter, must give back the op's residuals exactly (the
  forward filter is checked against docs/protocol.md's rules by
  tests/codec/test_zstd_med.py, and it is one-to-one, so this holds only if
  the decoder applied the spec's inverse), and the pixels of no op's rect
  may change at all.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports():
    from screencodec.codecs import _pixels
    from screencodec.decoder import ScreenDecoder
    from screencodec.errors import DecodeError
    from screencodec.wire import Op, parse_update, split_message

import numpy as np
from fuzz_decoder import SETUPS, check
from fuzz_decoder import test_one_input as generic_checks
from med_seeds import MED, mutate_med, residuals


def _oracle(msg: bytes, before: np.ndarray | None, after: np.ndarray) -> None:
    try:
        u = parse_update(split_message(msg)[1])
    except ValueError:
        return
    meds = [i for i, o in enumerate(u.ops) if o.op is Op.ZSTD and o.flags == MED]
    if not meds:
        return
    if before is not None and before.shape == after.shape and not u.keyframe:
        touched = np.zeros(after.shape[:2], bool)
        for o in u.ops:
            touched[o.rect.slices()] = True
        if not np.array_equal(before[~touched], after[~touched]):
            raise AssertionError("pixels outside every op's rect changed")
    for i in meds:
        r = u.ops[i].rect
        if any(
            o.op is not Op.COPY and not o.rect.intersection(r).is_empty() for o in u.ops[i + 1 :]
        ):
            continue
        want = residuals(bytes(u.ops[i].payload), r)
        again = bytes(_pixels.pack_med(after, r.x, r.y, r.w, r.h))
        if again != want:
            raise AssertionError(f"op {i}: the MED inverse is not the spec's ({r})")


def test_one_input(data: bytes) -> None:
    generic_checks(data)
    if len(data) < 2 or data[1] != 0:
        return
    state, msg = data[0] % len(SETUPS), data[2:]
    dec = ScreenDecoder()
    setup = SETUPS[state]
    if setup is not None:
        dec.decode(setup)
    before = None if dec.framebuffer is None else dec.framebuffer.copy()
    try:
        after = dec.decode(msg)
    except DecodeError:
        return
    check(dec)
    if dec.framebuffer is not None:
        _oracle(msg, before, np.asarray(after))


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    if len(data) > 2 and rnd.random() < 0.5:
        out = mutate_med(data[2:], rnd)
        if out is not None and len(out) + 2 <= max_size:
            return data[:2] + out
    mutated: bytes = atheris.Mutate(data, max_size)
    return mutated


def main() -> None:
    atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
