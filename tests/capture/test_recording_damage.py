"""The X damage a recording stores per frame (capture.recording: the manifest's
``damage``, ``Recording.damage``, ``RecordingWriter.add(..., damage)``).

Old clips (the committed ones in tests/data/recording/ have no damage) keep
working; a clip written with damage reads it back; a hostile ``damage`` field
is refused with DecodeError at ``Recording.open``, never a crash. The real
damage of a real recording is checked against the encoder in
tests/codec/test_encoder_real_damage.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from screencodec.capture.recording import MAX_DAMAGE_RECTS, Recording, RecordingWriter
from screencodec.errors import DecodeError, FrameError

DATA = Path(__file__).resolve().parent.parent / "data" / "recording"
W, H = 640, 360  # the committed clips' size


def test_a_clip_without_damage_has_none() -> None:
    with Recording.open(DATA / "vim-typing") as rec:
        assert "damage" not in rec.manifest
        assert not rec.has_damage
        assert [rec.damage(i) for i in range(len(rec))] == [None] * len(rec)
        for bad in (-1, len(rec)):
            with pytest.raises(FrameError):
                rec.damage(bad)


def _frames(n: int) -> list[Any]:
    with Recording.open(DATA / "vim-typing") as rec:
        return [np.array(rec.frame(i)) for i in range(n)]


DAMAGE: list[Any] = [
    [[1, 2, 3, 4]],  # frame 0: a keyframe, its damage is not stored
    np.array([[0, 0, W, H]], np.int32),
    np.zeros((0, 4), np.int64),  # nothing drawn
    None,  # not known
    [[10, 300, 20, 60], [630, 0, 10, 1]],
]


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A clip of five real frames written with the damage of DAMAGE."""
    writer = RecordingWriter(tmp_path / "clip", "clip", W, H, fps=20)
    for i, (frame, dmg) in enumerate(zip(_frames(len(DAMAGE)), DAMAGE, strict=True)):
        writer.add(frame, i / 20, dmg)
    writer.close()
    return tmp_path / "clip"


def test_the_damage_written_is_read_back(damaged: Path) -> None:
    with Recording.open(damaged) as rec:
        assert rec.has_damage
        got = [rec.damage(i) for i in range(len(rec))]
        assert got[0] is None and got[3] is None
        for i in (1, 2, 4):
            d = got[i]
            assert d is not None and d.dtype == np.int32 and d.shape == (len(DAMAGE[i]), 4)
            assert d.tolist() == np.asarray(DAMAGE[i]).reshape(-1, 4).tolist()
            with pytest.raises(ValueError, match="read-only"):
                d[...] = 0  # read-only: the clip's own
        with pytest.raises(FrameError):
            rec.damage(len(rec))
        # The frames are unaffected.
        assert len(rec) == len(DAMAGE)
        rec.frame(4)
    # One line per frame in the manifest.
    text = (damaged / "manifest.json").read_text()
    assert "\n  [[10,300,20,60],[630,0,10,1]]\n ]\n}" in text


def test_a_clip_whose_frames_had_no_damage_stores_none(tmp_path: Path) -> None:
    writer = RecordingWriter(tmp_path / "c", "c", W, H, fps=20)
    for i, frame in enumerate(_frames(3)):
        writer.add(frame, i / 20)
    manifest = writer.close()
    assert "damage" not in manifest
    with Recording.open(tmp_path / "c") as rec:
        assert not rec.has_damage


@pytest.mark.parametrize(
    "dmg",
    [
        [[0, 0, W + 1, 1]],  # past the right edge
        [[0, H, 1, 1]],  # below the frame
        [[-1, 0, 2, 2]],
        [[0, 0, -3, 2]],
        [[0, 0, 0, 2]],  # empty
        [[0, 0, 1]],  # not 4 numbers
        np.zeros((2, 4), np.float32),
        "everything",
        np.tile(np.array([0, 0, 1, 1], np.int32), (MAX_DAMAGE_RECTS + 1, 1)),
    ],
)
def test_the_writer_refuses_bad_damage(tmp_path: Path, dmg: Any) -> None:
    writer = RecordingWriter(tmp_path / "c", "c", W, H, fps=20)
    frames = _frames(2)
    writer.add(frames[0], 0.0)
    with pytest.raises(FrameError):
        writer.add(frames[1], 0.05, dmg)
    writer.abort()


def _set(key: int | None, value: Any) -> Any:
    """A manifest edit: frame ``key``'s damage (or the whole field) becomes ``value``."""

    def edit(m: dict[str, Any]) -> None:
        if key is None:
            m["damage"] = value
        else:
            m["damage"][key] = value

    return edit


HOSTILE = {
    "not a list": _set(None, {"1": []}),
    "a number": _set(None, 7),
    "too short": lambda m: m["damage"].pop(),
    "too long": lambda m: m["damage"].append([]),
    "frame 0 damaged": _set(0, [[0, 0, 1, 1]]),
    "frame 0 empty list": _set(0, []),
    "a frame is a dict": _set(1, {"x": 1}),
    "a frame is a string": _set(1, "[[0,0,1,1]]"),
    "a flat list": _set(1, [0, 0, 1, 1]),
    "3 numbers": _set(1, [[0, 0, 1]]),
    "5 numbers": _set(1, [[0, 0, 1, 1, 1]]),
    "nested deeper": _set(1, [[[0, 0, 1, 1]]]),
    "a float": _set(1, [[0.5, 0, 1, 1]]),
    "a bool": _set(1, [[0, 0, True, 1]]),
    "a null coordinate": _set(1, [[0, None, 1, 1]]),
    "negative x": _set(1, [[-4, 0, 8, 8]]),
    "negative y": _set(1, [[0, -1, 8, 8]]),
    "negative width": _set(1, [[8, 0, -8, 8]]),
    "negative height": _set(1, [[0, 8, 8, -8]]),
    "zero width": _set(1, [[0, 0, 0, 8]]),
    "past the right": _set(4, [[600, 0, 41, 8]]),
    "past the bottom": _set(4, [[0, 359, 1, 2]]),
    "huge": _set(2, [[0, 0, 2**70, 2**70]]),
    "huge negative": _set(2, [[-(2**70), 0, 1, 1]]),
    "too many rects": _set(2, [[0, 0, 1, 1]] * (MAX_DAMAGE_RECTS + 1)),
}


@pytest.mark.parametrize("edit", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_damage_field_is_refused(damaged: Path, edit: Any) -> None:
    path = damaged / "manifest.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))
    with pytest.raises(DecodeError, match="damage"):
        Recording.open(damaged)


def test_a_null_damage_field_is_an_old_clip(damaged: Path) -> None:
    path = damaged / "manifest.json"
    m = json.loads(path.read_text())
    m["damage"] = None
    path.write_text(json.dumps(m))
    with Recording.open(damaged) as rec:
        assert not rec.has_damage and rec.damage(1) is None


def test_a_committed_clip_given_damage_opens(tmp_path: Path) -> None:
    """An old clip's manifest with a damage field added by hand opens (the
    field is independent of frames.bin)."""
    dst = tmp_path / "clip"
    shutil.copytree(DATA / "vim-typing", dst)
    m = json.loads((dst / "manifest.json").read_text())
    m["damage"] = [None] + [[[0, 0, W, H]]] * (m["frames"] - 1)
    (dst / "manifest.json").write_text(json.dumps(m))
    with Recording.open(dst) as rec:
        last = rec.damage(len(rec) - 1)
        assert last is not None and last.tolist() == [[0, 0, W, H]]
