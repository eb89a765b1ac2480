"""Review7 of 017a112 (stopdisk): ``Host.close`` waits beyond its timeout
"for as long as one of its files is being saved" (docs/transport.md), and
``screencodec host`` says which file and how to stop waiting. But it waited
on any work of the receiver's disk thread, not only a file's save: a disk
that stops answering while the thread tidies the folder at the first yes
(``FileReceiver._tidy``: a listing of the folder) or starts a write-back
(``_advise``) had ``Host.close`` wait for good, with no file named (the
host said nothing: ``Host.saving()`` was empty) and no way out (a second
Ctrl-C gives up only files being saved). Before 017a112 it waited its 5 s.

Real host and viewer on loopback; the download folder a real FAT image
served by fusefat, whose daemon is stopped (SIGSTOP) as the disk thread
begins its tidy of the folder at the host's yes (tests/transport/
test_stopdisk_host.py). Nothing is timed: ``Host.close`` must return while
the disk still does not answer (a watchdog lets it go on after 20 s, so
that a failing run is not held for good)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.sidechannels import FileOfferInfo, FileReceiver
from transport.helpers import run
from transport.test_files2_off_loop import _daemon
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import shows_waits, state, stop_disk, waits_on_the_disk

__all__ = ["fat"]  # the fixture


def _alive(pid: int) -> bool:
    """``pid`` runs (not gone, not a zombie nobody reaped)."""
    try:
        return state(pid) != "Z"
    except OSError:
        return False


def release(mount: Path, daemon: int, patience: float = 5.0) -> None:
    """The disk let go, unmounted and its fusefat gone, whatever the run
    left. Found (time43): on a loaded machine the fixture's plain umount
    came while the host's disk thread, woken by SIGCONT, still had a file
    open there: EBUSY, unchecked, and the mount (and its daemon) outlived
    the run under the basetemp. Plain umount is tried for ``patience``
    seconds, then a lazy one (detached now, freed at the last close); a
    daemon still there ``patience`` seconds later is killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(daemon, signal.SIGCONT)
    deadline = time.monotonic() + patience
    while os.path.ismount(mount) and time.monotonic() < deadline:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)
        if os.path.ismount(mount):
            time.sleep(0.1)
    if os.path.ismount(mount):
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)
    deadline = time.monotonic() + patience
    while _alive(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(daemon):
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(daemon) and time.monotonic() < deadline:
            time.sleep(0.05)


def test_review43_release_frees_a_busy_mount_and_its_daemon(fat: Path) -> None:
    """A file held open in the mount (the host's disk thread, woken late)
    and the daemon stopped, as a failing or slow run leaves them. Expected:
    nothing mounted there after release and the fusefat gone (its process
    reaped or killed); the plain umount the fixture does is refused."""
    daemon = _daemon(fat)
    held = (fat / "open.bin").open("wb")
    try:
        busy = subprocess.run(["umount", str(fat)], capture_output=True, check=False)
        assert busy.returncode != 0 and os.path.ismount(fat)  # the leak time43 met
        os.kill(daemon, signal.SIGSTOP)
        release(fat, daemon, patience=1.0)
        assert not os.path.ismount(fat)
        assert not _alive(daemon)
    finally:
        with contextlib.suppress(OSError):
            held.close()


def test_review7_host_close_is_bounded_when_the_disk_stalls_and_no_file_is_being_saved(
    fat: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = _daemon(fat)
    if not shows_waits(daemon):
        pytest.skip("this kernel does not show where a thread waits (/proc/PID/wchan reads 0)")
    notes = tmp_path / "notes.bin"
    # Larger than the sender's first window (4 chunks; pacing.py): with the
    # disk stopped nothing is confirmed, so its end cannot come (100 kB came
    # whole, and saving() then named it: a fresh clone, stop 37).
    notes.write_bytes(os.urandom(4_000_000))
    real_tidy = FileReceiver._tidy

    tidied = threading.Event()
    fired: list[bool] = []

    def let_go() -> None:  # only a failing run: the close waited for the disk
        fired.append(True)
        os.kill(daemon, signal.SIGCONT)

    # From the stop on (not from the start: on a loaded machine the run
    # before it took most of 20 s, flake41), and long enough for a slow one.
    watchdog = threading.Timer(60.0, let_go)
    watchdog.daemon = True

    def stopping_tidy(self: FileReceiver) -> None:  # on the disk thread
        stop_disk(daemon)  # the disk stops answering, every thread of it
        watchdog.start()
        tidied.set()
        real_tidy(self)

    monkeypatch.setattr(FileReceiver, "_tidy", stopping_tidy)

    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def yes(info: FileOfferInfo) -> bool:
        return True

    async def body() -> tuple[list[FileOfferInfo], str]:
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=grant,
                    file_consent=yes, config=HostConfig(download_dir=fat))  # fmt: skip
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        try:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            viewer = Viewer(channel, who="Alice")
            await viewer.start(VIEW)
            viewing = asyncio.ensure_future(viewer.run())
            sending = asyncio.ensure_future(viewer.sender.send(notes))
            loop = asyncio.get_running_loop()
            waited = loop.time() + 40  # a wait for an event: a loaded machine is slow
            while not waits_on_the_disk(os.getpid(), daemon):  # the tidy's listing waits
                # Once in a whole run (fresh clone, stop 35) this waited 60 s: say where.
                sent = sending.exception() if sending.done() else "still going"
                assert loop.time() < waited, (
                    f"no wait on the stopped disk: tidy began {tidied.is_set()},"
                    f" daemon {state(daemon)}, the send: {sent!r}")  # fmt: skip
                await asyncio.sleep(0.05)
            saving = host.saving()  # no file is being saved: none came whole
            await host.close(timeout=0.5)
            after = state(daemon)  # "T": it returned while the disk still did not answer
            os.kill(daemon, signal.SIGCONT)
            for task in (sending, viewing):
                task.cancel()
            await asyncio.gather(sending, viewing, return_exceptions=True)
            return saving, after
        finally:
            await listener.close()

    try:
        saving, after = run(body(), 120)
    finally:
        watchdog.cancel()
        release(fat, daemon)
    assert saving == []
    assert not fired, "the disk was let go by the watchdog: the run waited for it 60 s"
    assert after == "T", "Host.close waited for the disk though no file was being saved"
