"""A received file survives a power cut (docs/transport.md, "A file under its
own name only when whole"): its temporary file is fsync'ed before it gets
its name, and its folder after, as git and sqlite do, so that the name
never points at a file with holes or zeros; while it comes, what came is
sent on its way to the disk every 8 MB (POSIX_FADV_DONTNEED), so that the
last fsync waits for the last few MB only. Before, nothing was fsync'ed.

No power can be cut here: the receiving process (a real host and viewer on
loopback, the viewer sending the host a 10 MB file) runs under strace, which
shows the calls on the file and on the folder in the order they were made.

And on a file system without hard links (FAT): a real FAT16 image made by
mkfs.vfat and mounted read-write through FUSE (fusefat; this kernel has no
vfat), the host's download folder on it: the file arrives whole under its
name, no temporary file is left, and a file already under that name is not
overwritten (the new one is ``NAME (1).ext``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from screencodec.transport.session.files.disk import WRITE_BACK

#: One write-back mid-file (every WRITE_BACK, 8 MB) and 2 MB after it, left
#: to the last fsync: what the test reads in strace's log. (20 MB before
#: time49: two write-backs, twice the bytes through a process under strace.)
SIZE = WRITE_BACK + (2 << 20)

#: The receiving session, run by strace: the viewer sends the host FILE,
#: the host saves it in INBOX; prints the outcome.
_SESSION = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from test_review1_files import _with_viewer

    async def yes(info):
        return True

    async def send_all(viewer):
        for f in sys.argv[2:]:
            sent = await viewer.sender.send(Path(f))
            print(sent.outcome, sent.why, flush=True)

    asyncio.run(asyncio.wait_for(_with_viewer(Path(sys.argv[1]), yes, send_all), 90))
""")


def _session(inbox: Path, *files: Path, strace: Path | None = None) -> list[str]:
    """Run :data:`_SESSION` (under strace, writing ``strace``, if given):
    the outcome of each file."""
    cmd = [sys.executable, "-c", _SESSION, str(inbox), *map(str, files)]
    if strace is not None:
        calls = "trace=execve,fsync,fdatasync,fadvise64,link,linkat,rename,renameat,renameat2"
        cmd = ["strace", "-f", "-y", "-e", calls, "-o", str(strace), *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_small_a_received_file_is_on_the_disk_before_its_name_and_the_name_after(
    tmp_path: Path,
) -> None:
    """The temporary file is fsync'ed before the link that gives it its
    name; the folder is fsync'ed after it; what came was sent on its way to
    the disk before that fsync (fadvise on the temporary file). Each of
    those calls is made by a thread other than the session loop's (the main
    thread, which runs asyncio.run; files2: they ran on it before)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(SIZE))
    log = tmp_path / "strace.log"

    assert _session(inbox, big, strace=log) == ["delivered "]
    assert [p.name for p in inbox.iterdir()] == ["big.bin"]
    assert (inbox / "big.bin").read_bytes() == big.read_bytes()

    part = re.escape(str(inbox)) + r"/\.big\.bin\.part-[0-9a-f]{8}"
    lines = log.read_text().splitlines()
    # The first line: the python process's execve, by its main thread (the loop's).
    loop = re.match(r"(\d+) +execve\(", lines[0])
    assert loop is not None, lines[:3]
    on_the_loop = [line for line in lines[1:]
                   if line.startswith(f"{loop.group(1)} ") and str(inbox) in line]  # fmt: skip
    assert not on_the_loop, on_the_loop

    def first(pattern: str) -> int:
        hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
        assert hits, f"no {pattern!r} in:\n" + "\n".join(lines[-40:])
        return hits[0]

    named = first(rf'linkat\(.*"{part}".*"{re.escape(str(inbox))}/big\.bin".*= 0')
    synced = first(rf"fsync\(\d+<{part}>\) += 0")
    folder = [i for i, line in enumerate(lines)
              if re.search(rf"fsync\(\d+<{re.escape(str(inbox))}>\) += 0", line)]  # fmt: skip
    on_its_way = first(rf"fadvise64\(\d+<{part}>, \d+, \d+, POSIX_FADV_DONTNEED\)")
    assert on_its_way < synced < named, (on_its_way, synced, named)
    assert any(i > named for i in folder), (named, folder)


def _fat_tools() -> str:
    """Why a FAT file system cannot be mounted here ("": it can)."""
    if os.geteuid() != 0:
        return "mounting needs root"
    missing = [t for t in ("mkfs.vfat", "fusefat") if shutil.which(t) is None]
    if missing or not os.path.exists("/dev/fuse"):
        return f"needs /dev/fuse and {', '.join(missing) or 'fuse'} (apt: dosfstools fusefat)"
    return ""


@pytest.fixture
def fat(tmp_path: Path) -> Iterator[Path]:
    """A fresh 32 MB FAT16 file system mounted read-write (FUSE)."""
    why = _fat_tools()
    if why:
        pytest.skip(why)
    image, mount = tmp_path / "fat.img", tmp_path / "fat"
    with image.open("wb") as f:
        f.truncate(32 << 20)
    mount.mkdir()
    subprocess.run(["mkfs.vfat", str(image)], check=True, capture_output=True)
    subprocess.run(["fusefat", "-o", "rw+", str(image), str(mount)], check=True,
                   capture_output=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not os.path.ismount(mount):
            assert time.monotonic() < deadline, "the FAT image was not mounted"
            time.sleep(0.05)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)


def test_small_on_fat_a_file_arrives_whole_under_its_name_and_overwrites_none(
    fat: Path, tmp_path: Path
) -> None:
    """FAT has no hard links (link: EPERM): the fallback names the file
    (its name created exclusively, the file renamed onto it). Two files:
    one under a free name, one whose name a file already has there. Each is
    first renamed ``.NAME.whole-XXXXXXXX`` (NAME: the name it then takes)
    and the folder fsync'ed (files2: a power cut after the empty name is
    created leaves the whole file known as its own, see
    test_files2_fat_leftovers); strace shows the renames in that order."""
    probe = fat / "probe"
    probe.write_bytes(b"")
    with pytest.raises(PermissionError):
        os.link(probe, fat / "probe2")  # really a file system without hard links (EPERM)
    probe.unlink()
    (fat / "report.txt").write_bytes(b"already here")
    fresh, clash = tmp_path / "fresh.bin", tmp_path / "report.txt"
    fresh.write_bytes(os.urandom(3 << 20))
    clash.write_bytes(os.urandom(100_000))

    log = tmp_path / "strace.log"
    traced = shutil.which("strace") is not None
    assert _session(fat, fresh, clash, strace=log if traced else None) == ["delivered ",
                                                                          "delivered "]  # fmt: skip

    assert sorted(p.name for p in fat.iterdir()) == ["fresh.bin", "report (1).txt",
                                                     "report.txt"]  # fmt: skip
    assert (fat / "fresh.bin").read_bytes() == fresh.read_bytes()
    assert (fat / "report (1).txt").read_bytes() == clash.read_bytes()
    assert (fat / "report.txt").read_bytes() == b"already here"
    if not traced:
        return
    lines = log.read_text().splitlines()
    at = re.escape(str(fat))

    def renamed(src: str, dst: str) -> tuple[int, str]:
        """The line of the rename of ``src`` to ``dst`` (patterns), and what
        the last group of ``dst`` matched."""
        for i, line in enumerate(lines):
            if (hit := re.search(rf'rename\w*\(.*"{at}/{src}".*"{at}/{dst}"', line)) is not None:
                return i, hit.group(hit.re.groups) if hit.re.groups else ""
        raise AssertionError(f"no rename of {src} to {dst} in:\n" + "\n".join(lines[-30:]))

    folder = [i for i, line in enumerate(lines) if re.search(rf"fsync\(\d+<{at}>\)", line)]
    hexes = "[0-9a-f]{8}"
    for sent, final in (("fresh.bin", "fresh.bin"), ("report.txt", "report (1).txt")):
        part, whole = re.escape(f".{sent}.part-"), re.escape(f".{final}.whole-")
        marked, mark = renamed(part + hexes, f"{whole}({hexes})")
        named, _ = renamed(whole + mark, re.escape(final))
        assert any(marked < i < named for i in folder), (marked, named, folder)
