"""Sealed recordings: the host cannot read them, the auditor can, and a flipped
byte, a truncated tail and two swapped chunks are each detected; plain ones
carry checksums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from screencodec.errors import IntegrityError
from screencodec.recording import Player, RecordingReader, generate_keypair

from .synth import synth


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[np.ndarray]]:
    d = tmp_path_factory.mktemp("sealed")
    generate_keypair(d / "auditor.key", d / "auditor.pub")
    path, shown = synth(d / "rec", auditor=d / "auditor.pub")
    return path, d / "auditor.key", shown


def _copy(src: Path, dst: Path, edit: object) -> Path:
    data = bytearray(src.read_bytes())
    dst.write_bytes(edit(data))  # type: ignore[operator]
    return dst


def test_auditor_reads_host_cannot(sealed: tuple[Path, Path, list[np.ndarray]],
                                   tmp_path: Path) -> None:  # fmt: skip
    path, key, shown = sealed
    with RecordingReader(path, private_key=key) as r:
        assert r.sealed and r.verify().status == "complete"
        frames = [fb.copy() for _, fb in Player(r).frames()]
        assert all(np.array_equal(a, b) for a, b in zip(frames, shown, strict=True))
        assert r.meta()["host_id"] == "synth"
    assert b"bye now" not in path.read_bytes() and b"synth" not in path.read_bytes()
    with RecordingReader(path) as r, pytest.raises(IntegrityError):
        r.update(0)  # no key: the writer cannot read it back
    generate_keypair(tmp_path / "other.key", tmp_path / "other.pub")
    with pytest.raises(IntegrityError):
        RecordingReader(path, private_key=tmp_path / "other.key")


def _chunk_offsets(path: Path, key: Path) -> list[tuple[int, int]]:
    with RecordingReader(path, private_key=key) as r:
        return [(h.offset, h.payload_offset + h.length + 16) for h in r.index.chunks]


def test_flipped_byte_detected_anywhere(sealed: tuple[Path, Path, list[np.ndarray]],
                                        tmp_path: Path) -> None:  # fmt: skip
    path, key, _ = sealed
    size = path.stat().st_size
    rng = np.random.default_rng(5)
    for pos in [*rng.integers(8, size, 25), 30, size - 1]:  # header chunk, last tag too
        def flip(b: bytearray, pos: int = int(pos)) -> bytearray:
            b[pos] ^= 0x10
            return b
        bad = _copy(path, tmp_path / "flip.screc", flip)
        try:
            with RecordingReader(bad, private_key=key) as r:
                report = r.verify()
        except (IntegrityError, ValueError):
            continue  # refused at open: the HEADER itself
        assert report.status != "complete", f"byte {pos}: {report.describe()}"
        assert report.exit_code != 0


def test_truncated_tail_detected(sealed: tuple[Path, Path, list[np.ndarray]],
                                 tmp_path: Path) -> None:  # fmt: skip
    path, key, shown = sealed
    chunks = _chunk_offsets(path, key)
    for cut in (chunks[-1][0], chunks[-3][0], chunks[-2][0] + 30):  # whole chunks, and torn
        bad = _copy(path, tmp_path / "cut.screc", lambda b, cut=cut: b[:cut])
        with RecordingReader(bad, private_key=key) as r:
            report = r.verify()
            assert report.status == "incomplete" and report.exit_code == 2
            assert "END" in report.problem or "torn" in report.problem
            # What is left still plays.
            played = [fb.copy() for _, fb in Player(r).frames()]
            assert all(np.array_equal(a, b) for a, b in zip(played, shown, strict=False))
            assert len(played) >= len(shown) - 3


def test_swapped_chunks_detected(sealed: tuple[Path, Path, list[np.ndarray]],
                                 tmp_path: Path) -> None:  # fmt: skip
    path, key, _ = sealed
    chunks = _chunk_offsets(path, key)
    (a0, a1), (b0, b1) = chunks[5], chunks[6]

    def swap(b: bytearray) -> bytearray:
        return b[:a0] + b[b0:b1] + b[a0:a1] + b[b1:]

    bad = _copy(path, tmp_path / "swap.screc", swap)
    with RecordingReader(bad, private_key=key) as r:
        assert r.verify().status == "damaged"

    def swap_and_renumber(b: bytearray) -> bytearray:
        out = swap(b)
        # An attacker who also fixes the visible indexes: the tags still fail.
        out[a0 + 8 : a0 + 12] = (5).to_bytes(4, "little")
        nb = a0 + (b1 - b0)
        out[nb + 8 : nb + 12] = (6).to_bytes(4, "little")
        return out

    bad = _copy(path, tmp_path / "swap2.screc", swap_and_renumber)
    with RecordingReader(bad, private_key=key) as r:
        report = r.verify()
        assert report.status == "damaged" and "authentication" in report.problem


def test_plain_recording_checksums(tmp_path: Path) -> None:
    path, _ = synth(tmp_path, frames=8)
    with RecordingReader(path) as r:
        assert not r.sealed and r.verify().status == "complete"
        h = r.index.chunks[4]
    bad = _copy(path, tmp_path / "flip.screc", lambda b: b.__setitem__(
        h.payload_offset + 2, b[h.payload_offset + 2] ^ 1) or b)  # fmt: skip
    with RecordingReader(bad) as r:
        report = r.verify()
        assert report.status == "damaged" and "checksum" in report.problem
