"""Ctrl-C of ``screencodec host`` while a received file is still being
written to a disk that does not answer (stopdisk, after review4's
tests/test_review4_stop_stalled_disk.py): the host says at once which file
it waits for and how to stop waiting; a second Ctrl-C leaves at once, even
though the disk still does not answer, and says what became of the file.

The real CLI on a pty; the download folder a real FAT image served by
fusefat, whose daemon is stopped (SIGSTOP) as the agent's FileEnd goes, so
that the host's fsync of the file waits (tests/transport/
test_files2_off_loop.py). Before, the host said "Screen sharing stopped."
after Host.close's 5 s, then nothing, and a second Ctrl-C changed nothing:
the interpreter waited for the disk thread at exit, until the disk
answered, for good if never. Now the interpreter is gone at once; the
process is reaped once the kernel's close of the file (a FUSE flush, which
no signal interrupts) is answered: here when the daemon goes on.
Nothing here is timed: the host is seen waiting for the FUSE daemon, and the lines
are waited for in order."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_files2_off_loop import _daemon
from transport.test_host_cli_commands import join, wait
from transport.test_small_file_durable import fat

__all__ = ["fat"]  # the fixture, imported for the FAT test here

#: What the host (and ``view --web``) says as it starts waiting for the file.
WAITING = (r"waiting for the disk to finish saving notes\.bin \(300 kB\) from [^\n]*;"
           r" press Ctrl-C again to leave now: it may then not be saved\n")  # fmt: skip


def waits_on_the_disk(pid: int, daemon: int) -> bool:
    """The FUSE ``daemon`` is stopped and a thread of process ``pid`` waits
    for its answer (the save's fsync of the file, or the fstat before it:
    attributes older than a second are asked for again). Not the daemon
    alone: a write of the file may wait for it a moment as it stops."""
    if state(daemon) != "T":
        return False
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError):
            if (task / "wchan").read_text() == "request_wait_answer":
                return True
    return False


def shows_waits(pid: int) -> bool:
    """Whether the kernel names where process ``pid``'s threads wait (a
    FUSE daemon waits for requests: some thread of it has a wchan); a
    kernel that hides kernel addresses reads "0" for every one."""
    names = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            names.add((task / "wchan").read_text())
    return bool(names - {"", "0"})


def state(pid: int) -> str:
    """The state of process ``pid``'s main thread: "T" stopped (SIGSTOP),
    "Z" exited (its interpreter has ended), whatever threads the kernel
    still holds."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


#: How long a host is given to leave after the Ctrl-C that should make it
#: leave at once while the disk does not answer (s): with a file being saved
#: it takes 0.3 s (stopdisk); a half file's removal took 10.2 s before
#: deflake39/files40 (its closes' own bounds, one after the other).
LEAVES_WITHIN = 5.0


async def gone_within(pid: int, within: float = LEAVES_WITHIN) -> bool:
    """Whether process ``pid`` ended (its interpreter gone: a zombie, not
    yet waited for) within ``within`` seconds, the disk still stopped."""
    deadline = time.monotonic() + within
    while state(pid) != "Z" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return state(pid) == "Z"


def stop_disk(daemon: int) -> None:
    """Stop the FUSE ``daemon`` (SIGSTOP), and return once every thread of
    it is stopped. The signal is sent at once, but each thread stops only
    as it next runs: on a loaded machine (2 cores, pytest -n 4) a thread
    not yet run could still take the request that was to wait (disk41:
    under -n 4 with CPU load, a save went on past the stop to its
    ``.whole-`` name, a half file's removal did not wait, or no wait on the
    disk was ever seen and the run took 2 min 44 s). It blocks the caller's
    loop for that moment: no other coroutine of the test looks at the disk
    meanwhile (a look at a disk that stops waits for good)."""
    os.kill(daemon, signal.SIGSTOP)
    while not all(state_of(task) == "T" for task in Path(f"/proc/{daemon}/task").iterdir()):
        time.sleep(0.005)


def state_of(task: Path) -> str:
    """The state of the thread (or process) whose /proc entry is ``task``."""
    with contextlib.suppress(OSError):
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
    return "T"  # a thread gone: it answers nothing


@contextlib.contextmanager
def stalled(fat: Path) -> Iterator[int]:
    """The fusefat daemon of ``fat``, going on again at the end (and after
    120 s, so that a failing run is not held for good; 30 s, and the body's
    40 s, ran out at a load of about 15: deflake39)."""
    daemon = _daemon(fat)
    if not shows_waits(daemon):
        pytest.skip("this kernel does not show where a thread waits (/proc/PID/wchan reads 0):"
                    " nothing tells a save waiting on the stopped FUSE daemon")  # fmt: skip
    watchdog = threading.Timer(120.0, os.kill, (daemon, signal.SIGCONT))
    watchdog.daemon = True
    watchdog.start()
    try:
        yield daemon
    finally:
        watchdog.cancel()
        os.kill(daemon, signal.SIGCONT)


def stop_at_end(real: Callable[[m.Message], Awaitable[None]], daemon: int, notes: Path,
                folder: Path) -> Callable[[m.Message], Awaitable[None]]:  # fmt: skip
    """A sender's ``send`` (``real``) that stops the disk (its FUSE
    ``daemon``) before the FileEnd goes, once all of ``notes`` is written
    into ``folder`` (under its temporary name: not another file of the
    same size there, disk41)."""
    part = f".{notes.name}.part-"

    async def send(msg: m.Message) -> None:
        if isinstance(msg, m.FileEnd):  # all of it written: the disk stops answering
            while not any(p.name.startswith(part) and p.stat().st_size == notes.stat().st_size
                          for p in folder.iterdir()):  # fmt: skip
                await asyncio.sleep(0.05)
            stop_disk(daemon)
        await real(msg)

    return send


async def ctrl_c_while_saving(host: PtyHost, daemon: int, notes: Path, folder: Path, *,
                              sig: int = signal.SIGINT, waiting: str = WAITING,
                              ) -> tuple[int, asyncio.Future[object]]:  # fmt: skip
    """'Alice' sends ``notes``, the host's user says yes; the disk stops
    answering once all of it is written into ``folder``, as the FileEnd
    goes; once the host waits for the disk (its fsync), Ctrl-C (or ``sig``).
    Returns where the Ctrl-C is in ``host.text``, once the host said it
    waits for the file (``waiting``), and Alice's sending."""
    viewer, _task = await join(host, _credentials(host), "Alice")
    viewer.sender._send = stop_at_end(viewer.sender._send, daemon, notes, folder)  # type: ignore[method-assign]
    mark = len(host.text)
    sending = asyncio.ensure_future(viewer.sender.send(notes))
    await wait(host, r"Question 2: FILE.*?\[y/N\] ", mark)
    host.type("y")
    while not waits_on_the_disk(host.proc.pid, daemon):
        await asyncio.sleep(0.05)
    mark = len(host.text)
    host.proc.send_signal(sig)
    await wait(host, waiting, mark)
    return mark, sending


def in_order(text: str, *patterns: str) -> None:
    """Each of ``patterns`` is in ``text``, after the one before it."""
    at = 0
    for pattern in patterns:
        found = re.compile(pattern).search(text, at)
        assert found, f"no {pattern!r} after {text[:at]!r} in {text[at:]!r}"
        at = found.end()


def stop_host_while_saving(fat: Path, notes: Path,
                           then: Callable[[PtyHost, int, int], Awaitable[None]],
                           ) -> tuple[str, int]:  # fmt: skip
    """A host on a pty with ``fat`` as its download folder, stopped while
    it saves ``notes`` (:func:`ctrl_c_while_saving`); then ``then(host,
    daemon, where the Ctrl-C is in host.text)``, then the disk answers.
    Returns what the host printed from the Ctrl-C on, and its exit status."""
    host = PtyHost("--download-dir", str(fat))
    try:
        with stalled(fat) as daemon:
            async def body() -> tuple[int, int]:
                mark, sending = await ctrl_c_while_saving(host, daemon, notes, fat)
                await then(host, daemon, mark)
                os.kill(daemon, signal.SIGCONT)  # the disk answers
                status = await asyncio.to_thread(host.proc.wait, 20)
                sending.cancel()
                return mark, status

            mark, status = asyncio.run(asyncio.wait_for(body(), 150))
        return host.text[mark:], status
    finally:
        host.close()


def test_stopdisk_a_second_ctrl_c_leaves_while_the_disk_still_does_not_answer(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))

    async def again(host: PtyHost, daemon: int, mark: int) -> None:
        host.proc.send_signal(signal.SIGINT)
        await wait(host, r"ended: you ended it\n", mark)
        # The interpreter ends without waiting for the disk; what is left
        # is the kernel's close of the file, which waits for the FUSE
        # daemon (its flush), gone on after this.
        while state(host.proc.pid) != "Z":
            await asyncio.sleep(0.05)
        assert state(daemon) == "T", "the disk was to answer only after the host left"

    text, status = stop_host_while_saving(fat, notes, again)
    in_order(text, WAITING, r"left without waiting for the disk: notes\.bin \(300 kB\)"
             r" from [^\n]* may not be saved \(what of it was written stays in the folder"
             r" as a hidden temporary file, removed by a later file received there\);"
             r" while the disk does not answer, the system may hold this program's very"
             r" end\n", r"session with 'Alice' [^\n]* ended: you ended it\n",
             r"Screen sharing stopped\.")  # fmt: skip (host37: the end line, then the banner)
    assert "saved" not in text.replace("not be saved", ""), text
    assert status == 0, text
    # What remains: the file, whole, under its temporary name only.
    left = os.listdir(fat)
    assert len(left) == 1 and re.fullmatch(r"\.notes\.bin\.part-[0-9a-f]{8}", left[0]), left
    assert (fat / left[0]).read_bytes() == notes.read_bytes()
