"""Real hosts signing their recordings: ``screencodec host --record-sign``
(sealed too), and a signing host killed with SIGKILL mid-session, whose file
verifies as signed up to its last SIGNATURE chunk, no further."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from screencodec.frames import framebuffer_hash
from screencodec.recording import (
    Player,
    RecordingReader,
    generate_host_keypair,
    generate_keypair,
)
from screencodec.recording.format import MAGIC, ChunkHeader, ChunkType
from screencodec.recording.sign import host_key_id, load_host_public_key
from warm_start import warm_run

from .helpers import RememberingDecoder
from .test_attack_craft import cli, no_traceback
from .test_crash import HOST as CRASH_HOST
from .test_crash import watch_then_kill
from .test_host_cli import _recorded_session


def signed_sealed(tmp_path: Path) -> tuple[Path, str]:
    """A recording of the host CLI in ``tmp_path/rec``, sealed for ``aud.pub`` and
    signed with ``desk.key`` (the keys in ``tmp_path``), and the host key's id."""
    generate_keypair(tmp_path / "aud.key", tmp_path / "aud.pub")
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    kid = host_key_id(load_host_public_key(tmp_path / "desk.pub"))
    rec = tmp_path / "rec"
    _recorded_session(rec, "--record-key", str(tmp_path / "aud.pub"),
                      "--record-sign", str(tmp_path / "desk.key"))  # fmt: skip
    (path,) = rec.glob("*.screc")
    return path, kid


def test_host_cli_signs_sealed_recordings(tmp_path: Path) -> None:
    path, kid = signed_sealed(tmp_path)
    rec = path.parent
    done = cli("verify", path, "--key", tmp_path / "aud.key", "--hosts", tmp_path / "desk.pub")
    no_traceback(done)
    assert done.returncode == 0, done.stdout
    assert ": complete: " in done.stdout and f"signed by pinned host {kid}: every chunk" in (
        done.stdout)  # fmt: skip
    listed = cli("list", rec, "--key", tmp_path / "aud.key")
    assert f"  {kid}  complete  Dana" in listed.stdout, listed.stdout
    shot = cli("play", path, "--key", tmp_path / "aud.key", "--at", "1000", "--out", tmp_path)
    assert shot.returncode == 0 and list(tmp_path.glob("*.png")), shot.stderr


def _host_with_key(tmp_path: Path, key: Path) -> str:
    """What ``screencodec host --record-sign KEY`` says when it refuses to start."""
    (tmp_path / "rec").mkdir(exist_ok=True)
    done = warm_run(
        [sys.executable, "-m", "screencodec", "host", "--listen", "0", "--bind", "127.0.0.1",
         "--source", "synthetic", "--record", str(tmp_path / "rec"), "--record-sign",
         str(key), "--once"],
        capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    return done.stderr + done.stdout


def test_host_cli_refuses_a_signing_key_that_is_not_one(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "aud.key", tmp_path / "aud.pub")  # an auditor key, not a host's
    assert "not a screencodec-host-private-v1 key file" in _host_with_key(
        tmp_path, tmp_path / "aud.key")  # fmt: skip


def test_host_cli_refuses_a_signing_key_others_may_read(tmp_path: Path) -> None:
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    (tmp_path / "desk.key").chmod(0o644)
    said = _host_with_key(tmp_path, tmp_path / "desk.key")
    assert "a host signing key others may read (mode 644)" in said, said


# test_crash's host, signing every SIGN_EVERY s (argv: DIR, HOST.key, SIGN_EVERY).
HOST = CRASH_HOST.replace("Recorder(sys.argv[1], ", "Recorder(sys.argv[1], signer=sys.argv[2], "
                          "sign_every=float(sys.argv[3]), ")  # fmt: skip
assert HOST != CRASH_HOST


def _chunks(path: Path) -> list[ChunkHeader]:
    """The whole chunks in the file (plain recording: CRC trailers)."""
    data, pos, out = path.read_bytes(), len(MAGIC), []
    while pos + 24 <= len(data):
        h = ChunkHeader.unpack(data, pos)
        if h.payload_offset + h.length + 4 > len(data):
            break
        out.append(h)
        pos = h.payload_offset + h.length + 4
    return out


def test_sigkill_leaves_a_signed_prefix(tmp_path: Path) -> None:
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    rec = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-c", HOST, str(rec), str(tmp_path / "desk.key"),
                             "3.0"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    dec = RememberingDecoder()

    def signed_then_more() -> bool:
        # A periodic signature on disk, then 3 updates after it: killed now,
        # the file has an unsigned tail (the next signature is ~3 s away).
        files = list(rec.glob("*.screc"))
        if not files:
            return False
        types = [h.type for h in _chunks(files[0])]
        if ChunkType.SIGNATURE not in types:
            return False
        last = len(types) - 1 - types[::-1].index(ChunkType.SIGNATURE)
        return types[last + 1 :].count(ChunkType.UPDATE) >= 3

    watch_then_kill(proc, dec, lambda _: signed_then_more(), "a signature and 3 updates after it")
    (path,) = rec.glob("*.screc")
    chunks = _chunks(path)
    sig = max(h.index for h in chunks if h.type is ChunkType.SIGNATURE)
    updates = sum(h.type is ChunkType.UPDATE for h in chunks[:sig])
    assert sig < len(chunks) - 1  # an unsigned tail
    kid = host_key_id(load_host_public_key(tmp_path / "desk.pub"))
    done = cli("verify", path, "--hosts", tmp_path / "desk.pub")
    no_traceback(done)
    assert done.returncode == 6, done.stdout
    assert (f": signed-prefix: signed by pinned host {kid} up to chunk {sig} "
            f"(t={chunks[sig].time:.3f} s, {updates} updates) of {len(chunks)} intact chunks; "
            f"chunks {sig + 1} to {len(chunks) - 1} (to t={chunks[-1].time:.3f} s) are NOT "
            "signed") in done.stdout, done.stdout  # fmt: skip
    assert "no END chunk" in done.stdout
    # Without --hosts it is the cut-short recording it always was, and it plays.
    assert cli("verify", path).returncode == 2
    with RecordingReader(path) as reader:
        played = [framebuffer_hash(fb) for _, fb in Player(reader).frames()]
    # The host records an update once it handed it to its connection
    # (ChannelTap.on_sent): killed before the bytes left the process, the
    # file holds one the viewer never read (87 played, 86 seen, once under
    # load). What both hold is the same.
    n = min(len(played), len(dec.hashes))
    assert len(played) >= updates and n > 0 and played[:n] == dec.hashes[:n]
