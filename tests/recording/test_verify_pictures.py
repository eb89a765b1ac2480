"""``recordings verify`` decodes the pictures: a recording of a real Host
session (over loopback, a real viewer) passes; the same file with one screen
update's payload changed and its chunk made right again (a fresh CRC, as
anyone can write; signed and sealed chunks are attacked elsewhere) passes
every chunk check, and only the picture check catches it: exit 7, naming
the update, its sequence, chunk and time."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from screencodec.capture import open_source
from screencodec.recording import CheckpointPolicy, Recorder, RecordingReader
from screencodec.recording.format import CHUNK_HEADER, ChunkHeader, ChunkType
from screencodec.recording.pictures import check_pictures
from screencodec.transport import VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.wire import Op, parse_update, split_frame
from screencodec.wire.format import PALETTE_HEADER

from .helpers import RememberingDecoder, until
from .test_attack_craft import cli, fill, no_traceback
from .test_session import _plain_caps
from .test_signed_attacks import redo, split, write

ZSTD_MAGIC = bytes.fromhex("28b52ffd")


def _record(directory: Path, caps: Any, updates: int = 30) -> Path:
    """A real host session with one viewer (``caps``), recorded at the host."""

    async def main() -> Path:
        recorder = Recorder(directory, host_id="test-host",
                            checkpoints=CheckpointPolicy(budget=0.0, min_interval=0.2))
        source = open_source("synthetic", width=320, height=200, scenario="typing", seed=3)
        host = Host(source, consent=allow(), recorder=recorder)
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        async with listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch, who="Alice", decoder=RememberingDecoder(), capabilities=caps)
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= updates, what=f"{updates} updates")
            await viewer.bye("done")
            await task
            (done,) = await asyncio.to_thread(recorder.wait, 1)
        await host.close()
        return Path(done.path)

    return asyncio.run(asyncio.wait_for(main(), 60))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pictures")
    # Full capabilities (the history stream: no checkpoints), and a plain
    # viewer whose recording gets checkpoints.
    return {"full": _record(d / "full", None), "plain": _record(d / "plain", _plain_caps())}


def _verify(path: Path, *args: object) -> tuple[int, str]:
    done = cli("verify", path, *args)
    no_traceback(done)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("kind", ["full", "plain"])
def test_a_real_session_recording_verifies_with_its_pictures(
        recordings: dict[str, Path], kind: str) -> None:  # fmt: skip
    path = recordings[kind]
    code, out = _verify(path)
    assert code == 0, out
    with RecordingReader(path) as r:
        n, checkpoints = r.update_count, len(r.index.checkpoints)
    assert n >= 30
    assert (checkpoints > 0) == (kind == "plain")
    assert f"pictures: {n} updates and {checkpoints} checkpoints decoded" in out, out
    # Every picture the viewer was shown, hashed by the host's recorder (which
    # decodes the history stream too) and matched.
    assert f"decoded, {n} pictures equal to the host's recorded hashes" in out, out


def _chunk_fields(c: bytes) -> tuple[int, int, int, bytes]:
    """(type, index, time_us, payload) of a whole plain chunk."""
    h = ChunkHeader.unpack(c, 0)
    return int(h.type), h.index, h.time_us, c[CHUNK_HEADER.size : CHUNK_HEADER.size + h.length]


def _corrupt_update(path: Path, out: Path) -> tuple[int, int, int, float]:
    """``path`` with one delta update's op payload changed (the first byte of
    its zstd frame, in a ZSTD op or a PALETTE op's indices, XORed) and the
    chunk's CRC made right: (the update's ordinal, session sequence, chunk,
    time)."""
    chunks = split(path)
    ordinal = -1
    for n, c in enumerate(chunks):
        ctype, index, time_us, body = _chunk_fields(c)
        if ctype != ChunkType.UPDATE:
            continue
        ordinal += 1
        message = body[4:]
        u = parse_update(split_frame(memoryview(message))[2])
        ops = [o for o in u.ops if o.op in (Op.ZSTD, Op.PALETTE)]
        if ordinal < 3 or u.keyframe or not ops:
            continue
        payload = bytes(ops[0].payload)
        colours = int.from_bytes(payload[2:4], "little")
        frame = 0 if ops[0].op is Op.ZSTD else PALETTE_HEADER.size + 3 * colours
        assert payload[frame : frame + 4] == ZSTD_MAGIC
        at = 4 + message.index(payload) + frame
        edited = bytearray(body)
        edited[at] ^= 0xFF
        chunks[n] = redo(c, payload=bytes(edited))
        write(out, chunks)
        return ordinal, int.from_bytes(body[:4], "big"), index, time_us / 1e6
    raise AssertionError("no delta update with a ZSTD or PALETTE op to corrupt")


def test_a_corrupted_update_resealed_fails_only_the_picture_check(
        recordings: dict[str, Path], tmp_path: Path) -> None:  # fmt: skip
    bad = tmp_path / "bad.screc"
    ordinal, seq, chunk, t = _corrupt_update(recordings["plain"], bad)
    # Every chunk check passes: the CRC was made right.
    code, out = _verify(bad, "--no-pictures")
    assert code == 0 and ": complete:" in out, out
    with RecordingReader(bad) as r:
        assert r.verify().status == "complete"
    code, out = _verify(bad)
    assert code == 7, out
    assert ": bad-picture: a picture does not decode: " in out, out
    named = f"update {ordinal} (chunk {chunk}, session sequence {seq}) at t={t:.3f} s: "
    assert named in out, (named, out)
    assert "the chunks alone: complete" in out, out
    # With a good file too: the lowest code that applies (0 counts last).
    code, both = _verify(recordings["plain"], bad)
    assert code == 7 and both.count("bad-picture") == 1, both
    with RecordingReader(bad) as r:
        report = check_pictures(r)
    assert report.failure is not None and report.updates == ordinal
    assert (report.failure.kind, report.failure.chunk) == ("update", chunk)


def test_a_checkpoint_that_shows_another_picture_fails(
        recordings: dict[str, Path], tmp_path: Path) -> None:  # fmt: skip
    """A checkpoint replaced by a whole, valid keyframe of another picture
    (a grey screen) decodes by itself: only comparing it with the stream
    finds that play --at from it would show another screen."""
    chunks = split(recordings["plain"])
    n = next(i for i, c in enumerate(chunks) if c[4] == ChunkType.CHECKPOINT)
    _, _, time_us, body = _chunk_fields(chunks[n])
    _, _, msg = split_frame(memoryview(body)[4:])
    u = parse_update(msg)
    grey = fill(u.width, u.height, 0x808080, seq=u.sequence)
    chunks[n] = redo(chunks[n], payload=body[:4] + grey)
    bad = write(tmp_path / "checkpoint.screc", chunks)
    code, out = _verify(bad, "--no-pictures")
    assert code == 0, out
    code, out = _verify(bad)
    assert code == 7, out
    after = int.from_bytes(body[:4], "big")
    assert re.search(rf"checkpoint after update {after} \(chunk {n}, sequence \d+\) at "
                     rf"t={time_us / 1e6:.3f} s: its picture is not the stream's", out), out


def test_sealed_recordings_are_decoded_with_the_key(
        sealed_recording: tuple[Path, Path]) -> None:  # fmt: skip
    path, key = sealed_recording
    code, out = _verify(path, "--key", key)
    assert code == 0 and "pictures: 5 updates" in out, out
    code, out = _verify(path)  # no key: its layout only, no pictures
    assert code == 3 and "pictures" not in out, out
