"""One outcome per file offer, agreed by both ends, when the receiver's yes
and the sender's offer timeout come together (docs/transport.md, "An offer
given up").

Before, the sender's ``asyncio.wait_for`` decided alone: an accept that came
as the timeout fired could be dropped (Python 3.11's wait_for cancels the
answer's future and loses a result set meanwhile), and an accept that came
after it was ignored; either way the sender said "declined" while the
receiver, which had said yes, kept a half file open until the session ended.
Now the sender decides in one step which came first; if the timeout did, it
withdraws the offer, and the receiver closes its question or removes the
file it began.

Real host and viewer over sealed channels on loopback. The two events are
put in a chosen order, never raced: the timeout is fired by hand right
before or right after the answer is taken (the offer timeout itself is long
and never fires), or the offer timeout is 0 while the receiver's question is
held open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from screencodec.transport import Host
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import ChatReceived, FileReceived, FileRefused
from screencodec.transport.session.sidechannels import (
    WITHDRAWN,
    WITHDRAWN_UNREAD,
    FileOfferInfo,
    FileSender,
)

from .secure_fixtures import run
from .test_fileresult_session import _dirs, _pair


class _Held:
    """File questions: the first is never answered (it records whether it
    was closed, cancelled, before an answer); later ones are answered yes."""

    def __init__(self) -> None:
        self.asked = 0
        self.closed = False

    async def __call__(self, info: FileOfferInfo) -> bool:
        self.asked += 1
        if self.asked > 1:
            return True
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.closed = True
            raise
        return True


class _Seen:
    """Every event of one side, in a list, read by a task of its own."""

    def __init__(self, events: AsyncIterator[object]) -> None:
        self.events: list[object] = []
        self._new = asyncio.Event()
        self._task = asyncio.ensure_future(self._read(events))

    async def _read(self, events: AsyncIterator[object]) -> None:
        async for ev in events:
            self.events.append(ev)
            self._new.set()

    async def first(self, kinds: tuple[type, ...], timeout: float = 20.0) -> object:
        """The first event of one of ``kinds`` (the timeout only stops a
        test whose event never comes)."""
        async def found() -> object:
            while True:
                for ev in self.events:
                    if isinstance(ev, kinds):
                        return ev
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(found(), timeout)

    def of(self, kind: type) -> list[object]:
        return [ev for ev in self.events if isinstance(ev, kind)]


def _host_sender(host: Host) -> FileSender:
    (link,) = host._runtime.links
    return host._runtime.sender_for(link)


async def _in_order(send: Callable[[str], Awaitable[None]], seen: _Seen) -> None:
    """Everything sent before has been handled at the other end (one
    channel, in order): a chat line sent now is read there."""
    await send("sync")
    await seen.first((ChatReceived,))


async def _late_answers(sender: FileSender, n: int) -> None:
    """Until ``n`` answers came after their offer was given up."""
    while sender.late < n:
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("first", ["answer", "timeout"])
def test_an_accept_and_the_offer_timeout_in_one_step_have_one_outcome_at_both_ends(
        tmp_path: Path, first: str) -> None:
    """The viewer said yes (its file is created, its FileAccept sent); the
    host's offer timeout fires in the same step of the host's loop as that
    accept is read, just before or just after it. Accept first: the file is
    delivered. Timeout first: declined, and the viewer's half file is gone
    (its user told why), and the session goes on."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(bytes(range(256)) * 600)

    async def main() -> tuple[str, str, object, int]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            sender = _host_sender(host)
            accept = sender.on_accept

            def both(msg: m.FileAccept) -> None:  # the accept read, and the timer
                if first == "timeout":
                    sender._give_up(msg.transfer)
                accept(msg)
                if first == "answer":
                    sender._give_up(msg.transfer)

            sender.on_accept = both  # type: ignore[method-assign]
            seen = _Seen(viewer.events())
            sent = await host.send(src, host.stats()[0].peer)
            told = await seen.first((FileReceived, FileRefused))
            await _in_order(host.send_chat, seen)
            return sent.outcome, sent.why, told, sender.late

    outcome, why, told, late = run(main())
    if first == "answer":
        assert (outcome, late) == ("delivered", 0)
        assert isinstance(told, FileReceived)
        assert (viewer_dir / "notes.txt").read_bytes() == src.read_bytes()
    else:
        assert (outcome, why, late) == ("declined", "no answer in time", 1)
        assert isinstance(told, FileRefused) and (told.why, told.name) == (WITHDRAWN, "notes.txt")
        assert list(viewer_dir.iterdir()) == []


def test_the_viewers_question_is_closed_when_the_host_gives_the_offer_up(
        tmp_path: Path) -> None:
    """The host's /send case: its offer timeout (0 here) comes while the
    viewer's user has the question open. Before, the host said declined and
    the viewer's user could still say yes, and then kept the file created
    for it, empty, until the session ended. Now the question is closed, the
    viewer's user told why, and the viewer's no is the host's late answer."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"x" * 5000)
    held = _Held()

    async def main() -> tuple[str, object, int]:
        async with _pair(host_dir, viewer_dir, viewer_says=held) as (host, viewer):
            sender = _host_sender(host)
            sender._timeout = 0
            seen = _Seen(viewer.events())
            sent = await host.send(src, host.stats()[0].peer)
            told = await seen.first((FileRefused, FileReceived))
            await _late_answers(sender, 1)
            await _in_order(host.send_chat, seen)
            return sent.outcome, told, sender.late

    outcome, told, late = run(main())
    assert outcome == "declined" and late == 1
    assert isinstance(told, FileRefused) and told.why == WITHDRAWN
    assert held.closed
    assert list(viewer_dir.iterdir()) == []


def test_the_hosts_question_is_closed_when_the_viewer_gives_the_offer_up(
        tmp_path: Path) -> None:
    """The other way: the viewer's offer timeout (0) comes while the host's
    user has the question open. The host's question closes (its queue free:
    the next offer is asked and saved) and nothing of the first file stays."""
    host_dir, viewer_dir = _dirs(tmp_path)
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_bytes(b"1" * 5000)
    second.write_bytes(b"2" * 7000)
    held = _Held()

    async def main() -> tuple[str, str, object]:
        async with _pair(host_dir, viewer_dir, host_says=held) as (host, viewer):
            seen = _Seen(host.events())
            viewer.sender._timeout = 0
            gave_up = await viewer.sender.send(first)
            told = await seen.first((FileRefused, FileReceived))
            viewer.sender._timeout = 60
            then = await viewer.sender.send(second)
            await _in_order(viewer.chat, seen)
            return gave_up.outcome, then.outcome, told

    gave_up, then, told = run(main())
    assert (gave_up, then) == ("declined", "delivered")
    assert isinstance(told, FileRefused) and (told.why, told.name) == (WITHDRAWN, "first.txt")
    assert held.closed and held.asked == 2
    assert [p.name for p in host_dir.iterdir()] == ["second.txt"]


def test_a_file_gone_after_the_yes_is_withdrawn_not_left_half_at_the_receiver(
        tmp_path: Path) -> None:
    """The host's file is removed between the offer and the agent's yes (the
    agent's answer removes it here). Before, the host's send raised
    FileNotFoundError and the viewer, which had created the file, waited for
    chunks until the session ended. Expected: the host reads 'failed: could
    not be read here', the viewer's half file is gone, the session goes on."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"n" * 5000)

    async def yes_once_gone(info: FileOfferInfo) -> bool:
        src.unlink()
        return True

    async def main() -> tuple[str, str, object]:
        async with _pair(host_dir, viewer_dir, viewer_says=yes_once_gone) as (host, viewer):
            seen = _Seen(viewer.events())
            sent = await host.send(src, host.stats()[0].peer)
            told = await seen.first((FileReceived, FileRefused))
            await _in_order(host.send_chat, seen)
            return sent.outcome, sent.why, told

    outcome, why, told = run(main())
    assert (outcome, why) == ("failed", "could not be read here: no such file or directory")
    assert isinstance(told, FileRefused) and told.why == WITHDRAWN_UNREAD  # the true reason
    assert list(viewer_dir.iterdir()) == []
