"""What ``play`` and ``export`` show is checked, as ``verify`` checks it:
the chunks first (damaged: refused, exit 1), then every picture and pointer
against the hash the host's recorder took of it, as it is decoded (a bad
one: refused, exit 7). ``--unverified`` shows it all the same, marked.
The pointer is hashed too (POINTER chunks), and a recording of a newer
format version is said to be one, not damaged. Each attempt through the
real command line, with its verdict; the MP4 through ffprobe.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from screencodec.recording import CheckpointPolicy, generate_host_keypair
from screencodec.recording.format import CHUNK_HEADER, ChunkHeader, ChunkType
from screencodec.wire import split_frame
from screencodec.wire.format import MessageType

from .synth import synth
from .test_attack_craft import cli, no_traceback
from .test_picture_hashes import _fields, _forge, _rehash, drop_or_swap
from .test_signed_attacks import header_with, rechain, redo, renumber, split, write


def _record(directory: Path, **recorder: object) -> Path:
    path, _ = synth(directory, frames=60, checkpoints=CheckpointPolicy(
        budget=0.0, min_interval=1.0), **recorder)  # fmt: skip
    return path


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    done = cli(*args)
    no_traceback(done)
    return done


def _pngs(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.png"))


def _comment(png: Path) -> str:
    """A PNG's tEXt Comment ("" when it has none)."""
    data, pos = png.read_bytes(), 8
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos : pos + 4]), data[pos + 4 : pos + 8]
        if kind == b"tEXt" and data[pos + 8 : pos + 16] == b"Comment\0":
            return data[pos + 16 : pos + 8 + length].decode("latin-1")
        pos += 12 + length
    return ""


def _probe(mp4: Path) -> str:
    return subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                           "-show_entries", "stream=nb_read_frames:format_tags=comment", "-of",
                           "default=nw=1", str(mp4)], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def test_play_refuses_a_forged_picture_and_unverified_marks_it(tmp_path: Path) -> None:
    """play --at the forged picture's time: exit 7 with verify's words, no
    PNG of it (before: exit 0 and the forged square in the PNG). A time
    before it plays; --unverified writes it as *.UNVERIFIED.png, its
    Comment naming the update, and still exits 7; the picture before it is
    written unmarked."""
    bad = tmp_path / "forged.screc"
    k, chunk, t = _forge(_record(tmp_path / "rec"), bad)
    done = _run("play", bad, "--at", t, "--out", tmp_path / "out")
    assert done.returncode == 7, done.stderr
    assert (f"forged.screc: bad-picture: update {k} (chunk {chunk}, session sequence {k + 1}) "
            f"at t={t:.3f} s: its picture is not the one the host recorded") in done.stderr
    assert "NOT shown" in done.stderr and "--unverified" in done.stderr, done.stderr
    assert _pngs(tmp_path / "out") == []
    done = _run("play", bad, "--at", t - 0.2, "--out", tmp_path / "before")
    assert done.returncode == 0 and len(_pngs(tmp_path / "before")) == 1, done.stderr
    out = tmp_path / "marked"
    done = _run("play", bad, "--at", t - 0.2, t, "--out", out, "--unverified")
    assert done.returncode == 7, done.stderr
    assert "UNVERIFIED: 1 picture(s) or pointer(s) shown" in done.stderr, done.stderr
    # The picture before the forged update is written unmarked. (Not the one
    # after it: the synthetic desktop runs on the wall clock, so whether the
    # next update paints over the forged square depends on the machine's load.)
    clean, marked = _pngs(out)  # "...t00001.000.png" sorts before "...t00001.200.UNV..."
    assert marked.endswith(f"_t{t:09.3f}.UNVERIFIED.png") and clean.endswith(".png"), _pngs(out)
    assert _comment(out / marked).startswith(f"UNVERIFIED: NOT the host's recorded picture: "
                                             f"update {k} ")  # fmt: skip
    assert "UNVERIFIED" not in clean and _comment(out / clean) == ""


def test_export_pngs_stop_at_the_forged_picture(tmp_path: Path) -> None:
    """export --png-every: refused at the forged picture (exit 7), the PNGs
    before it (each checked) kept; --unverified marks that one only."""
    bad = tmp_path / "forged.screc"
    k, _, t = _forge(_record(tmp_path / "rec"), bad)
    done = _run("export", bad, "--png-every", "0.1", tmp_path / "p")
    assert done.returncode == 7 and f"bad-picture: update {k} " in done.stderr, done.stderr
    assert len(_pngs(tmp_path / "p")) == round(t / 0.1)  # up to the one before it
    done = _run("export", bad, "--png-every", "0.1", tmp_path / "q", "--unverified")
    assert done.returncode == 7, done.stderr
    names = _pngs(tmp_path / "q")
    assert [n for n in names if "UNVERIFIED" in n] == [f"t_{t:09.1f}.UNVERIFIED.png"], names


def test_a_good_recording_plays_and_exports_unmarked(tmp_path: Path) -> None:
    good = _record(tmp_path / "rec")
    mp4 = tmp_path / "good.mp4"
    done = _run("export", good, "--mp4", mp4)
    assert done.returncode == 0 and "UNVERIFIED" not in done.stdout + done.stderr, done.stderr
    probe = _probe(mp4)
    assert "nb_read_frames=60" in probe and "comment" not in probe, probe
    done = _run("play", good, "--at", "1", "5", "--out", tmp_path / "out", "--unverified")
    assert done.returncode == 0 and "UNVERIFIED" not in done.stderr, done.stderr
    assert not [n for n in _pngs(tmp_path / "out") if "UNVERIFIED" in n]


def test_a_signed_forgery_with_its_hashes_made_right_is_refused_as_damaged(
        tmp_path: Path) -> None:  # fmt: skip
    """The picture hashes rewritten to match the forgery and the signatures'
    prefixes made right again: every picture matches its hash, so only the
    host's signatures tell. play and export check them first: damaged, exit
    1, nothing written (before: exit 0, the square shown)."""
    generate_host_keypair(tmp_path / "h.key", tmp_path / "h.pub")
    forged = tmp_path / "forged.screc"
    _, _, t = _forge(_record(tmp_path / "rec", signer=tmp_path / "h.key"), forged)
    bad = _rehash(forged, tmp_path / "rehashed.screc")
    write(bad, rechain(split(bad)))
    assert cli("verify", bad).returncode == 1
    done = _run("play", bad, "--at", t, "--out", tmp_path / "out")
    assert done.returncode == 1 and ": damaged: " in done.stderr, done.stderr
    assert "is not host key" in done.stderr and "NOT shown" in done.stderr, done.stderr
    assert _pngs(tmp_path / "out") == []
    mp4 = tmp_path / "x.mp4"
    done = _run("export", bad, "--mp4", mp4, "--log", tmp_path / "x.jsonl")
    assert done.returncode == 1 and not mp4.exists() and not (tmp_path / "x.jsonl").exists()
    done = _run("export", bad, "--mp4", mp4, "--unverified")
    assert done.returncode == 1, done.stderr
    assert "TAG:comment=UNVERIFIED: damaged: " in _probe(mp4)


def _moved_pointer(path: Path, out: Path, message: int = 10) -> Path:
    """``path`` with cursor message ``message`` (a position) moved 50 pixels
    right, its CRC made right; its POINTER chunk kept."""
    chunks = split(path)
    cursors = [n for n, c in enumerate(chunks) if _fields(c)[0].type is ChunkType.CURSOR]
    n = cursors[message]
    body = bytearray(_fields(chunks[n])[1])
    _, kind, rest = split_frame(memoryview(bytes(body)))
    assert kind == MessageType.CURSOR_POSITION
    at = len(body) - len(rest)
    (x,) = struct.unpack_from("<i", body, at)  # CURSOR_POSITION: x i32 LE first
    struct.pack_into("<i", body, at, x + 50)
    chunks[n] = redo(chunks[n], payload=bytes(body))
    return write(out, chunks)


def test_a_moved_pointer_is_a_bad_picture(tmp_path: Path) -> None:
    """The pointer drawn 50 pixels off (a cursor position rewritten, CRC made
    right): the chunks pass, the pointer's hash does not. verify: 7 naming
    the cursor message (before POINTER chunks: 0); play and export: 7;
    --no-cursor leaves it out and plays."""
    good = _record(tmp_path / "rec")
    bad = _moved_pointer(good, tmp_path / "moved.screc")
    assert cli("verify", bad, "--no-pictures").returncode == 0
    done = _run("verify", bad)
    assert done.returncode == 7, done.stdout
    assert ("bad-picture: a picture does not decode: cursor message 10 (chunk " in done.stdout
            and "the pointer it draws is not the one the host recorded" in done.stdout), \
        done.stdout  # fmt: skip
    done = _run("play", bad, "--at", "5", "--out", tmp_path / "out")
    assert done.returncode == 7 and "cursor message 10 " in done.stderr, done.stderr
    done = _run("play", bad, "--at", "5", "--out", tmp_path / "out", "--no-cursor")
    assert done.returncode == 0, done.stderr
    done = _run("export", bad, "--mp4", tmp_path / "m.mp4")
    assert done.returncode == 7 and not (tmp_path / "m.mp4").exists(), done.stderr


@pytest.mark.parametrize(("attack", "code", "says"), [
    ("drop one POINTER", 7, "its POINTER chunk (the hash of the pointer as drawn after it) "
                            "is missing"),
    ("swap two POINTERs", 7, "follows it: out of place"),
    ("POINTER without the HEADER's pointer", 1, "but the HEADER declares no pointer hashes"),
    ("pointer in a version 1 HEADER", 1, "in a recording of version 2 or later"),
])  # fmt: skip
def test_pointer_chunks_moved_or_dropped(tmp_path: Path, attack: str, code: int, says: str
                                         ) -> None:  # fmt: skip
    chunks = split(_record(tmp_path / "rec"))
    if attack in ("drop one POINTER", "swap two POINTERs"):
        drop_or_swap(chunks, ChunkType.POINTER, attack.startswith("drop"))
    elif attack == "POINTER without the HEADER's pointer":
        chunks[0] = header_with(chunks[0], pointer=None)
    else:
        chunks[0] = header_with(chunks[0], version=1)
    bad = write(tmp_path / "bad.screc", renumber(chunks))
    done = _run("verify", bad)
    assert done.returncode == code and says in done.stdout, done.stdout


def test_a_newer_format_version_is_said_to_be_newer_not_damaged(tmp_path: Path) -> None:
    """A HEADER of format version 3 (what a later screencodec may write,
    with chunk types this one does not know): verify says 'newer: made by a
    newer version of screencodec', exit 9 (not 1, damaged); play and export
    say so too (9). A version that is no version is damage."""
    chunks = split(_record(tmp_path / "rec"))
    newer = write(tmp_path / "newer.screc", [header_with(chunks[0], version=3), *chunks[1:]])
    done = _run("verify", newer)
    assert done.returncode == 9, done.stdout
    assert ("newer.screc: newer: made by a newer version of screencodec (format version 3; "
            "this one reads versions 1 to 2)") in done.stdout, done.stdout
    assert ": damaged" not in done.stdout
    for args in (("play", newer, "--out", tmp_path), ("export", newer, "--log", tmp_path / "l")):
        done = _run(*args)
        assert done.returncode == 9 and "made by a newer version" in done.stderr, done.stderr
    done = _run("list", tmp_path)
    assert "made by a newer version" in done.stdout, done.stdout
    for version in ("2", 0, None):
        head = json.loads(_fields(chunks[0])[1])
        head["version"] = version
        payload = json.dumps(head).encode()
        header = CHUNK_HEADER.pack(b"SCk1", ChunkType.HEADER, 0, 0, 0, 0, len(payload))
        bad = write(tmp_path / "bad.screc", [header + payload + struct.pack(
            "<I", zlib.crc32(payload, zlib.crc32(header))), *chunks[1:]])  # fmt: skip
        done = _run("verify", bad)
        assert done.returncode == 1 and "is not a format version" in done.stdout, done.stdout
    assert ChunkHeader.unpack(chunks[1], 0).type is ChunkType.META


def test_web_playback_refuses_a_damaged_recording_and_a_bad_picture(tmp_path: Path) -> None:
    """play --web: the signed forgery with its hashes made right is refused
    before any page (no link printed; before: a page showing the square);
    a forged picture in a plain recording is not encoded for the page (the
    bridge raises, and its banner names the update), while the picture
    before it is."""
    pytest.importorskip("aiohttp")
    from screencodec.recording import RecordingReader
    from screencodec.recording.verdicts import BadPictureError
    from screencodec.web.playback import PlaybackBridge

    generate_host_keypair(tmp_path / "h.key", tmp_path / "h.pub")
    forged = tmp_path / "forged.screc"
    _forge(_record(tmp_path / "signed", signer=tmp_path / "h.key"), forged)
    bad = _rehash(forged, tmp_path / "rehashed.screc")
    write(bad, rechain(split(bad)))
    done = _run("play", bad, "--web", "--no-open")
    assert done.returncode == 2 and "recording player:" not in done.stdout, done.stdout
    assert ": damaged: " in done.stderr and "NOT played" in done.stderr, done.stderr
    plain = tmp_path / "plain.screc"
    k, _, t = _forge(_record(tmp_path / "rec"), plain)

    async def page_side() -> None:  # the bridge lives on a loop, as in play --web
        with RecordingReader(plain) as r:
            bridge = PlaybackBridge(r)
            bridge.survey()  # from the last checkpoint, after the forgery: fine
            assert bridge._encode(t - 0.1, keyframe=True)[0] is not None
            with pytest.raises(BadPictureError, match=f"bad-picture: update {k} "):
                bridge._encode(t, keyframe=True)
            bridge.close()

    asyncio.run(page_side())


@pytest.mark.parametrize("kind", [ChunkType.UPDATE, ChunkType.CURSOR])
def test_a_file_cut_before_a_hash_is_cut_short_not_a_bad_picture(
        tmp_path: Path, kind: ChunkType) -> None:  # fmt: skip
    """A host killed after its writer handed an UPDATE (or CURSOR) to the
    kernel and before its PICTURE (POINTER): the writer flushes a batch at
    its size, so this happens. That chunk is left out as a torn one:
    verify says incomplete (2), not bad-picture; play shows the picture
    before it (exit 0)."""
    chunks = split(_record(tmp_path / "rec"))
    last = max(n for n, c in enumerate(chunks) if _fields(c)[0].type is kind
               and n < len(chunks) - 10)  # fmt: skip
    cut = write(tmp_path / "cut.screc", chunks[: last + 1])
    done = _run("verify", cut)
    assert done.returncode == 2 and ": incomplete: " in done.stdout, done.stdout
    assert "the file stops before its hash" in done.stdout, done.stdout
    done = _run("play", cut, "--at", "100", "--out", tmp_path / "out")
    assert done.returncode == 0 and "cut short" in done.stdout, done.stderr
