"""The ``screencodec recordings`` tools: keygen, list, verify, export (MP4
checked by ffprobe, PNGs, JSONL), play, prune; and a recording as a frame source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from screencodec.cli.main import main
from screencodec.recording import RecordingReader, RecordingSource, RetentionPolicy, prune

from .synth import synth

FFPROBE = shutil.which("ffprobe")


def test_keygen_list_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recordings", "keygen", str(tmp_path / "aud")]) == 0
    assert (tmp_path / "aud.key").stat().st_mode & 0o777 == 0o600
    path, _ = synth(tmp_path / "rec", frames=5, auditor=tmp_path / "aud.pub")
    capsys.readouterr()
    assert main(["recordings", "list", str(tmp_path / "rec"), "--key",
                 str(tmp_path / "aud.key")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "complete" in out and "synthetic" in out and path.name in out
    assert main(["recordings", "verify", str(path), "--key", str(tmp_path / "aud.key")]) == 0
    cut = tmp_path / "cut.screc"
    cut.write_bytes(path.read_bytes()[:-40])
    assert main(["recordings", "verify", str(cut)]) == 2
    assert "incomplete" in capsys.readouterr().out
    bad = tmp_path / "bad.screc"
    data = bytearray(path.read_bytes())
    data[40] ^= 1  # inside the HEADER chunk
    bad.write_bytes(data)
    assert main(["recordings", "verify", str(cut), str(bad)]) == 1
    assert "damaged" in capsys.readouterr().out


@pytest.mark.skipif(FFPROBE is None, reason="ffprobe not installed")
def test_mp4_export_ffprobe(tmp_path: Path) -> None:
    path, _ = synth(tmp_path, frames=24, fps=8.0, size=(161, 101))  # odd: cropped to even
    with RecordingReader(path) as r:
        duration = r.duration
    out = tmp_path / "out.mp4"
    assert main(["recordings", "export", str(path), "--mp4", str(out), "--fps", "10"]) == 0
    probe = json.loads(subprocess.run(
        [FFPROBE, "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json",
         str(out)], check=True, capture_output=True, text=True).stdout)  # fmt: skip
    (stream,) = probe["streams"]
    assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (160, 100)
    frames = int(stream["nb_read_frames"])
    assert frames == int(np.ceil(duration * 10 - 1e-9))
    assert abs(float(probe["format"]["duration"]) - duration) <= 0.1 + 1e-6


def test_pngs_log_and_play(tmp_path: Path) -> None:
    path, shown = synth(tmp_path, frames=20, fps=10.0)
    pngs, log = tmp_path / "png", tmp_path / "log.jsonl"
    assert main(["recordings", "export", str(path), "--png-every", "0.5", str(pngs),
                 "--log", str(log)]) == 0  # fmt: skip
    assert len(list(pngs.glob("*.png"))) == 5  # 0, 0.5, 1.0, 1.5, 2.0 (the END)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["reason"] == "synthetic end"
    assert {"type": "chat", "from": "host", "text": "bye now"}.items() <= lines[1].items()
    assert main(["recordings", "play", str(path), "--at", "0.95", "--out", str(tmp_path)]) == 0
    png = next(tmp_path.glob("*_t00000.950.png"))
    try:
        import av
    except ImportError:
        return
    with av.open(str(png)) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24")
    expected = shown[9][:, :, 2::-1].copy()
    expected[19:27, 45:53] = (255, 0, 0)  # the pointer at (10 + 4 * 9, 20), hotspot (1, 1)
    assert np.array_equal(rgb, expected)


def test_recording_as_frame_source(tmp_path: Path) -> None:
    path, shown = synth(tmp_path, frames=10)
    with RecordingSource(str(path), paced=False) as src:
        assert (src.width, src.height) == (160, 100)
        got = [src.grab().copy() for _ in range(12)]
    for i, frame in enumerate(got):
        assert np.array_equal(frame, shown[min(i, 9)])
    clock = iter([0.0, 0.55, 0.55, 5.0])
    with RecordingSource(str(path), clock=lambda: next(clock)) as src:
        assert np.array_equal(src.grab(), shown[0])
        assert np.array_equal(src.grab(), shown[5])


def _fake(directory: Path, name: str, age_days: float, size: int, now: float) -> Path:
    from screencodec.recording.writer import ChunkWriter

    w = ChunkWriter(directory / name, start_unix=now - age_days * 86400)
    w.close()
    with open(directory / name, "ab") as f:
        f.write(b"\0" * (size - (directory / name).stat().st_size))
    return directory / name


def test_prune_by_age_and_size(tmp_path: Path) -> None:
    now = time.time()
    d = tmp_path
    files = {n: _fake(d, f"{n}.screc", age, 10_000, now)
             for n, age in [("a", 120), ("b", 91), ("c", 60), ("d", 30), ("e", 1), ("f", 0)]}
    other = d / "notes.txt"
    other.write_text("not a recording")
    old = d / "copied.screc"
    old.write_bytes(files["a"].read_bytes())  # copied today: its header says 120 days
    os.utime(files["e"], (now - 200 * 86400,) * 2)  # mtime lies: the header decides
    gone = prune(d, RetentionPolicy(days=90), now=now, dry_run=True)
    assert sorted(p.name for p in gone) == ["a.screc", "b.screc", "copied.screc"]
    assert all(p.exists() for p in gone)  # dry run
    gone = prune(d, RetentionPolicy(days=90, max_bytes=25_000), now=now,
                 keep={files["c"]})  # fmt: skip
    # Age: a, b, copied. Size: c (kept: being written) + d + e + f = 40 000 > 25 000:
    # the oldest that may go, d, then e.
    assert sorted(p.name for p in gone) == ["a.screc", "b.screc", "copied.screc", "d.screc",
                                            "e.screc"]  # fmt: skip
    assert sorted(p.name for p in d.iterdir()) == ["c.screc", "f.screc", "notes.txt"]
    assert main(["recordings", "prune", str(d), "--days", "90", "--max-size", "10K"]) == 0
    assert sorted(p.name for p in d.iterdir()) == ["f.screc", "notes.txt"]


def test_write_failure_ends_the_recording_quietly(tmp_path: Path) -> None:
    from screencodec.recording import Recorder
    from screencodec.transport.session import messages as m

    rec = Recorder(tmp_path)
    session = rec.start("peer")
    os.close(session.writer._fd)  # the disk goes away under the writer
    session.put("out", m.encode(m.Chat("lost")))
    assert session.done.wait(10)
    assert isinstance(session.error, OSError)
    session.put("out", m.encode(m.Chat("dropped, not queued")))
    assert session._queue.empty()
