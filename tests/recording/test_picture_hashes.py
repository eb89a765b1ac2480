"""Every picture a player shows is checked (PICTURE chunks): the recorder
decodes each update as the viewer did and records the xxh3-64 of the
framebuffer after it; ``verify`` decodes the stream and compares every
picture, not only those at checkpoints.

The attack: a forged picture shown between two checkpoints. One delta
update gets an extra FILL op over a small square, the next one an op per
pixel putting the true pixels back, so every later picture, the
checkpoints included, is the true one: the picture check could not see it
before (exit 0), and ``play`` shows the forged square at that time. Each
attempt has its verdict; the auditor runs the real command line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from screencodec.decoder import ScreenDecoder
from screencodec.frames import framebuffer_hash
from screencodec.geometry import Rect
from screencodec.recording import CheckpointPolicy, Player, RecordingReader, generate_host_keypair
from screencodec.recording.format import PICTURE_PAYLOAD, ChunkHeader, ChunkType
from screencodec.wire import Op, parse_update, split_frame
from screencodec.wire.build import EncodedOp, build_update

from .synth import synth
from .test_attack_craft import cli, no_traceback
from .test_signed_attacks import header_with, rechain, redo, renumber, split, write

SQUARE = Rect(40, 30, 6, 6)  #: where the forged picture differs
FORGED = bytes((0x00, 0x00, 0xFF))  #: B, G, R: a red square


def _record(directory: Path, **recorder: object) -> Path:
    """60 updates at 10/s, a checkpoint at most every 1 s."""
    path, _ = synth(directory, frames=60, checkpoints=CheckpointPolicy(
        budget=0.0, min_interval=1.0), **recorder)  # fmt: skip
    return path


def _fields(c: bytes) -> tuple[ChunkHeader, bytes]:
    h = ChunkHeader.unpack(c, 0)
    return h, c[24 : 24 + h.length]


def _forge(path: Path, out: Path) -> tuple[int, int, float]:
    """``path`` with the picture after one delta update forged (a red
    SQUARE) and put right by the next update; CRCs made right, everything
    else kept. Returns (the update's ordinal, its chunk, its time)."""
    chunks = split(path)
    updates = [n for n, c in enumerate(chunks) if _fields(c)[0].type is ChunkType.UPDATE]
    dec = ScreenDecoder()
    for k in range(len(updates) - 1):
        n, nxt = updates[k], updates[k + 1]
        h, body = _fields(chunks[n])
        dec.decode(body[4:])
        between = {_fields(c)[0].type for c in chunks[n + 1 : nxt]}
        if k < 12 or ChunkType.CHECKPOINT in between:
            continue
        msg, nxt_body = body[4:], _fields(chunks[nxt])[1]
        u, v = (parse_update(split_frame(memoryview(m))[2]) for m in (msg, nxt_body[4:]))
        if u.keyframe or v.keyframe:
            continue
        true = ScreenDecoder()  # the true picture after update k + 1
        for m in updates[: k + 2]:
            true.decode(_fields(chunks[m])[1][4:])
        assert true.framebuffer is not None
        fb = np.array(true.framebuffer)
        forged = build_update(u.sequence, u.width, u.height, [
            *(EncodedOp(o.op, o.rect, o.payload, o.flags) for o in u.ops),
            EncodedOp(Op.FILL, SQUARE, FORGED)])  # fmt: skip
        restore = [EncodedOp(Op.FILL, Rect(x, y, 1, 1), bytes(fb[y, x, :3]))
                   for y in range(SQUARE.y, SQUARE.bottom)
                   for x in range(SQUARE.x, SQUARE.right)]  # fmt: skip
        put_right = build_update(v.sequence, v.width, v.height, [
            *(EncodedOp(o.op, o.rect, o.payload, o.flags) for o in v.ops), *restore])
        chunks[n] = redo(chunks[n], payload=body[:4] + forged)
        chunks[nxt] = redo(chunks[nxt], payload=nxt_body[:4] + put_right)
        write(out, chunks)
        return k, n, h.time
    raise AssertionError("no two delta updates in a row between checkpoints")


def _verify(path: Path, *args: object) -> tuple[int, str]:
    done = cli("verify", path, *args)
    no_traceback(done)
    return done.returncode, done.stdout + done.stderr


def _shown(path: Path, ordinal: int) -> np.ndarray:
    """What play shows after update ``ordinal``, in SQUARE (B, G, R)."""
    with RecordingReader(path) as r:
        fb = Player(r, strict=False).frame_after(ordinal + 1)
        assert fb is not None
        return np.array(fb[SQUARE.y : SQUARE.bottom, SQUARE.x : SQUARE.right, :3])


def test_a_forged_picture_between_checkpoints_is_a_bad_picture(tmp_path: Path) -> None:
    good = _record(tmp_path / "rec")
    code, out = _verify(good)
    assert code == 0 and "60 pictures equal to the host's recorded hashes" in out, out
    bad = tmp_path / "forged.screc"
    k, chunk, t = _forge(good, bad)
    # The forgery is real: play shows the red square after update k, and the
    # true picture again after update k + 1 (so at every checkpoint).
    assert (_shown(bad, k) == np.frombuffer(FORGED, np.uint8)).all()
    assert (_shown(bad, k + 1) == _shown(good, k + 1)).all()
    code, out = _verify(bad, "--no-pictures")
    assert code == 0, out  # the chunks alone: every CRC is right
    code, out = _verify(bad)
    assert code == 7, out
    assert (f": bad-picture: a picture does not decode: update {k} (chunk {chunk}, session "
            f"sequence {k + 1}) at t={t:.3f} s: its picture is not the one the host "
            "recorded (xxh3-64 ") in out, out
    assert "the chunks alone: complete" in out, out
    # Exported as a user would, the MP4 is refused (it showed the square
    # with exit 0 before play and export checked the hashes): nothing at
    # OUT.mp4; --unverified makes it, its comment tag saying UNVERIFIED.
    mp4 = tmp_path / "forged.mp4"
    done = cli("export", bad, "--mp4", mp4)
    assert done.returncode == 7 and f"bad-picture: update {k} " in done.stderr, done.stderr
    assert not mp4.exists() and not list(tmp_path.glob(".forged.mp4*"))
    done = cli("export", bad, "--mp4", mp4, "--unverified")
    assert done.returncode == 7, done.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams",
                            "v:0", "-show_entries", "stream=nb_read_frames:format_tags=comment",
                            "-of", "default=nw=1", str(mp4)], capture_output=True, text=True,
                           check=True)  # fmt: skip
    assert "nb_read_frames=60" in probe.stdout, probe.stdout
    assert (f"TAG:comment=UNVERIFIED: NOT the host's recorded picture: update {k} "
            in probe.stdout), probe.stdout


def test_without_picture_hashes_the_same_forgery_passes(tmp_path: Path) -> None:
    """What the forgery gives in a recording made without them (or before
    them): verified, the line saying the pictures between checkpoints were
    not checked."""
    bad = tmp_path / "forged.screc"
    _forge(_record(tmp_path / "rec", picture_hashes=False), bad)
    code, out = _verify(bad)
    assert code == 0, out
    assert "(no picture hashes recorded: a wrong pixel of a delta is seen only if it lasts " \
           "until a checkpoint)" in out, out  # fmt: skip


def _rehash(path: Path, out: Path) -> Path:
    """``path`` with each PICTURE chunk's hash made that of the picture its
    file decodes to (CRCs right): what anyone can do to a plain recording."""
    chunks = split(path)
    dec = ScreenDecoder()
    for n, c in enumerate(chunks):
        h, body = _fields(c)
        if h.type is ChunkType.UPDATE:
            fb = dec.decode(body[4:])
        elif h.type is ChunkType.PICTURE:
            after, _ = PICTURE_PAYLOAD.unpack(body)
            chunks[n] = redo(c, payload=PICTURE_PAYLOAD.pack(after, framebuffer_hash(fb)))
    return write(out, chunks)


def test_a_forged_picture_in_a_signed_recording_is_damage(tmp_path: Path) -> None:
    """Signed: the forged update and a PICTURE hash made to match, each
    SIGNATURE's length and prefix hash made right again (SHA-256 needs no
    key), are bytes the host did not sign: damaged (1), as any change
    after signing."""
    generate_host_keypair(tmp_path / "h.key", tmp_path / "h.pub")
    good = _record(tmp_path / "rec", signer=tmp_path / "h.key")
    assert _verify(good, "--hosts", tmp_path / "h.pub")[0] == 0
    forged = tmp_path / "forged.screc"
    _forge(good, forged)
    rehashed = _rehash(forged, tmp_path / "rehashed.screc")
    for bad in (forged, rehashed):
        write(bad, rechain(split(bad)))
        code, out = _verify(bad, "--hosts", tmp_path / "h.pub")
        assert code == 1 and ": damaged: " in out and "is not host key" in out, out


def test_rehashed_plain_recording_passes_only_as_unsigned(tmp_path: Path) -> None:
    """The limit: in a plain, unsigned recording the hashes are rewritten as
    easily as the CRCs. Without --hosts that passes (0: its CRCs catch
    accidents, not edits); an auditor who asks for a host's signature gets
    unsigned (4)."""
    generate_host_keypair(tmp_path / "h.key", tmp_path / "h.pub")
    forged = tmp_path / "forged.screc"
    _forge(_record(tmp_path / "rec"), forged)
    bad = _rehash(forged, tmp_path / "rehashed.screc")
    assert _verify(bad)[0] == 0
    code, out = _verify(bad, "--hosts", tmp_path / "h.pub")
    assert code == 4 and ": unsigned: " in out, out


def drop_or_swap(chunks: list[bytes], kind: ChunkType, drop: bool) -> None:
    """The 21st chunk of ``kind`` dropped, or its payload swapped with the
    22nd's (CRCs made right); renumber the chunks after a drop."""
    found = [n for n, c in enumerate(chunks) if _fields(c)[0].type is kind]
    if drop:
        del chunks[found[20]]
        return
    a, b = found[20], found[21]
    pa, pb = _fields(chunks[a])[1], _fields(chunks[b])[1]
    chunks[a], chunks[b] = redo(chunks[a], payload=pb), redo(chunks[b], payload=pa)


@pytest.mark.parametrize(("attack", "code", "says"), [
    ("drop one PICTURE", 7, "its PICTURE chunk (the hash of the picture after it) is missing"),
    ("swap two PICTUREs", 7, "follows it: out of place"),
    ("PICTURE in a recording without hashes", 1, "but the HEADER declares no picture hashes"),
    ("unknown hash", 1, "HEADER pictures is not 'xxh3-64'"),
    ("drop every PICTURE and the HEADER's pictures", 0, "(no picture hashes recorded"),
])  # fmt: skip
def test_picture_chunks_moved_or_dropped(tmp_path: Path, attack: str, code: int, says: str
                                         ) -> None:  # fmt: skip
    chunks = split(_record(tmp_path / "rec"))
    pictures = [n for n, c in enumerate(chunks) if _fields(c)[0].type is ChunkType.PICTURE]
    if attack in ("drop one PICTURE", "swap two PICTUREs"):
        drop_or_swap(chunks, ChunkType.PICTURE, attack.startswith("drop"))
    elif attack == "PICTURE in a recording without hashes":
        chunks[0] = header_with(chunks[0], pictures=None, pointer=None)
    elif attack == "unknown hash":
        chunks[0] = header_with(chunks[0], pictures="crc32")
    else:
        chunks = [header_with(chunks[0], pictures=None, pointer=None)] + [
            c for n, c in enumerate(chunks[1:], 1) if n not in pictures
            and _fields(c)[0].type is not ChunkType.POINTER]
    bad = write(tmp_path / "bad.screc", renumber(chunks))
    got, out = _verify(bad)
    assert got == code and says in out, out


def test_audit_events_written_with_an_update_keep_its_picture_next_to_it(
        tmp_path: Path) -> None:  # fmt: skip
    """Local input open while updates arrive: the recorder logs its interval
    ticks at each update, after the update's PICTURE chunk (which must
    follow its UPDATE)."""
    from screencodec.capture import open_source
    from screencodec.encoder import ScreenEncoder
    from screencodec.recording import Recorder
    from screencodec.transport.session import messages as m

    rec = Recorder(tmp_path / "rec", host_id="synth")
    session = rec.start("synthetic")
    src = open_source("synthetic", width=160, height=100, scenario="typing", seed=2)
    enc = ScreenEncoder(160, 100)
    for i in range(20):  # an update every 0.6 s, a key every third: gaps over 1 s
        if i % 3 == 0:
            session.put("local", "keyboard", at=session.t0 + i * 0.6)
        session.put("out", m.encode(m.Update(i + 1, enc.encode(src.grab()))),
                    at=session.t0 + i * 0.6 + 0.01)  # fmt: skip
    session.end("done", at=session.t0 + 13)
    (done,) = rec.wait(1)
    enc.close()
    with RecordingReader(done.path) as r:
        types = [h.type for h in r.index.chunks]
        inputs = [e for e in r.events() if e["type"] == "input"]
    assert len(inputs) >= 5, inputs  # closed at an update's tick
    assert all(types[n + 1] is ChunkType.PICTURE for n, t in enumerate(types)
               if t is ChunkType.UPDATE)  # fmt: skip
    code, out = _verify(done.path)
    assert code == 0 and "20 pictures equal to the host's recorded hashes" in out, out
