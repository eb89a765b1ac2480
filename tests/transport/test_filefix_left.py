"""What a receiver that could not end leaves (docs/transport.md, "A file
under its own name only when whole"): a process killed mid-file (kill -9,
the OOM killer, a power cut) leaves its file only under the temporary name
``.NAME.part-XXXXXXXX``, and the next receiver in that folder removes it at
its first yes, once nothing has written to it for a minute and no process
holds it; a temporary file another receiver is writing (a second host or
viewer on the same folder), one just created, and other files are left.
Before, nothing was removed: the part stayed under the file's own name.
Real processes, real files and locks."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from screencodec.transport.session import messages as m
from screencodec.transport.session.sidechannels import FileOfferInfo, FileReceiver

from .helpers import run

#: Written to a minute and a half ago.
LONG_AGO = time.time() - 90


async def _yes(info: FileOfferInfo) -> bool:
    return True


def _holder(path: Path) -> subprocess.Popen[bytes]:
    """Another process writing ``path`` as a receiver does (created, held
    with flock), until it is killed."""
    code = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "os.write(fd, b'part of it')\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"held\n"
    return proc


async def _a_yes(rec: FileReceiver, transfer: int) -> None:
    offer = m.FileOffer(transfer, "new.bin", 4)
    info = rec.admit(offer, "peer")
    assert info is not None
    assert (await rec.decide(offer, info)).accepted


def test_filefix_the_next_receiver_removes_what_a_killed_one_left(tmp_path: Path) -> None:
    killed = tmp_path / ".big.bin.part-0123abcd"
    alive = tmp_path / ".other.bin.part-89abcdef"
    fresh = tmp_path / ".fresh.bin.part-00000000"  # as just created, not yet held
    kept = [tmp_path / ".notes.part", tmp_path / "big.bin.part-0123abcd", tmp_path / "x.txt"]
    for path in [fresh, *kept]:
        path.write_bytes(b"x")
    for path in kept:
        os.utime(path, (LONG_AGO, LONG_AGO))
    victim, writer = _holder(killed), _holder(alive)
    try:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        for path in (killed, alive):
            os.utime(path, (LONG_AGO, LONG_AGO))  # a transfer stalled for a while

        async def main() -> None:
            rec = FileReceiver(tmp_path, _yes)
            await _a_yes(rec, 1)
            assert not killed.exists()  # left by a killed process: removed
            assert alive.exists() and fresh.exists()  # being written: left
            assert all(p.exists() for p in kept)  # not a receiver's temporary name
            # Once per receiver: a part left since then stays until the next one.
            writer.kill()
            writer.wait(10)
            await _a_yes(rec, 2)
            assert alive.exists()
            await _a_yes(FileReceiver(tmp_path, _yes), 1)
            assert not alive.exists()

        run(main())
    finally:
        for proc in (victim, writer):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


def test_filefix_a_receiver_leaves_the_file_another_one_writes(tmp_path: Path) -> None:
    """Two receivers on one folder (two agents' links, or a host and a viewer):
    the second's first yes leaves the first's file mid-way, however long it
    has not been written to, and the first saves it whole."""
    first, second = FileReceiver(tmp_path, _yes), FileReceiver(tmp_path, _yes)

    async def main() -> None:
        await _a_yes(first, 1)
        first.on_chunk(m.FileChunk(1, 0, b"ab"))
        (part,) = tmp_path.iterdir()
        assert part.name.startswith(".new.bin.part-")
        os.utime(part, (LONG_AGO, LONG_AGO))
        await _a_yes(second, 1)
        assert part.exists()
        first.on_chunk(m.FileChunk(1, 2, b"cd"))
        got = first.on_end(m.FileEnd(1, hashlib.sha256(b"abcd").digest()))
        assert got is not None and got[0].read_bytes() == b"abcd"
        second.close()

    run(main())
    assert [p.name for p in tmp_path.iterdir()] == ["new.bin"]
