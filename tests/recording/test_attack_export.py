"""Exports and seeks of hostile recordings: pictures of 1 pixel, odd and
16384 x 16384, a time of 146,000 years, a resolution change (the video takes
the largest size), and the auditor's own odd arguments (``--at nan``, ``--fps 0``). Each export that
succeeds is read back by ffprobe; the rest are refused with a clear message
and exit 2, in bounded time, never a traceback or an endless loop."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from screencodec.recording import RecordingReader
from screencodec.recording.export import export_mp4, export_pngs
from screencodec.recording.format import ChunkType
from screencodec.recording.player import CursorTrack

from .test_attack_craft import cli, craft, event, no_traceback, picture

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")


def _probe(path: Path) -> dict[str, object]:
    done = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=width,height,nb_frames,codec_name", "-of", "json", str(path)],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    stream: dict[str, object] = json.loads(done.stdout)["streams"][0]
    return stream


@pytest.mark.parametrize(("size", "video"), [((1, 1), (2, 2)), ((33, 17), (32, 16)),
                                        ((1, 40), (2, 40))])  # fmt: skip
def test_mp4_of_tiny_and_odd_pictures_is_read_by_ffprobe(
        tmp_path: Path, size: tuple[int, int], video: tuple[int, int]) -> None:  # fmt: skip
    # A 1-pixel side was cropped to 0: IndexError, a traceback.
    path = craft(tmp_path / "tiny.screc", [picture(*size), picture(*size, 350_000)])
    out = tmp_path / "tiny.mp4"
    done = cli("export", path, "--mp4", out)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    stream = _probe(out)
    assert (stream["width"], stream["height"]) == video and stream["codec_name"] == "h264"
    assert stream["nb_frames"] == "4"


def test_mp4_of_a_resolution_change_takes_the_largest_size(tmp_path: Path) -> None:
    # A switch to a larger monitor was cropped to the first picture's size:
    # the auditor lost what the larger screen showed beyond it.
    path = craft(tmp_path / "resize.screc", [picture(64, 48), picture(100, 80, 200_000),
                                            picture(30, 20, 300_000)])  # fmt: skip
    out = tmp_path / "resize.mp4"
    done = cli("export", path, "--mp4", out, "--fps", "20")
    assert done.returncode == 0, done.stderr
    stream = _probe(out)
    assert (stream["width"], stream["height"]) == (100, 80) and stream["nb_frames"] == "6"
    with av.open(str(out)) as video:
        pictures = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    colour = np.array([0x33, 0x66, 0x99])  # picture()'s fill, through yuv420p
    near = lambda px: bool(np.abs(px.astype(int) - colour).max() <= 12)  # noqa: E731
    assert near(pictures[2][10, 10]) and not near(pictures[2][70, 90])  # 64x48, padded
    assert near(pictures[4][70, 90]) and near(pictures[4][10, 10])  # 100x80, whole


def test_mp4_of_a_16384_square_picture_is_refused_clearly(tmp_path: Path) -> None:
    path = craft(tmp_path / "big.screc", [picture(16384, 16384)])
    done = cli("export", path, "--mp4", tmp_path / "big.mp4")
    no_traceback(done)
    assert done.returncode == 2, done.stderr
    # Refused before the picture is decoded (x264 refused it after 2.1 GB).
    assert "update 0 is a 16384x16384 picture" in done.stderr, done.stderr


def test_a_time_of_146000_years_is_refused_not_exported_forever(tmp_path: Path) -> None:
    # The last chunk at 2**62 us: export_mp4 looped over 4.6e13 frames (a hang
    # that fills the disk), export_pngs over 4.6e12 screenshots.
    path = craft(tmp_path / "long.screc", [picture(64, 48), (ChunkType.EVENT, event(
        {"type": "chat", "from": "host", "text": "late"}), 1 << 62)])  # fmt: skip
    with RecordingReader(path) as r:
        with pytest.raises(ValueError, match="are its times forged"):
            export_mp4(r, tmp_path / "long.mp4")
        with pytest.raises(ValueError, match="are its times forged"):
            export_pngs(r, tmp_path / "png", 1.0)
    done = cli("export", path, "--mp4", tmp_path / "long.mp4", timeout=60)
    no_traceback(done)
    assert done.returncode == 2 and "are its times forged" in done.stderr, done.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--mp4", "o.mp4", "--fps", "0"], "must be a number above 0"),  # ZeroDivisionError
    (["--mp4", "o.mp4", "--fps", "inf"], "not a number: inf"),  # OverflowError
    (["--mp4", "o.mp4", "--fps", "nan"], "not a number: nan"),
    (["--mp4", "o.mp4", "--fps", "1e9"], "give a rate from 0.001 to 1000"),  # 3e8 frames
    (["--png-every", "0", "png"], "--png-every must be a number above 0"),  # ZeroDivisionError
])  # fmt: skip
def test_export_arguments_out_of_range_are_refused(tmp_path: Path, args: list[str],
                                                   message: str) -> None:  # fmt: skip
    path = craft(tmp_path / "ok.screc", [picture(64, 48), picture(64, 48, 300_000)])
    done = subprocess.run([str(cli.__globals__["CLI"]), "recordings", "export", str(path), *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    no_traceback(done)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_play_at_times_outside_the_recording(tmp_path: Path) -> None:
    path = craft(tmp_path / "ok.screc", [picture(64, 48, 200_000), picture(32, 16, 300_000)])
    done = cli("play", path, "--at", "-1", "0.25", "1e9", "--out", tmp_path)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()[1:]
    assert lines[0] == "t=-1.000: no picture yet" and lines[1].startswith("t=0.250: ")
    assert lines[2].startswith("t=1000000000.000: ") and lines[2].endswith(".png")
    with RecordingReader(path) as r:  # the library clamps: 1e308 was an OverflowError
        assert r.updates_until(1e308) == 2 and r.updates_until(-math.inf) == 0
        with pytest.raises(ValueError, match="NaN"):
            r.updates_until(math.nan)
        assert CursorTrack(r).at(math.inf) is None


@pytest.mark.parametrize("at", ["nan", "inf", "-inf", "1e308"])
def test_play_at_a_time_that_is_no_time_is_refused(tmp_path: Path, at: str) -> None:
    path = craft(tmp_path / "ok.screc", [picture(64, 48)])
    done = cli("play", path, f"--at={at}", "--out", tmp_path)
    no_traceback(done)  # inf was an OverflowError; nan 'cannot convert float NaN to integer'
    assert done.returncode == 2, done.stderr
    assert f"not a time: {at}" in done.stderr or "no recording is that long" in done.stderr
