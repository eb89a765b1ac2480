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
import os
import signal
import threading
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
        os.kill(daemon, signal.SIGCONT)
    assert saving == []
    assert not fired, "the disk was let go by the watchdog: the run waited for it 60 s"
    assert after == "T", "Host.close waited for the disk though no file was being saved"
