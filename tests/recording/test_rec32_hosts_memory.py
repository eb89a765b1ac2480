"""``play --hosts`` in bounded memory (rec32): it read the whole recording
into memory, so that what verify checked was what it showed (a mapping shows
bytes written later), at the file's size in RAM: a 110 MB recording peaked
at 245 MB traced, 299 MB RSS. Now each chunk is read with pread and pinned
by its first read (verify's): a chunk read again must be the same bytes.
A recording of the real Recorder, signed by a host key, of a noisy 1280x720
screen encoded by the real ScreenEncoder (as synth.py records one: the size
a session would take minutes to reach); the real CLI in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from screencodec.encoder import ScreenEncoder
from screencodec.errors import IntegrityError
from screencodec.recording import (
    CheckpointPolicy,
    Player,
    Recorder,
    RecordingReader,
    generate_host_keypair,
)
from screencodec.recording.format import ChunkType
from screencodec.transport.session import messages as m

MiB = 1 << 20

# The command's peak: what Python allocated (tracemalloc: the bytes of a
# file read whole are among them) and the process's peak RSS (VmHWM).
_PEAK = """
import sys, tracemalloc
tracemalloc.start()
from screencodec.cli import main
rc = main(sys.argv[1:])
traced = tracemalloc.get_traced_memory()[1]
with open("/proc/self/status") as status:
    hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak traced={traced} rss={int(hwm) * 1024}", file=sys.stderr)
sys.exit(rc)
"""


def _peak(*args: object) -> tuple[subprocess.CompletedProcess[str], int, int]:
    """``screencodec ARGS`` in a process of its own: (it, traced peak, peak RSS)."""
    done = subprocess.run([sys.executable, "-c", _PEAK, *map(str, args)], capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("peak "))
    traced, rss = (int(x.split("=")[1]) for x in line.split()[1:])
    return done, traced, rss


def _signed(directory: Path, updates: int) -> Path:
    """A signed recording of ``updates`` full-screen changes of noise
    (~2.8 MB each), one a tenth of a second."""
    generate_host_keypair(directory / "desk.key", directory / "desk.pub")
    rec = Recorder(directory / "rec", host_id="big", signer=directory / "desk.key",
                   checkpoints=CheckpointPolicy(min_interval=1e6))  # fmt: skip
    session = rec.start("synthetic")
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (720, 1280, 4), np.uint8) for _ in range(2)]
    enc = ScreenEncoder(1280, 720)
    for i in range(updates):
        data = enc.encode(frames[i % 2])
        session.put("out", m.encode(m.Update(i + 1, data)), at=session.t0 + i / 10)
    session.end("end", at=session.t0 + updates / 10)
    rec.wait(1)
    rec.close()
    enc.close()
    return session.path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a 40-update recording of ~110 MB, a 2-update one of ~5 MB), each
    signed by the ``desk.pub`` beside its folder."""
    big = _signed(tmp_path_factory.mktemp("big"), 40)
    small = _signed(tmp_path_factory.mktemp("small"), 2)
    assert big.stat().st_size > 100 * MiB
    return big, small


def test_play_hosts_holds_no_copy_of_the_recording(
    recordings: tuple[Path, Path], tmp_path: Path,
) -> None:
    big, small = recordings
    size = big.stat().st_size
    runs = {}
    for path in (big, small):
        runs[path] = _peak("recordings", "play", path, "--hosts",
                           path.parent.parent / "desk.pub", "--at", "0", "2", "4",
                           "--out", tmp_path)  # fmt: skip
        done = runs[path][0]
        assert done.returncode == 0, done.stdout + done.stderr
        assert "signed by pinned host" in done.stdout, done.stdout
    # Neither peak grows with the file: the large one's is about the small one's.
    (_, traced, rss), (_, traced_small, rss_small) = runs[big], runs[small]
    grown = traced - traced_small
    assert grown < size / 4, f"{grown / MiB:.0f} MiB more traced than for a 5 MB file"
    grown = rss - rss_small
    assert grown < size / 4, f"{grown / MiB:.0f} MiB more RSS than for a 5 MB file"


def test_a_chunk_changed_after_the_check_is_not_shown(
    recordings: tuple[Path, Path], tmp_path: Path,
) -> None:
    """Pinned, what verify checked is what is read after it: a byte of an
    update changed in place afterwards (as a mapping would show it) is an
    IntegrityError, not the changed picture."""
    _, small = recordings
    path = tmp_path / small.name
    path.write_bytes(small.read_bytes())
    with RecordingReader(path, pinned=True) as reader:
        report = reader.verify()
        assert report.status == "complete", report.describe()
        chunk = reader.index.chunks[reader.index.updates[1]]
        assert chunk.type is ChunkType.UPDATE
        with open(path, "r+b") as f:  # in place: the same file, the same size
            f.seek(chunk.payload_offset + chunk.length // 2)
            byte = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([byte[0] ^ 0xFF]))
        with pytest.raises(IntegrityError, match="changed while it was read"):
            Player(reader).frame_after(2)
