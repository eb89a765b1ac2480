"""The page's JavaScript decoder against Python's ScreenDecoder, under node.

Streams from the Python encoder (the synthetic desktop's typing, terminal,
browser, drag and idle scenarios with and without the history stream, with
HASH, with a 128 KiB history window, the video scenario through a sink that
replays the reference decoder's pictures, a real-screen recording as stored
and one re-encoded with history, zstd frames with a checksum or a window
descriptor), byte streams in random chunks with lost framing (for feed()),
structural mutations of real streams, and hostile messages (every case of
tests/codec/test_decoder_hostile.py, plus zstd blocks that hung or flooded
fzstd) are written to a temporary directory with, for each message, what
Python's decoder did: refused or not, the framebuffer's xxh3, needs_keyframe
and the sequence. tests/web/js/crosscheck.mjs decodes the same bytes with
src/screencodec/web/static/decoder/ and reports every difference; it also
checks that a refusal leaves the framebuffer unchanged, and compares the
final framebuffers byte for byte. The node:test unit tests and a short fuzz
run go through node here too.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from screencodec.capture.replay import synthetic_sequence
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError
from screencodec.frames import framebuffer_hash

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "web" / "js"
FUZZ = ROOT / "fuzz" / "js" / "fuzz.mjs"
RECORDINGS = ROOT / "tests" / "data" / "recording"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

#: Synthetic scenarios and the size they are cross-checked at.
SCENARIOS = ("typing", "terminal", "browser", "drag", "idle")
SIZE = (480, 300)
FRAMES = 10


def _hostile_module() -> ModuleType:
    """tests/codec/test_decoder_hostile.py, loaded by path (tests/ is no package)."""
    path = ROOT / "tests" / "codec" / "test_decoder_hostile.py"
    spec = importlib.util.spec_from_file_location("_hostile_cases", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_hostile_cases", module)
    spec.loader.exec_module(module)
    return module


def split_messages(data: bytes) -> list[bytes]:
    """Concatenated well-formed messages, one by one."""
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from("<I", data, pos + 4)
        out.append(data[pos : pos + 8 + length])
        pos += 8 + length
    return out


def scenario_stream(name: str, *, history: bool, integrity: bool = False) -> list[bytes]:
    seq = synthetic_sequence(name, *SIZE, fps=10, seconds=FRAMES / 10, seed=1)
    enc = ScreenEncoder(*SIZE, threads=1, history=history, integrity=integrity)
    return [enc.encode(np.ascontiguousarray(seq.frame(i))) for i in range(len(seq))]


def small_window_stream() -> list[bytes]:
    """The terminal with a history stream of the smallest window (128 KiB,
    window_log 17): its output passes several windows within a few updates,
    so matches reach across the point where the viewer's window slides."""
    from screencodec.codecs.history import HistoryEncoder

    seq = synthetic_sequence("terminal", *SIZE, fps=10, seconds=FRAMES / 10, seed=4)
    enc = ScreenEncoder(*SIZE, threads=1, history=True)
    enc._history = HistoryEncoder(window_log=17)
    return [enc.encode(np.ascontiguousarray(seq.frame(i))) for i in range(len(seq))]


def recording_stream(name: str) -> list[bytes]:
    return split_messages((RECORDINGS / name / "frames.bin").read_bytes())


def reencoded_recording(name: str, *, history: bool) -> list[bytes]:
    from screencodec.capture.recording import Recording

    with Recording.open(RECORDINGS / name) as rec:
        enc = ScreenEncoder(rec.width, rec.height, threads=1, history=history)
        return [enc.encode(np.array(rec.frame(i))) for i in range(len(rec))]


def _compressed_block(content: bytes, *, last: bool) -> bytes:
    head = len(content) << 3 | 2 << 1 | int(last)
    return head.to_bytes(3, "little") + content


def zero_bit_huffman_block(*, last: bool = True) -> bytes:
    """A compressed block whose Huffman weights are FSE-coded with one symbol
    of full probability: every state reads 0 bits, so a decoder that reads
    weights until its bitstream ends never does (fzstd 0.1.1 hung on these
    21 bytes; our vendored copy is patched)."""
    lss, lcs = 16, 8
    literals = bytes([2 | (lss & 15) << 4, (lss >> 4) & 63 | (lcs & 3) << 6, lcs >> 2])
    tree = bytes([4, 0xF0, 0x03, 0x00, 0x80])  # 4 bytes: FSE table (al 5, p(0)=32), bitstream
    return _compressed_block(literals + tree + bytes(4), last=last)


def sequence_bomb_block(count: int = 20000, *, last: bool = True) -> bytes:
    """A compressed block of ``count`` sequences of ~128 KiB matches each
    (RLE-coded tables, 16 extra bits per sequence): billions of bytes of
    output from 40 kB, which a decoder must refuse, not produce."""
    head = bytes([0x00, 0x80 + (count >> 8), count & 255, 0x54, 0, 0, 52])
    return _compressed_block(head + b"\xff" * (2 * count) + b"\x01", last=last)


def zstd_with_block(block: bytes, size: int) -> bytes:
    """A single-segment zstd frame declaring ``size`` bytes, holding ``block``."""
    return b"\x28\xb5\x2f\xfd\xa0" + size.to_bytes(4, "little") + block


def extra_hostile(mod: ModuleType) -> list[tuple[str, bytes]]:
    """Cases beyond the Python suite's, aimed at the JS zstd decoder."""
    from screencodec.wire import Op, zstream_op

    r, n = mod.R, mod.R.area * 3
    return [
        (
            "zstd zero-bit huffman",
            mod.delta(mod.op(Op.ZSTD, r, zstd_with_block(zero_bit_huffman_block(), n))),
        ),
        (
            "zstd sequence bomb",
            mod.delta(mod.op(Op.ZSTD, r, zstd_with_block(sequence_bomb_block(), n))),
        ),
        (
            "zstream sequence bomb",
            mod.delta(
                zstream_op(r, 0, mod.ZSTREAM_FRAME + sequence_bomb_block(last=False), reset=True)
            ),
        ),
        (
            "zstream zero-bit huffman",
            mod.delta(
                zstream_op(r, 0, mod.ZSTREAM_FRAME + zero_bit_huffman_block(last=False), reset=True)
            ),
        ),
    ]


def checksum_stream() -> list[bytes]:
    """Valid ZSTD and PALETTE frames from another encoder's settings: with a
    content checksum (verified), and without a single segment (a window
    descriptor), over the hostile suite's starting picture."""
    import zstandard

    from screencodec.geometry import Rect
    from screencodec.wire import Op
    from screencodec.wire.format import PALETTE_HEADER

    mod = _hostile_module()
    rng = np.random.default_rng(3)
    r = mod.R
    pixels = rng.integers(0, 256, r.area * 3, dtype=np.uint8).tobytes()
    checked = zstandard.ZstdCompressor(write_checksum=True)
    # a window smaller than the frame's content: a window descriptor, no
    # single segment
    windowed = zstandard.ZstdCompressor(
        compression_params=zstandard.ZstdCompressionParameters.from_level(
            3, window_log=10, write_content_size=1
        )
    )
    full = Rect(0, 0, mod.W, mod.H)
    whole = rng.integers(0, 4, full.area * 3, dtype=np.uint8).tobytes()
    indices = bytes(rng.integers(0, 256, 32, dtype=np.uint8))
    table = bytes(i % 256 for i in range(3 * 256))
    start = ScreenEncoder(mod.W, mod.H, threads=1).encode(mod.noise_frame(1))
    return [
        start,
        mod.delta(mod.op(Op.ZSTD, r, checked.compress(pixels)), seq=1),
        mod.delta(mod.op(Op.ZSTD, full, windowed.compress(whole)), seq=2),
        mod.delta(
            mod.op(
                Op.PALETTE, r, PALETTE_HEADER.pack(8, 0, 256) + table + checked.compress(indices)
            ),
            seq=3,
        ),
    ]


def hostile_streams() -> Iterator[tuple[str, list[bytes]]]:
    """Each case of the Python hostile-decoder tests (and extra_hostile's)
    after a keyframe of the same picture its fixture starts from, then a
    recovery keyframe."""
    mod = _hostile_module()
    w, h = mod.W, mod.H
    cases = [(c[0], c[1]) for c in mod.HOSTILE] + extra_hostile(mod)
    for case_id, message in cases:
        enc = ScreenEncoder(w, h, threads=1)
        start = enc.encode(mod.noise_frame(1))
        enc.request_keyframe()
        recover = enc.encode(mod.noise_frame(2))
        yield (
            "hostile-" + "".join(c if c.isalnum() else "-" for c in case_id),
            [
                start,
                message,
                recover,
            ],
        )


def structural_offsets(message: bytes) -> list[int]:
    """Where ``message`` (a well-formed UPDATE) holds framing and headers:
    its own, the update's, each op's header and the first 4 bytes of each
    payload (FILL colour, COPY source, PALETTE header, zstd magic, ZSTREAM
    position). Entropy-coded zstd data is left alone: two zstd decoders need
    not find the same corruption there (libzstd takes some damaged blocks
    that fzstd refuses), so agreement is asked on structure, and the fuzz
    harness covers the rest."""
    offsets = list(range(24))
    (flags,) = struct.unpack_from("<H", message, 12)
    pos = 24
    if flags & 2:
        offsets += range(24, 32)
        pos = 32
    (count,) = struct.unpack_from("<I", message, 20)
    for _ in range(count):
        (plen,) = struct.unpack_from("<I", message, pos + 10)
        offsets += range(pos, pos + 14 + min(plen, 4))
        pos += 14 + plen
    return offsets


def mutated(messages: Sequence[bytes], seed: int, count: int) -> list[bytes]:
    """``messages`` with ``count`` of them corrupted in their structure (a
    byte changed, or the message cut short there), in stream order: both
    decoders must refuse the same ones and recover at the same keyframes."""
    rng = np.random.default_rng(seed)
    out = list(messages)
    for i in rng.choice(np.arange(1, len(out)), size=min(count, len(out) - 1), replace=False):
        b = bytearray(out[i])
        at = int(rng.choice(structural_offsets(out[i])))
        if rng.integers(0, 4):
            b[at] ^= int(rng.integers(1, 256))
        else:
            del b[at:]
        out[i] = bytes(b)
    return out


def video_stream(*, integrity: bool) -> list[bytes]:
    """The video scenario with VIDEO regions, a keyframe request halfway
    (every stream restarts at an IDR) and, with ``integrity``, HASH on every
    update (node cannot check it once a sink's picture is in its framebuffer,
    and must still agree on everything else)."""
    seq = synthetic_sequence("video", *SIZE, fps=10, seconds=2.0, seed=2)
    enc = ScreenEncoder(*SIZE, threads=1, video=True, integrity=integrity, clock=lambda: 0.0)
    out = []
    for i in range(len(seq)):
        if i == len(seq) // 2:
            enc.request_keyframe()
        out.append(enc.encode(np.ascontiguousarray(seq.frame(i))))
    return out


def video_pictures(messages: Sequence[bytes]) -> bytes:
    """What a sink returns for each VIDEO op of a clean stream, in order: the
    reference decoder's picture (u32 width, u32 height, B, G, R, X rows), for
    node's replaying sink (crosscheck.mjs)."""
    from screencodec.video.codec import VideoDecoder
    from screencodec.wire import Op, parse_update, split_message

    video, parts = VideoDecoder(), []
    for m in messages:
        u = parse_update(split_message(m)[1])
        video.begin_update()
        for op in u.ops:
            if op.op is Op.VIDEO:
                picture = video.prepare(op, (u.width, u.height)).data
                parts.append(struct.pack("<II", op.rect.w, op.rect.h) + picture.tobytes())
    return b"".join(parts)


def byte_stream(seed: int) -> list[bytes]:
    """A session's byte stream in chunks of random sizes, with the framing
    lost twice: junk before a keyframe, then junk holding a header that looks
    like a keyframe's (the search must refuse it and go on to the real one);
    cursor messages and a message of an unknown type in between. For the
    stream decoders (``feed``) of both sides."""
    from screencodec.wire import (
        MessageType,
        build_cursor_position,
        build_cursor_shape,
        build_message,
    )

    rng = np.random.default_rng(seed)
    seq = synthetic_sequence("terminal", *SIZE, fps=10, seconds=1.2, seed=seed)
    enc = ScreenEncoder(*SIZE, threads=1, history=True)
    fake = build_message(MessageType.UPDATE, [struct.pack("<IHHHHI", 0, 1, 8, 8, 0, 1) + bytes(40)])
    parts: list[bytes] = []
    for i in range(len(seq)):
        if i in (4, 8):
            enc.request_keyframe()
            parts.append(b"junk!" + (fake if i == 8 else b"") + bytes(rng.integers(0, 256, 50)))
        parts.append(enc.encode(np.ascontiguousarray(seq.frame(i))))
        if i == 2:
            parts.append(build_cursor_shape(9, 2, 2, (1, 1), bytes(range(16))))
            parts.append(build_message(77, [b"from the future"]))  # type: ignore[arg-type]
            parts.append(build_cursor_position(-3, 4, 9))
    data = b"".join(parts)
    chunks, pos = [], 0
    while pos < len(data):
        n = int(rng.integers(1, 6000))
        chunks.append(data[pos : pos + n])
        pos += n
    return chunks


def expectations(
    messages: Sequence[bytes], *, feed: bool = False
) -> tuple[list[list[object]], np.ndarray | None]:
    """What Python's decoder does with each message (with ``feed``: each chunk
    of a byte stream), and its final framebuffer."""
    dec = ScreenDecoder()
    rows: list[list[object]] = []
    for m in messages:
        count = None
        try:
            if feed:
                count = dec.feed(m)
            else:
                dec.decode(m)
            refused = False
        except DecodeError:
            refused = True
        fb = dec.framebuffer
        digest = "" if fb is None else f"{framebuffer_hash(np.ascontiguousarray(fb)):016x}"
        rows.append([refused, digest, dec.needs_keyframe, dec.sequence, count])
    final = None if dec.framebuffer is None else np.ascontiguousarray(dec.framebuffer)
    return rows, final


def write_stream(directory: Path, name: str, messages: Sequence[bytes]) -> None:
    """NAME.msgs and Python's verdicts; a name starting with ``feed-`` holds
    chunks of a byte stream, for both sides' ``feed``."""
    rows, final = expectations(messages, feed=name.startswith("feed-"))
    with open(directory / f"{name}.msgs", "wb") as f:
        for m in messages:
            f.write(struct.pack("<I", len(m)) + m)
    (directory / f"{name}.expect.json").write_text(json.dumps(rows))
    if final is not None:
        (directory / f"{name}.final.bin").write_bytes(final.tobytes())
    if name.startswith("video"):
        (directory / f"{name}.video.bin").write_bytes(video_pictures(messages))


def all_streams() -> Iterator[tuple[str, list[bytes]]]:
    for name in SCENARIOS:
        yield f"{name}", scenario_stream(name, history=False)
        yield f"{name}-history", scenario_stream(name, history=True)
    yield "browser-hash", scenario_stream("browser", history=True, integrity=True)
    if importlib.util.find_spec("av") is not None:
        yield "video", video_stream(integrity=False)
        yield "video-hash", video_stream(integrity=True)
    yield "terminal-history-window17", small_window_stream()
    yield "zstd-checksum", checksum_stream()
    yield "rec-vim-typing", recording_stream("vim-typing")
    yield "rec-terminal-log-history", reencoded_recording("terminal-log", history=True)
    for seed, name in enumerate(SCENARIOS):
        for history in (False, True):
            base = scenario_stream(name, history=history)
            for k in range(3):
                yield f"mutated-{name}-{int(history)}-{k}", mutated(base, 10 * seed + k, 4)
    for seed in range(3):
        yield f"feed-terminal-{seed}", byte_stream(seed)
    yield from hostile_streams()


def run_node(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("jsdecoder")
    for name, messages in all_streams():
        write_stream(directory, name, messages)
    return directory


def test_js_decoder_agrees_with_python(corpus: Path) -> None:
    proc = run_node(str(JS / "crosscheck.mjs"), str(corpus))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["streams"] >= 40 + len(_hostile_module().HOSTILE)
    assert report["mismatches"] == []


def test_hostile_cases_are_refused_by_python(corpus: Path) -> None:
    """The hostile streams test refusal, not agreement on acceptance."""
    for path in corpus.glob("hostile-*.expect.json"):
        rows = json.loads(path.read_text())
        assert [r[0] for r in rows] == [False, True, False], path.name


def test_node_unit_tests() -> None:
    tests = sorted(str(p) for p in JS.glob("*.test.mjs"))
    assert tests
    proc = run_node("--test", *tests)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_fuzz_short_run(corpus: Path) -> None:
    proc = run_node(str(FUZZ), "--seconds", "3", "--seed", "1", str(corpus))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["iterations"] > 0
    assert report["failures"] == []
