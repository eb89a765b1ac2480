"""The page's digest of the picture it kept equals Python's ``KeptPicture``
(transport/session/kept.py), and the page's decoder goes on from the picture
it adopted: under node, static/decoder/kept.js (BLAKE2b from the vendored
hash-wasm, or blakejs where WebAssembly cannot run) and ScreenDecoder.keep
through tests/web/js/kept.mjs, against the same frames and keys in Python;
what is not a picture and a key it refuses. The page protocol's ``kept``
answer is checked as strictly as the rest (web/schema.py). In the page
itself (Chromium, its CSP): test_pagekept_wasm.py."""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture.replay import synthetic_sequence
from screencodec.encoder import ScreenEncoder
from screencodec.transport.session.kept import KeptPicture
from screencodec.web.schema import PageProtocolError, parse_kept, parse_page_message

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "web" / "js" / "kept.mjs"
NODE = shutil.which("node")

#: Odd sizes: one pixel, partial last rows and columns, exact tiles, 1080p.
SIZES = [(1, 1), (63, 65), (64, 64), (65, 64), (130, 129), (200, 70), (1920, 1080)]


def _rgba(bgrx: npt.NDArray[np.uint8], alpha: npt.NDArray[np.uint8]) -> bytes:
    """The page's framebuffer of ``bgrx``: R, G, B, then an A the digest leaves out."""
    return np.dstack([bgrx[..., 2::-1], alpha]).tobytes()


def _node(tmp: Path, manifest: dict[str, object], *flags: str) -> dict[str, Any]:
    if NODE is None:
        pytest.skip("node is not installed")
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    out = subprocess.run([NODE, *flags, str(SCRIPT), str(tmp)], capture_output=True, text=True,
                         timeout=300, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_the_pages_digest_is_pythons_for_the_same_frame_and_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    cases, expected = [], {}
    for i, (w, h) in enumerate(SIZES):
        frame = rng.integers(0, 256, (h, w, 4), np.uint8)  # X random: it is left out
        if i % 2:
            frame[h // 2 :, : w // 2] = (10, 20, 30, 0)  # flat tiles as well as noise
        key = secrets.token_bytes(16)
        name = f"{w}x{h}"
        (tmp_path / name).write_bytes(_rgba(frame, rng.integers(0, 256, (h, w), np.uint8)))
        cases.append({"name": name, "width": w, "height": h, "key": key.hex(), "rgba": name})
        expected[name] = KeptPicture.of(frame, key).digests.hex()
    got = _node(tmp_path, {"cases": cases, "streams": []})
    assert got["kind"] == "wasm" and got["digests"] == expected


def test_without_webassembly_the_digest_is_blakejs_and_the_same(tmp_path: Path) -> None:
    # node --jitless has no WebAssembly (as a browser without it): hash-wasm
    # cannot run, and kept.js falls back to blakejs.
    rng = np.random.default_rng(5)
    cases, expected = [], {}
    for w, h in [(1, 1), (65, 64), (130, 129)]:
        frame = rng.integers(0, 256, (h, w, 4), np.uint8)
        key = secrets.token_bytes(16)
        name = f"{w}x{h}"
        (tmp_path / name).write_bytes(_rgba(frame, rng.integers(0, 256, (h, w), np.uint8)))
        cases.append({"name": name, "width": w, "height": h, "key": key.hex(), "rgba": name})
        expected[name] = KeptPicture.of(frame, key).digests.hex()
    got = _node(tmp_path, {"cases": cases, "streams": []}, "--jitless")
    assert got["kind"] == "blakejs" and got["digests"] == expected


def test_both_blake2bs_are_pythons_at_random_sizes_and_bad_input_is_refused(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(23)
    cases, expected = [], {}
    for i in range(24):
        w, h = (int(v) for v in rng.integers(1, 300, 2))
        if i < 4:  # one row, one column of tiles, and long thin pictures
            w, h = [(1, 700), (700, 1), (64, 1000), (3000, 3)][i]
        frame = rng.integers(0, 256, (h, w, 4), np.uint8)
        key = rng.integers(0, 256, 16, np.uint8).tobytes()
        (tmp_path / f"p{i}").write_bytes(_rgba(frame, rng.integers(0, 256, (h, w), np.uint8)))
        for kind in ("wasm", "blakejs"):
            cases.append({"name": f"{kind}{i}", "width": w, "height": h, "key": key.hex(),
                          "rgba": f"p{i}", "kind": kind, "keyAt": i % 7})  # fmt: skip
            expected[f"{kind}{i}"] = KeptPicture.of(frame, key).digests.hex()
    key = bytes(range(16)).hex()
    bad = {  # name: (width, height, length of the picture, key, kind)
        "no size": (0, 0, 0, key, None), "no width": (0, 5, 0, key, None),
        "negative": (-1, -4, 16, key, None), "a fraction": (1.5, 2, 12, key, None),
        "not a number": ("NaN", 1, 4, key, None), "a string": ("2", 2, 16, key, None),
        "a pixel short": (3, 3, 35, key, None), "a byte over": (3, 3, 37, key, None),
        "no picture": (3, 3, None, key, None), "too wide for its bytes": (9, 1, 4, key, None),
        "a short key": (1, 1, 4, key[:30], None), "a long key": (1, 1, 4, key + "00", None),
        "no key": (1, 1, 4, "", None), "a 64-byte key": (1, 1, 4, key * 4, None),
        "a key not bytes": (1, 1, 4, list(range(16)), None),
        "another hash": (1, 1, 4, key, "md5"), "a blakejs short key": (1, 1, 4, key[:2], "blakejs"),
    }  # fmt: skip
    manifest = {"cases": cases, "streams": [],
                "bad": [{"name": n, "width": w, "height": h, "length": n_, "key": k, "kind": kind}
                        for n, (w, h, n_, k, kind) in bad.items()]}  # fmt: skip
    got = _node(tmp_path, manifest)
    assert got["digests"] == expected
    assert got["refused"] == {
        n: "TypeError" if "key" in n or n == "another hash" else "RangeError" for n in bad
    }


def _encoded(tmp: Path, name: str, messages: list[bytes]) -> list[str]:
    files = []
    for i, data in enumerate(messages):
        (tmp / f"{name}{i}").write_bytes(data)
        files.append(f"{name}{i}")
    return files


def test_the_pages_decoder_goes_on_from_the_picture_it_kept(tmp_path: Path) -> None:
    """A resumed session's host (a new encoder: its numbers are not the old
    stream's) sends a delta of the tiles that differ, with a new history
    stream: the page's decoder takes it on the picture it adopted, and the
    deltas after it, and ends with the host's frame exactly."""
    w, h = 200, 130
    seq = synthetic_sequence("typing", w, h, fps=10, seconds=1.2, seed=3)
    frames = [np.ascontiguousarray(seq.frame(i)) for i in range(len(seq))]
    old = ScreenEncoder(w, h, threads=1, history=True)
    before = [old.encode(f) for f in frames[:5]]  # numbered 0..4
    key = secrets.token_bytes(16)
    kept = KeptPicture.of(frames[4], key)
    new = ScreenEncoder(w, h, threads=1, history=True)
    new.encode(frames[4])  # the host's picture at the cut (not sent)
    new.continue_from(kept.differing(frames[9]))
    after = [new.encode(frames[9]), new.encode(frames[10]), new.encode(frames[11])]
    streams = [
        {"name": "resumed", "key": key.hex(), "before": _encoded(tmp_path, "b", before),
         "after": _encoded(tmp_path, "a", after), "out": "fb"},
        # Nothing to go on from: no picture yet; a picture waiting for a keyframe.
        {"name": "empty", "key": key.hex(), "before": [], "after": [], "out": "fb0"},
        {"name": "broken", "key": key.hex(), "before": _encoded(tmp_path, "x", [before[0],
         before[1][:-1]]), "after": [], "out": "fb1"},  # a message cut short
    ]  # fmt: skip
    got = _node(tmp_path, {"cases": [], "streams": streams})["streams"]
    resumed = got["resumed"]
    assert resumed["errors"] == [] and resumed["kept"] == kept.digests.hex()
    assert resumed["size"] == [w, h]
    fb = np.frombuffer((tmp_path / "fb").read_bytes(), np.uint8).reshape(h, w, 4)
    assert np.array_equal(fb[..., 2::-1], frames[11][..., :3])
    assert got["empty"]["kept"] is None
    assert got["broken"]["kept"] is None and len(got["broken"]["errors"]) == 1


def _kept(**fields: object) -> str:
    return json.dumps({"t": "kept", "n": 1, "w": 65, "h": 1, "tiles": "A" * 22 + "==", **fields})


def test_a_kept_answer_is_checked_strictly() -> None:
    key = bytes(16)
    ok = parse_kept(parse_page_message(_kept()), key)
    assert ok is not None and (ok.width, ok.height, ok.digests) == (65, 1, bytes(16))
    assert parse_kept(parse_page_message(_kept(w=0, h=0, tiles="")), key) is None
    for bad in (_kept(tiles="A" * 11 + "="),  # one tile's digest for two
                _kept(tiles="A" * 22 + "=!"), _kept(tiles="A" * 23),  # not base64
                _kept(w=0, h=1, tiles=""), _kept(w=0, h=0)):  # fmt: skip
        with pytest.raises(PageProtocolError):
            parse_kept(parse_page_message(bad), key)
    for bad in (_kept(n=-1), _kept(w=16385), _kept(tiles=1), _kept(extra=1),
                _kept(tiles="A" * 140_000)):  # fmt: skip
        with pytest.raises(PageProtocolError):
            parse_page_message(bad)
    # The 48 M pixel picture's digest fits; no other kind is let as long.
    tiles = -(-16384 // 64) * -(-2929 // 64)
    big = json.dumps({"t": "kept", "n": 1, "w": 16384, "h": 2929,
                      "tiles": base64.b64encode(bytes(tiles * 8)).decode()})  # fmt: skip
    assert parse_kept(parse_page_message(big), key) is not None
    with pytest.raises(PageProtocolError):
        parse_page_message(json.dumps({"t": "chat", "text": "a" * 20_000}))
