"""files36: a send stopped here (the task running ``send`` cancelled, the
session going on) is withdrawn at the peer, whatever it had got to
(docs/transport.md, "A withdrawal with a reason"). Before, nothing was sent:
a file stopped mid-way stayed at the peer as a hidden ``.NAME.part-XXXXXXXX``
until the session ended (test_filecut35_unread_stopped.py), and an offer
stopped while the peer's user was asked left the question open; a yes to it
then reserved the file's space at the peer until the session ended.

Real Host and Viewer over sealed channels on loopback, host and viewer
sending alike."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screencodec.transport import Host, Viewer
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session import sidechannels
from screencodec.transport.session.events import FileRefused, FileSent, SessionEnded
from screencodec.transport.session.files.wire import (
    UNREAD,
    WITHDRAWN,
    WITHDRAWN_OTHER,
    WITHDRAWN_UNREAD,
)
from screencodec.transport.session.sidechannels import FileOfferInfo

from .secure_fixtures import run
from .test_filecut35_unread_stopped import _dirs, _refused
from .test_fileresult_session import _alive, _pair
from .test_rstop36_receiver_stop import _deaf_to

MiB = 1 << 20


def _send(host: Host, viewer: Viewer, side: str, path: Path, **kw: object
          ) -> asyncio.Future[FileSent]:  # fmt: skip
    return asyncio.ensure_future(host.send(path, host.viewers[0], **kw) if side == "host"
                                 else viewer.sender.send(path, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_a_send_cancelled_while_the_peer_asks_closes_its_question(
    tmp_path: Path, side: str
) -> None:
    """The peer's user has the question open and does not answer; the send
    is cancelled: the question closes (its task is cancelled), its user is
    told the sender withdrew it, and nothing of it is on the peer's disk."""
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"n" * 5000)
    host_dir, viewer_dir = _dirs(tmp_path)
    asked: list[str] = []
    closed = asyncio.Event()

    async def never(info: FileOfferInfo) -> bool:
        asked.append(info.name)
        try:
            await asyncio.Event().wait()  # the peer's user does not answer
        finally:
            closed.set()
        return False

    says = {"host_says": never} if side == "viewer" else {"viewer_says": never}

    async def main() -> list[object]:
        async with _pair(host_dir, viewer_dir, **says) as (host, viewer):  # type: ignore[arg-type]
            peer_events = viewer.events() if side == "host" else host.events()
            sending = _send(host, viewer, side, notes)
            clock = asyncio.get_running_loop().time
            deadline = clock() + 5
            while not asked and clock() < deadline:
                await asyncio.sleep(0.02)  # the question reaches the peer's user
            assert asked == ["notes.txt"]
            sending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            told = await asyncio.wait_for(_refused(peer_events), 5)
            await asyncio.wait_for(closed.wait(), 5)
            await _alive(host, viewer)
            return told

    (told,) = run(main(), timeout=60)
    assert isinstance(told, FileRefused)
    # A reason that presumes a yes is not said of a question still open.
    assert (told.name, told.why, told.transfer, told.received) == (
        "notes.txt", WITHDRAWN_OTHER, 1, -1)
    assert list(host_dir.iterdir()) == [] and list(viewer_dir.iterdir()) == []


@pytest.mark.parametrize("receiver", ["before the code", "before reasons"])
def test_a_file_stopped_mid_way_at_a_host_of_an_earlier_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: str) -> None:
    """The reason code STOPPED is new: a host that knows reasons but not
    this one reads "the sender withdrew it"; one of the version before
    reasons ignores the 0x03 and acts on the plain 0x02 ("stopped waiting
    for an answer", the only withdrawal it knows). Each removes what it
    began, and the session goes on."""
    if receiver == "before the code":
        monkeypatch.setattr(sidechannels, "REASONS", {UNREAD: WITHDRAWN_UNREAD})
    else:
        _deaf_to(monkeypatch, link_module, b"\x03")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> tuple[list[object], list[str]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            host_events = host.events()
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and len(went) == 2:  # the first chunk went: stop it here
                    first.cancel()

            first = _send(host, viewer, "viewer", big, on_sending=sending)
            with pytest.raises(asyncio.CancelledError):
                await first
            told = await asyncio.wait_for(_refused(host_events), 5)
            await _alive(host, viewer)
            clock = asyncio.get_running_loop().time
            deadline = clock() + 3
            while (left := sorted(p.name for p in host_dir.iterdir())) and clock() < deadline:
                await asyncio.sleep(0.05)  # its disk thread removes the half file
            return told, left

    (told,), left = run(main(), timeout=60)
    assert isinstance(told, FileRefused)
    why = WITHDRAWN_OTHER if receiver == "before the code" else WITHDRAWN
    assert (told.name, told.why, told.received) == ("big.bin", why, -1)
    assert left == []


def test_a_result_the_peer_sent_before_it_had_the_withdrawal_is_ignored(tmp_path: Path) -> None:
    """The host's send is stopped mid-file just as the viewer, which takes
    results, could not write the file (here: its FileResult sent by hand,
    as the withdrawal crosses it): the host had stopped awaiting a result
    for it. The session goes on, and the next file is delivered; a
    ProtocolError ("file result ... which is not awaited") would end it."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))
    small = tmp_path / "small.txt"
    small.write_bytes(b"after the cut\n" * 100)
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> FileSent:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and len(went) == 2:
                    first.cancel()

            first = _send(host, viewer, "host", big, on_sending=sending)
            with pytest.raises(asyncio.CancelledError):
                await first
            host_events = host.events()
            await viewer._send(m.FileResult(1, False, "No space left on device"))
            alive = asyncio.ensure_future(_alive(host, viewer))
            ended = asyncio.ensure_future(_ended(host_events))
            await asyncio.wait({alive, ended}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            alive.cancel()
            ended.cancel()
            assert alive.done() and not alive.cancelled(), (
                f"the session ended: {ended.result() if ended.done() else '?'}")
            second = await _send(host, viewer, "host", small)
            await _alive(host, viewer)
            return second

    second = run(main(), timeout=60)
    assert (second.name, second.transfer, second.outcome) == ("small.txt", 2, "delivered")
    assert (viewer_dir / "small.txt").read_bytes() == small.read_bytes()



async def _ended(events: AsyncIterator[object]) -> str:
    """Why the session ended (its SessionEnded's reason)."""
    async for ev in events:
        if isinstance(ev, SessionEnded):
            return ev.reason
    return ""
