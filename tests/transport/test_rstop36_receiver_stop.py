"""rstop36: the RECEIVER of a file stops it mid-way (``Viewer.stop_receiving``,
``Host.stop_receiving``). Before, the only receiver-side way was a FileResult
"not saved", which the sender's user read as "could not save NAME: ...".
Now the receiver removes what it has of the file and sends the reason code
STOPPED_THERE (payload 0x06) before that FileResult: the sender stops
sending at once and says its peer's user stopped it (FileCut "stopped
there", FileSent "failed" with this side's words). A sender of the version
before the code reads the FileResult's own words and stops all the same.

Real Host and Viewer over sealed channels on loopback, both directions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from screencodec.transport.session import link as link_module
from screencodec.transport.session import viewer as viewer_module
from screencodec.transport.session.events import (
    CUT_FAILED,
    CUT_STOPPED_THERE,
    ChatReceived,
    FileCut,
    FileRefused,
    FileSent,
)
from screencodec.transport.session.files.wire import (
    STOPPED_HERE,
    STOPPED_THERE_WHY,
)
from screencodec.transport.session.sidechannels import FileReceiver, FileSender

from .secure_fixtures import run
from .test_filecut35_unread_stopped import _dirs
from .test_fileresult_session import _alive, _pair

MiB = 1 << 20
#: Large enough that loopback does not carry it whole before the stop.
SIZE = 48 * MiB


async def _first(events: AsyncIterator[object], kind: type) -> object:
    async for ev in events:
        if isinstance(ev, kind):
            return ev
    raise AssertionError(f"no {kind.__name__}")


async def _stopped_mid_way(tmp_path: Path, sender_side: str
                           ) -> tuple[FileSent, FileCut, FileRefused, bool, list[str]]:  # fmt: skip
    """The ``sender_side`` sends big.bin; once 1 MiB of it went, the other
    side's program stops receiving it. What the sender was told (its
    FileSent, its FileCut), what the receiver's user was told, whether the
    stop found the file, and what stays in the receiver's folder."""
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        fh.write(os.urandom(MiB) * (SIZE // MiB))
    host_dir, viewer_dir = _dirs(tmp_path)
    folder = viewer_dir if sender_side == "host" else host_dir

    async with _pair(host_dir, viewer_dir) as (host, viewer):
        sender_events = host.events() if sender_side == "host" else viewer.events()
        receiver_events = viewer.events() if sender_side == "host" else host.events()
        stopping: list[asyncio.Future[bool]] = []

        def sending(sent: int, size: int) -> None:
            if sent >= MiB and not stopping:
                stop = (viewer.stop_receiving(1) if sender_side == "host"
                        else host.stop_receiving(host.viewers[0], 1))  # fmt: skip
                stopping.append(asyncio.ensure_future(stop))

        if sender_side == "host":
            outcome = await host.send(big, host.viewers[0], on_sending=sending)
        else:
            outcome = await viewer.sender.send(big, on_sending=sending)
        found = await asyncio.wait_for(stopping[0], 5)
        cut = await asyncio.wait_for(_first(sender_events, FileCut), 5)
        told = await asyncio.wait_for(_first(receiver_events, FileRefused), 5)
        await _alive(host, viewer)
        clock = asyncio.get_running_loop().time
        deadline = clock() + 5
        while (left := sorted(p.name for p in folder.iterdir())) and clock() < deadline:
            await asyncio.sleep(0.05)  # its disk thread removes the half file
        assert isinstance(cut, FileCut) and isinstance(told, FileRefused)
        return outcome, cut, told, found, left


def _deaf_to(monkeypatch: pytest.MonkeyPatch, module: Any, first: bytes) -> None:
    """*module*'s file channel drops each payload whose first byte is
    *first*, as that of a version before its message did."""
    real = module.file_channel

    def before(files: FileReceiver, sender: FileSender, payload: bytes) -> None:
        if payload[:1] != first:
            real(files, sender, payload)

    monkeypatch.setattr(module, "file_channel", before)


@pytest.mark.parametrize("sender_side", ["host", "viewer"])
def test_the_receiver_stops_a_file_mid_way(tmp_path: Path, sender_side: str) -> None:
    outcome, cut, told, found, left = run(_stopped_mid_way(tmp_path, sender_side), timeout=90)
    assert found is True
    assert (outcome.name, outcome.outcome, outcome.why) == ("big.bin", "failed", STOPPED_THERE_WHY)
    assert (cut.name, cut.cause, cut.why) == ("big.bin", CUT_STOPPED_THERE, STOPPED_THERE_WHY)
    assert MiB <= cut.sent < SIZE  # it stopped sending at once, not at the file's end
    assert (told.name, told.why, told.transfer) == ("big.bin", STOPPED_HERE, 1)
    assert 0 <= told.received < SIZE
    assert left == []  # no .big.bin.part-XXXXXXXX, no big.bin


def test_stopping_what_is_not_being_received_is_false(tmp_path: Path) -> None:
    """No such transfer, or a file received whole: nothing stopped, nothing
    told the sender, the session goes on."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"whole\n" * 1000)
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> tuple[bool, bool, bool, FileSent]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            before = await viewer.stop_receiving(1)
            sent = await host.send(small, host.viewers[0])
            after = await viewer.stop_receiving(1)
            nobody = await host.stop_receiving("nobody", 1)
            await _alive(host, viewer)
            return before, after, nobody, sent

    before, after, nobody, sent = run(main(), timeout=60)
    assert (before, after, nobody) == (False, False, False)
    assert sent.outcome == "delivered"
    assert (viewer_dir / "small.txt").read_bytes() == small.read_bytes()


@pytest.mark.parametrize("sender_side", ["host", "viewer"])
def test_a_sender_of_the_version_before_the_code_stops_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sender_side: str) -> None:
    """A sender that takes file results but not the code 0x06 drops it (a
    later version's first byte) and reads the FileResult "not saved" as
    ever: it stops sending at once (FileCut "failed") and its words are the
    FileResult's own, which say what happened (the sender's user of that
    version reads "'Alice' could not save big.bin: its user stopped
    receiving it; nothing of it was kept"). Its receiver removes the file."""
    module = link_module if sender_side == "host" else viewer_module
    real = module.file_channel  # type: ignore[attr-defined]

    def before_the_code(files: FileReceiver, sender: FileSender, payload: bytes) -> None:
        if payload[:1] != b"\x06":
            real(files, sender, payload)

    monkeypatch.setattr(module, "file_channel", before_the_code)
    outcome, cut, told, found, left = run(_stopped_mid_way(tmp_path, sender_side), timeout=90)
    assert found is True
    assert outcome.outcome == "failed"
    assert outcome.why == f"in its words: {STOPPED_THERE_WHY}"  # not this side's word for it
    assert (cut.cause, cut.why) == (CUT_FAILED, STOPPED_THERE_WHY)
    assert MiB <= cut.sent < SIZE
    assert told.why == STOPPED_HERE
    assert left == []


def test_a_sender_of_the_version_before_file_results_is_told_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither side reads the other's announcement (0x01), as between a
    viewer and a host of the version before file results: the receiver
    cannot tell the sender, so the sender sends the whole file ("unconfirmed",
    as such a sender says of every file), which the receiver drops; nothing
    of it stays, its user was told once, and the session goes on."""
    for module in (link_module, viewer_module):
        _deaf_to(monkeypatch, module, b"\x01")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * MiB))
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> tuple[FileSent, list[FileRefused], bool, list[str]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            told: list[FileRefused] = []
            events = viewer.events()
            stopping: list[asyncio.Future[bool]] = []

            def sending(sent: int, size: int) -> None:
                if sent >= MiB and not stopping:
                    stopping.append(asyncio.ensure_future(viewer.stop_receiving(1)))

            outcome = await host.send(big, host.viewers[0], on_sending=sending)
            found = await asyncio.wait_for(stopping[0], 5)
            await _alive(host, viewer)
            # A chat line after the file, on the same channel: what the viewer
            # tells of the file (its FileEnd too) comes before it.
            await host.send_chat("after the file")
            async for ev in events:
                if isinstance(ev, FileRefused):
                    told.append(ev)
                if isinstance(ev, ChatReceived):
                    break
            left = sorted(p.name for p in viewer_dir.iterdir())
            return outcome, told, found, left

    outcome, told, found, left = run(main(), timeout=90)
    assert found is True
    assert outcome.outcome == "unconfirmed" and outcome.why == ""
    assert [(ev.name, ev.why) for ev in told] == [("big.bin", STOPPED_HERE)]
    assert left == []
