"""libFuzzer-style harness for ScreenDecoder (atheris).

    python fuzz/make_corpus.py fuzz/corpus
    python fuzz/fuzz_decoder.py -max_total_time=60 fuzz/corpus

An input is: a state byte (which picture a fresh decoder is first given, see
seeds.SIZES), a mode byte (0: ``decode`` the rest as one message; otherwise
``feed`` it in chunks of that many bytes), then the bytes under test.

A finding is anything but success or DecodeError, a crash (run with a
sanitizer build to catch memory errors), or a broken invariant: a refused
message changed the picture or left the decoder in sync, a well-formed
message of an unknown type was refused instead of skipped, or an accepted
one left a pixel's 4th byte other than 255.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports():
    from screencodec.decoder import ScreenDecoder
    from screencodec.errors import DecodeError

import numpy as np
from seeds import SIZES, setup_message

SETUPS = [setup_message(i) for i in range(len(SIZES))]


def check(dec: ScreenDecoder) -> None:
    fb = dec.framebuffer
    if fb is None:
        return
    if fb.dtype != np.uint8 or fb.ndim != 3 or fb.shape[2] != 4:
        raise AssertionError(f"bad framebuffer {fb.dtype} {fb.shape}")
    if not (fb[..., 3] == 255).all():
        raise AssertionError("a pixel's X byte is not 255")


def test_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    state, mode, msg = data[0] % len(SETUPS), data[1], data[2:]
    dec = ScreenDecoder()
    setup = SETUPS[state]
    if setup is not None:
        dec.decode(setup)
    before = None if dec.framebuffer is None else dec.framebuffer.copy()
    try:
        if mode == 0:
            dec.decode(msg)
        else:
            for i in range(0, len(msg), mode):
                dec.feed(msg[i : i + mode])
    except DecodeError:
        if mode == 0:
            same = (
                dec.framebuffer is None
                if before is None
                else np.array_equal(dec.framebuffer, before)
            )
            if not same:
                raise AssertionError("a refused message changed the picture") from None
            if not dec.needs_keyframe:
                raise AssertionError("a refused message left the decoder in sync") from None
            unknown = len(msg) >= 8 and msg[:3] == b"SC\x01" and msg[3] not in (1, 2, 3)
            if unknown and len(msg) == 8 + int.from_bytes(msg[4:8], "little"):
                raise AssertionError("a well-formed unknown type was refused") from None
    check(dec)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
