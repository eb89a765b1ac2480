"""Recordings of the wire's largest picture (16384x16384: a 1 GiB
framebuffer) played without running out of memory: ``play --at`` writes its
PNG in bands (no copy of the picture: it peaked at 3.6 GB through a copy for
the pointer, the RGB rows and their bytes), the web playback and MP4 export
(which re-encode it) refuse it up front with a clear error, and a player
seeking backwards holds one framebuffer, not two."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from screencodec.recording import Player, RecordingReader
from screencodec.recording.export import write_png
from screencodec.recording.format import ChunkFlags, ChunkType
from screencodec.recording.player import MAX_PICTURE_PIXELS, PictureTooLargeError, draw_cursor

from .test_attack_craft import craft, fill, update

MiB = 1 << 20
#: ``play --at``'s peak RSS for a 16384x16384 picture: its framebuffer and
#: at most this much more (measured: 1107 MB in all; the old code 3661 MB).
PLAY_OVERHEAD = 256 * MiB

# The peak RSS of this process's own memory: VmHWM. (ru_maxrss is not it:
# Linux keeps it across execve, so a child forked from a large pytest worker,
# 754 MiB late in a full run, reports the worker's size.)
_RSS = """
import sys
from screencodec.cli import main
rc = main(sys.argv[1:])
with open("/proc/self/status") as status:
    hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"maxrss_kib={hwm}", file=sys.stderr)
sys.exit(rc)
"""


def _run(*args: object) -> tuple[subprocess.CompletedProcess[str], int]:
    """``screencodec ARGS`` in a process of its own: (the process, its peak RSS in bytes)."""
    done = subprocess.run([sys.executable, "-c", _RSS, *map(str, args)], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    peak = [int(x.split("=")[1]) for x in done.stderr.split() if x.startswith("maxrss_kib=")]
    assert peak, done.stderr
    return done, peak[0] * 1024


def _picture(w: int, h: int, rgb: int, t_us: int, seq: int) -> tuple[object, ...]:
    return (ChunkType.UPDATE, update(fill(w, h, rgb, seq=seq), seq), t_us, ChunkFlags.KEYFRAME)


def _png_rows(path: Path) -> tuple[int, int, zlib._Decompress, bytes]:
    """(width, height, a decompressor, the IDAT data) of a PNG write_png wrote."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, [], (0, 0)
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack_from(">II", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    return size[0], size[1], zlib.decompressobj(), b"".join(idat)


@pytest.fixture(scope="module")
def largest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of one 16384x16384 keyframe (a fill): 541 bytes."""
    d = tmp_path_factory.mktemp("large")
    return craft(d / "large.screc", [_picture(16384, 16384, 0x336699, 100_000, 1)])


def test_play_at_writes_the_largest_picture_within_its_framebuffer(
        largest: Path, tmp_path: Path) -> None:  # fmt: skip
    done, peak = _run("recordings", "play", largest, "--at", "1", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    framebuffer = 16384 * 16384 * 4
    assert peak <= framebuffer + PLAY_OVERHEAD, f"peak RSS {peak / MiB:.0f} MiB"
    (png,) = tmp_path.glob("large_t*.png")
    w, h, inflate, idat = _png_rows(png)
    assert (w, h) == (16384, 16384)
    first = inflate.decompress(idat, 2 * (1 + 3 * w))  # two rows only
    assert first[0] == 0 and first[1:4] == bytes([0x33, 0x66, 0x99])  # RGB of the fill
    assert set(first[1 : 1 + 3 * w]) == {0x33, 0x66, 0x99}


@pytest.mark.parametrize("how", ["web", "mp4"])
def test_the_players_that_re_encode_refuse_it_up_front(
        largest: Path, tmp_path: Path, how: str) -> None:  # fmt: skip
    args = (["play", largest, "--web", "--no-open"] if how == "web"
            else ["export", largest, "--mp4", tmp_path / "o.mp4"])  # fmt: skip
    done, peak = _run("recordings", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "update 0 is a 16384x16384 picture" in done.stderr, done.stderr
    assert "more than this player decodes" in done.stderr, done.stderr
    assert peak < 512 * MiB, f"peak RSS {peak / MiB:.0f} MiB: it allocated the picture"
    with RecordingReader(largest) as r, pytest.raises(PictureTooLargeError):
        Player(r).frame_at(1.0)
    assert MAX_PICTURE_PIXELS == 8192 * 8192


def test_a_backward_seek_holds_one_framebuffer(tmp_path: Path) -> None:
    """A 4096x4096 picture (64 MiB): update 0, a checkpoint after it, update
    1. Seeking back to the checkpoint from update 1 decodes it afresh; the
    old player kept the decoder it left (and its framebuffer) while the
    checkpoint's decoded: two framebuffers at once."""
    w = h = 4096
    checkpoint = (ChunkType.CHECKPOINT, update(fill(w, h, 0x102030, seq=1), 1), 150_000)
    path = craft(tmp_path / "two.screc", [_picture(w, h, 0x102030, 100_000, 1), checkpoint,
                                          _picture(w, h, 0x405060, 200_000, 2)])  # fmt: skip
    framebuffer = w * h * 4
    with RecordingReader(path) as r:
        player = Player(r)
        tracemalloc.start()  # it sees what is allocated from here on
        try:
            assert player.frame_at(1.0)[0, 0, 0] == 0x60
            fb = player.frame_at(0.15)  # back: the checkpoint, afresh
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert fb[0, 0, 0] == 0x30 and player.started_from == (1, True)
    assert peak < framebuffer * 1.5, f"{peak / MiB:.0f} MiB for a {framebuffer >> 20} MiB picture"


@pytest.mark.parametrize("top", [-3, 0, 695, 697, 699, 1396, 1496])
def test_the_pointer_is_drawn_across_the_bands(tmp_path: Path, top: int) -> None:
    """write_png converts ~4 MiB of rows at a time (699 rows of a 2000-wide
    picture): a pointer over a band's edge, at the top or bottom, is drawn
    whole, as draw_cursor draws it on the whole picture."""
    rng = np.random.default_rng(top + 10)
    fb = rng.integers(0, 256, (1500, 2000, 4), np.uint8)
    shape = rng.integers(0, 256, (8, 6, 4), np.uint8)
    cursor = (shape, 1995, top)
    write_png(tmp_path / "p.png", fb, cursor)
    w, h, inflate, idat = _png_rows(tmp_path / "p.png")
    rows = np.frombuffer(inflate.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert not rows[:, 0].any()  # filter None
    expected = draw_cursor(fb, cursor)[:, :, 2::-1]
    assert np.array_equal(rows[:, 1:].reshape(h, w, 3), expected)
