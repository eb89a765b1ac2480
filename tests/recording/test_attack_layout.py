"""Crafted recordings whose layout lies: a HEADER whose start is no date,
chunks with negative, backwards or absurd times, lengths past the end or
past the format's cap, indexes repeated, JSON that no parser should take,
pictures of hostile sizes. Each is a clear outcome (damaged, incomplete, a
``screencodec`` error with exit 2), never a traceback or a wrong "complete"."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from screencodec.errors import DecodeError, ScreencodecError
from screencodec.recording import Player, RecordingReader
from screencodec.recording.format import MAGIC, MAX_PAYLOAD, ChunkType
from screencodec.wire.format import HEADER, UPDATE_HEADER

from .test_attack_craft import (
    chunk,
    cli,
    craft,
    fill,
    header,
    json_payload,
    no_traceback,
    picture,
    update,
)


@pytest.mark.parametrize("start", [[1], "abc", 1e300])
def test_header_start_that_is_no_date_is_damage(tmp_path: Path, start: object) -> None:
    # A list raised TypeError (a traceback in verify, play, export and list),
    # 1e300 OverflowError in list's date (one file ended the whole listing).
    path = craft(tmp_path / "start.screc", [picture(64, 48)], head=header(start_unix=start))
    craft(tmp_path / "fine.screc", [picture(64, 48)])
    with pytest.raises(DecodeError, match="start_unix"):
        RecordingReader(path)
    done = cli("verify", path)
    no_traceback(done)
    assert done.returncode == 1 and ": damaged: " in done.stdout, done.stdout
    listed = cli("list", tmp_path)
    no_traceback(listed)
    assert listed.returncode == 0, listed.stderr
    assert "unreadable start.screc" in listed.stdout and " complete " in listed.stdout


def test_negative_time_is_damage(tmp_path: Path) -> None:
    # The writer clamps every time to >= 0: verify said "complete, -5.000 s".
    path = craft(tmp_path / "neg.screc", [picture(64, 48, 100_000), picture(64, 48, -5_000_000)])
    done = cli("verify", path)
    no_traceback(done)
    assert done.returncode == 1, done.stdout
    assert "damaged" in done.stdout and "negative time" in done.stdout


def test_backwards_times_play_without_error(tmp_path: Path) -> None:
    # Times that go back are possible in a real file (two threads queue
    # with their own clock readings): not damage; seeking still answers.
    path = craft(tmp_path / "back.screc", [picture(64, 48, 500_000), picture(32, 16, 100_000)])
    with RecordingReader(path) as r:
        assert r.verify().status == "complete"
        fb = Player(r).frame_at(10.0)
        assert fb is not None and fb.shape[:2] == (16, 32)


def test_chunk_length_past_the_cap_is_damage(tmp_path: Path) -> None:
    good = craft(tmp_path / "good.screc", [picture(64, 48)]).read_bytes()
    huge = chunk(ChunkType.EVENT, b"{}", 3, 0, length=MAX_PAYLOAD + 1)
    path = tmp_path / "huge.screc"
    path.write_bytes(good + huge)
    done = cli("verify", path)
    assert done.returncode == 1 and f"chunk of {MAX_PAYLOAD + 1} bytes" in done.stdout


def test_chunk_length_past_the_end_is_a_torn_tail(tmp_path: Path) -> None:
    # 0xFFFFFFFF is past the cap: damage; a length under the cap but past the
    # end of the file is what a killed writer leaves: incomplete, with where.
    base = craft(tmp_path / "base.screc", [picture(64, 48)], with_end=False).read_bytes()
    for length, code, word in ((0xFFFFFFFF, 1, "damaged"), (1 << 20, 2, "incomplete")):
        path = tmp_path / f"len{length}.screc"
        path.write_bytes(base + chunk(ChunkType.EVENT, b"{}", 3, 0, length=length))
        done = cli("verify", path)
        no_traceback(done)
        assert done.returncode == code and f": {word}: " in done.stdout, done.stdout


def test_duplicate_and_skipped_indexes_are_damage(tmp_path: Path) -> None:
    # No stored seek index exists to point anywhere: the index is each
    # chunk's own number, and a repeated or skipped one is out of place.
    good = craft(tmp_path / "g.screc", [picture(64, 48)], with_end=False).read_bytes()
    for index in (2, 7):
        path = tmp_path / f"dup{index}.screc"
        path.write_bytes(good + chunk(ChunkType.EVENT, b"{}", index, 0))
        done = cli("verify", path)
        assert done.returncode == 1, done.stdout
        assert f"chunk {index} found where chunk 3 belongs" in done.stdout


def test_checkpoint_far_past_the_updates_is_no_seek_point_for_them(tmp_path: Path) -> None:
    # A CHECKPOINT claiming to follow update 10**9 (there is one update) and
    # one of another size: the player starts from the real keyframe.
    ckpt = (10**9).to_bytes(4, "big") + fill(2000, 2000)
    path = craft(tmp_path / "ck.screc", [picture(64, 48), (ChunkType.CHECKPOINT, ckpt, 150_000)])
    with RecordingReader(path) as r:
        fb = Player(r).frame_at(1.0)
        assert fb is not None and fb.shape[:2] == (48, 64)


@pytest.mark.parametrize(("width", "height"), [(65535, 65535), (0, 0), (16385, 1)])
def test_update_of_a_size_outside_the_wire_is_refused(tmp_path: Path, width: int,
                                                       height: int) -> None:  # fmt: skip
    message = bytearray(fill(8, 8))
    struct.pack_into("<HH", message, HEADER.size + 6, width, height)
    assert UPDATE_HEADER.unpack_from(message, HEADER.size)[2:4] == (width, height)
    path = craft(tmp_path / "dims.screc", [(ChunkType.UPDATE, update(bytes(message)), 1, 1)])
    with RecordingReader(path) as r, pytest.raises(ScreencodecError):
        Player(r).frame_at(1.0)
    done = cli("play", path, "--at", "1", "--out", tmp_path)
    no_traceback(done)
    assert done.returncode == 2 and "no seek point reaches update 1" in done.stderr


@pytest.mark.parametrize("payload", [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-100000"),  # RecursionError
    pytest.param(b'{"type":"chat","n":' + b"9" * 5000 + b"}", id="int-5000-digits"),
    pytest.param(b'{"type":"chat","text":"x","n":NaN}', id="NaN"),  # invalid JSONL
    pytest.param(b"[1,2]", id="not-an-object"),
])  # fmt: skip
def test_event_json_no_parser_should_take(tmp_path: Path, payload: bytes) -> None:
    path = craft(tmp_path / "ev.screc", [picture(64, 48), (ChunkType.EVENT, payload, 200_000)])
    with RecordingReader(path) as r, pytest.raises(DecodeError, match="EVENT"):
        r.events()
    for args in (["play", path, "--events", "--out", tmp_path],
                 ["export", path, "--log", tmp_path / "log.jsonl"]):  # fmt: skip
        done = cli(*args)
        no_traceback(done)
        assert done.returncode == 2 and "EVENT: not" in done.stderr, done.stderr


def test_meta_json_no_parser_should_take_is_listed(tmp_path: Path) -> None:
    data = bytearray(craft(tmp_path / "m.screc", [picture(64, 48)]).read_bytes())
    path = tmp_path / "deep.screc"
    deep = b"[" * 50_000 + b"]" * 50_000
    head_end = len(MAGIC) + 24 + len(json_payload(header())) + 4
    meta_len = struct.unpack_from("<I", data, head_end + 20)[0]
    rest = data[head_end + 24 + meta_len + 4 :]
    path.write_bytes(bytes(data[:head_end]) + chunk(ChunkType.META, deep, 1) + bytes(rest))
    (tmp_path / "m.screc").unlink()
    done = cli("list", tmp_path)
    no_traceback(done)
    assert done.returncode == 0 and " damaged " in done.stdout, done.stdout


@pytest.mark.parametrize("flags", [0, 1], ids=["no-keyframe", "flag-says-keyframe"])
def test_a_missing_keyframe_is_a_clear_refusal(tmp_path: Path, flags: int) -> None:
    # verify --no-pictures checks chunks, not pictures (docs/recording.md,
    # "Hostile files"): a stream that starts with a delta is "complete"
    # there, and the picture check (the default) calls it bad-picture; play
    # and export say why they cannot show it, even when the chunk's flag
    # claims a keyframe.
    delta = (ChunkType.UPDATE, update(fill(64, 48, keyframe=False)), 100_000, flags)
    path = craft(tmp_path / "nokey.screc", [delta])
    assert cli("verify", path, "--no-pictures").returncode == 0
    done = cli("verify", path)
    assert done.returncode == 7 and "before any keyframe" in done.stdout, done.stdout
    for args in (["play", path, "--at", "1", "--out", tmp_path],
                 ["export", path, "--mp4", tmp_path / "o.mp4"]):  # fmt: skip
        done = cli(*args)
        no_traceback(done)
        assert done.returncode == 2 and "no seek point reaches update 1" in done.stderr
