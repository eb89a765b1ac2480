"""review40a: ``Host.close`` of a library program (an embedder's ``async
with Host(...)``) while a half file's removal waits on a disk that stopped
answering. Since files40 close waits for that removal beyond its timeout,
as for a save, until ``Host.give_up_saves()`` (before: within its timeout,
5 s). So an embedder that never calls it waits for the disk, for good if
it never answers; one that bounds its exit (``wait_for(host.close(), N)``,
asyncio.run cancelling it at a Ctrl-C) cancels close.

Found: a close cancelled there released nothing of the host's own: the
recording of the session whose cleanup waited on the disk was never ended
(``recordings list``: "recording", not "complete"; the recorder was not
closed), nor the injector (its spare keycodes stay mapped on the user's
display) nor the events. Expected: as a close that waited its timeout out
(before files40) or one given up: the recorder closed (the recording ends,
"host closed"), then the cancellation goes on.

Real Host, Recorder and Viewer on loopback; the download folder a real FAT
image served by fusefat, whose daemon is stopped (SIGSTOP) once the file is
begun on it, its FileEnd held (tests/transport/test_deflake39_stopdisk_half_file.py).
Nothing is timed but the embedder's own bound."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from screencodec.recording import Recorder
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.sidechannels import FileOfferInfo
from transport.helpers import OnMonitor, run
from transport.test_cli import CLI, ENV
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import stalled, state, stop_disk
from warm_start import warm_run

__all__ = ["fat"]  # the fixture


def _held(real: Callable[[m.Message], Awaitable[None]], daemon: int,
          fat: Path) -> Callable[[m.Message], Awaitable[None]]:  # fmt: skip
    """A viewer's ``send`` (``real``) whose FileEnd never goes: the disk
    stops answering once the file is begun on it."""

    async def send(msg: m.Message) -> None:
        if isinstance(msg, m.FileEnd):
            while not os.listdir(fat):
                await asyncio.sleep(0.05)
            stop_disk(daemon)
            await asyncio.Event().wait()
        await real(msg)

    return send


def _listed(rec: Path) -> list[str]:
    done = warm_run([*CLI, "recordings", "list", str(rec)], capture_output=True,
                    text=True, timeout=60, env=ENV, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[1:]


async def _half_file_on_a_stopped_disk(host: Host, fat: Path, daemon: int, notes: Path,
                                       ) -> Callable[[], Awaitable[None]]:  # fmt: skip
    """'Alice' joins ``host`` and sends ``notes``; once it is begun in
    ``fat`` the disk stops (its end never goes). Returns what ends her."""
    creds = SessionCredentials()
    listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
    channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
    viewer = Viewer(channel, who="Alice")
    await viewer.start(VIEW)
    viewing = asyncio.ensure_future(viewer.run())
    viewer.sender._send = _held(viewer.sender._send, daemon, fat)  # type: ignore[method-assign]
    sending = asyncio.ensure_future(viewer.sender.send(notes))
    while state(daemon) != "T":
        await asyncio.sleep(0.05)

    async def end() -> None:
        for task in (sending, viewing):
            task.cancel()
        await asyncio.gather(sending, viewing, return_exceptions=True)
        await listener.close()

    return end


def _host(fat: Path, rec: Path) -> tuple[Host, OnMonitor]:
    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def yes(info: FileOfferInfo) -> bool:
        return True

    source = OnMonitor(1, scenario="idle")
    host = Host(lambda index: source, consent=grant, file_consent=yes,
                config=HostConfig(download_dir=fat, monitor=1),
                recorder=Recorder(rec, host_id="test-host"))  # fmt: skip
    return host, source


@pytest.mark.parametrize("leaves", ["give_up_saves", "bounded"])
def test_review40a_an_embedders_close_waiting_on_a_half_files_removal(
    fat: Path, tmp_path: Path, leaves: str
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))
    rec = tmp_path / "rec"
    host, source = _host(fat, rec)

    async def body(daemon: int) -> tuple[list[str], str, bool]:
        end = await _half_file_on_a_stopped_disk(host, fat, daemon, notes)
        closing = asyncio.ensure_future(host.close(timeout=0.5))
        while not host.removing():  # its session's end gives the removal to the disk
            await asyncio.sleep(0.05)
        named = [f"{info.name} {came > 0}" for info, came in host.removing()]
        await asyncio.wait({closing}, timeout=1.5)
        for _ in range(20):  # and turns of the loop: a close that returned at its 0.5 s
            await asyncio.sleep(0)  # timer, late on a loaded machine, is done by now
        assert not closing.done()  # beyond its timeout: the disk does not answer
        if leaves == "give_up_saves":
            assert host.give_up_saves() == []  # (no file was being saved)
            await closing
        else:  # the embedder's own bound on its exit
            closing.cancel()
            await asyncio.wait({closing})
            assert closing.cancelled()
        after = state(daemon)  # "T": it left while the disk still did not answer
        os.kill(daemon, signal.SIGCONT)
        await end()
        return named, after, source.closed

    with stalled(fat) as daemon:
        named, after, closed = run(body(daemon), 60)
    assert named == ["notes.bin True"]
    assert after == "T"
    assert closed, "the host's source was not released"
    (line,) = _listed(rec)  # its end written: "complete", not "recording" (no end)
    assert re.search(r" complete +Alice ", line), line
