"""Chat delivery (transport/session/chat.py): a real Host and Viewer over
loopback sockets, through a proxy that mutes one side's sending or cuts the
link. Each test says what each side's program is told of its lines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from screencodec.transport import VIEW, Viewer
from screencodec.transport.session import chat as chat_module
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import (
    CHAT_CHANNEL,
    MAX_UNACKED,
    ChatBacklogError,
    ChatLedger,
)
from screencodec.transport.session.events import ChatDelivery, ChatReceived, EventHub

from .helpers import ended_lost, run, until
from .test_resume import _granted, _lose, _Setup


class _Seen:
    """Every chat event of one side, as they come (a task reads them)."""

    def __init__(self, hub: EventHub | Any) -> None:
        self.received: list[str] = []
        self.delivery: list[ChatDelivery] = []
        sub = hub.subscribe() if isinstance(hub, EventHub) else hub.events()
        self._task = asyncio.ensure_future(self._read(sub))

    async def _read(self, sub: Any) -> None:
        async for ev in sub:
            if isinstance(ev, ChatReceived):
                self.received.append(ev.text)
            elif isinstance(ev, ChatDelivery):
                self.delivery.append(ev)

    def states(self) -> dict[int, str]:
        """Each line id's latest state."""
        out: dict[int, str] = {}
        for ev in self.delivery:
            for i in range(ev.first, ev.last + 1):
                out[i] = ev.state
        return out


def _link(s: _Setup) -> Any:
    (only,) = s.host._runtime.links
    return only


def test_each_line_is_confirmed_delivered_and_counted_both_ways() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            ids = [await viewer.chat(f"line {n}") for n in range(3)]
            assert ids == [1, 2, 3]
            await until(lambda: seen.states() == dict.fromkeys(ids, "delivered"), 10, "acks")
            assert host_seen.received == ["line 0", "line 1", "line 2"]
            sent = await s.host.send_chat("hello agent")
            assert list(sent.values()) == [1]
            await until(lambda: host_seen.states() == {1: "delivered"}, 10, "host's ack")
            assert seen.received == ["hello agent"]
            link = _link(s)
            assert (link.chats.received, viewer.chats.received) == (3, 1)
            assert (link.chats.ignored, viewer.chats.ignored) == (0, 0)
            assert (link.chats.waiting, viewer.chats.waiting) == (0, 0)
            assert host_seen.delivery[0].texts == ("hello agent",)
            await viewer.bye()
            await task

    run(main(), 30)


def test_lines_lost_in_a_cut_are_delivered_once_in_order_after_the_resume() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            ticket = await _granted(viewer)
            await viewer.chat("before")
            await until(lambda: seen.states() == {1: "delivered"}, 10, "first ack")
            # The agent's uplink dies: its line, and its ack of the host's, are lost.
            s.proxy.mute("viewer")
            await viewer.chat("into the void")
            await s.host.send_chat("host line")
            await until(lambda: seen.received == ["host line"], 10, "the host's line")
            s.proxy.muted = None
            await _lose(s, viewer, task)
            # Typed while the link is down: kept, not lost.
            assert await viewer.chat("while away") == 3
            assert seen.states() == {1: "delivered"}
            again, task2 = await s.join(resume=ticket)
            seen2 = _Seen(again.events_hub)
            await until(lambda: seen2.states() == {2: "delivered", 3: "delivered"}, 10, "acks")
            await until(lambda: host_seen.states() == {1: "delivered"}, 10, "host's ack")
            assert host_seen.received == ["before", "into the void", "while away"]
            # The host's line went again (its ack was lost): the viewer had it.
            assert seen.received == ["host line"] and seen2.received == []
            assert again.chats.duplicates == 1 and again.chats.received == 1
            assert _link(s).chats.received == 3 and _link(s).chats.duplicates == 0
            await again.bye()
            await task2

    run(main(), 30)


def test_a_burst_past_the_bound_waits_for_room_on_a_live_link() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            for n in range(3 * MAX_UNACKED):
                await s.host.send_chat(f"burst {n}")
            await until(lambda: len(seen.received) == 3 * MAX_UNACKED, 10, "all lines")
            assert seen.received == [f"burst {n}" for n in range(3 * MAX_UNACKED)]
            await viewer.bye()
            await task

    run(main(), 30)


def test_an_older_viewer_chats_as_before_and_the_host_says_sent() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer = Viewer(await s.connect(), who="old")
            viewer.chats = ChatLedger(enabled=False)  # the version before
            viewer.chats.bind(viewer, viewer._send, viewer.events_hub.emit, "h")
            seen = _Seen(viewer.events_hub)
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            await s.host.send_chat("to an old viewer")
            await viewer.chat("from an old viewer")
            await until(lambda: host_seen.received == ["from an old viewer"], 10, "line")
            await until(lambda: host_seen.states() == {1: "sent"}, 10, "sent")
            assert seen.received == ["to an old viewer"] and seen.delivery == []
            assert _link(s).chats.peer_acks is False and _link(s).chats.waiting == 0
            await viewer.bye()
            await task
            assert host_seen.states() == {1: "sent"}  # never "not delivered"

    run(main(), 30)


def test_an_older_host_chats_as_before_and_the_viewer_says_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(link_module, "ChatLedger", lambda: ChatLedger(enabled=False))

    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            assert await viewer.chat("to an old host") == 1  # kept until the host shows its age
            await until(lambda: seen.states() == {1: "sent"}, 10, "sent")
            await viewer.chat("again")
            await until(lambda: host_seen.received == ["to an old host", "again"], 10, "lines")
            await s.host.send_chat("from an old host")
            await until(lambda: seen.received == ["from an old host"], 10, "host's line")
            assert host_seen.delivery == [] and viewer.chats.peer_acks is False
            assert seen.states() == {1: "sent", 2: "sent"}
            await viewer.bye()
            await task

    run(main(), 30)


def test_hostile_counts_are_ignored_and_counted() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            await s.host.send_chat("one")
            await until(lambda: host_seen.states() == {1: "delivered"}, 10, "true ack")
            bad = [
                bytes([2]) + (99).to_bytes(8, "big"),  # more than was sent
                bytes([2]) + (0).to_bytes(8, "big"),  # backwards
                bytes([2, 0, 1]),  # malformed
                bytes([1, 0]) + bytes(16),  # a second hello (and numbering from 0)
                bytes([1, 0]) + (0).to_bytes(8, "big") + (5).to_bytes(8, "big"),  # again
                bytes([9, 9, 9]),  # a later version's: dropped, not counted
            ]
            for payload in bad:
                await viewer._send(m.Extension(CHAT_CHANNEL, payload))
            await viewer.chat("still here")
            await until(lambda: host_seen.received == ["still here"], 10, "session goes on")
            link = _link(s)
            assert link.chats.ignored == 5 and link.chats.received == 1
            await s.host.send_chat("two")
            await until(lambda: host_seen.states() == {1: "delivered", 2: "delivered"}, 10, "ack")
            assert [ev.texts for ev in host_seen.delivery] == [("one",), ("two",)]
            await viewer.bye()
            await task

    run(main(), 30)


def test_lines_never_confirmed_are_told_not_delivered_and_the_backlog_is_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(chat_module, "BACKLOG_WAIT", 0.3)  # the wait for room (5 s)

    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            s.proxy.mute("host")  # nothing of the host's arrives from now on
            for n in range(MAX_UNACKED):
                await s.host.send_chat(f"unheard {n}")
            loop = asyncio.get_running_loop()
            began = loop.time()
            with pytest.raises(ChatBacklogError):
                await s.host.send_chat("one too many")
            assert loop.time() - began >= 0.3  # it waited for room first
            await s.host.disconnect(reason="done")
            await asyncio.wait_for(task, 10)
            await until(lambda: len(host_seen.states()) == MAX_UNACKED, 10, "told")
            # They went: whether they arrived no one can tell (words32).
            assert set(host_seen.states().values()) == {"not confirmed"}
            assert host_seen.delivery[0].why == "the session ended"
            assert seen.received == []

    run(main(), 30)


def test_a_viewer_whose_session_ends_tells_its_lines_not_delivered() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            s.proxy.mute("viewer")
            await viewer.chat("lost words")
            await s.host.disconnect(reason="done")
            assert (await asyncio.wait_for(task, 10)).startswith("host said bye")
            assert not viewer.link_lost
            await until(lambda: seen.states() == {1: "not confirmed"}, 10, "told")
            assert list(viewer.chats.unconfirmed_lines) == [(1, "lost words")]
            assert list(viewer.chats.lost_lines) == []

    run(main(), 30)


def test_a_resume_not_taken_up_leaves_the_kept_lines_to_give_up() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join()
            await _granted(viewer)
            s.proxy.mute("viewer")
            await viewer.chat("not heard")
            s.proxy.muted = None
            s.proxy.cut()
            await ended_lost(viewer, task)
            assert viewer.chats.waiting == 1  # kept for a resume
            assert viewer.chats.give_up() == ["not heard"]
            assert viewer.chats.waiting == 0

    run(main(), 30)


def test_the_hosts_line_to_an_agent_away_goes_once_they_are_back() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            ended = await _lose(s, viewer, task)
            assert ended.resumable > 0
            ids = await s.host.send_chat("are you back?")
            assert ids == {ended.peer: 1}  # kept for the agent away
            again, task2 = await s.join(resume=ticket)
            seen = _Seen(again.events_hub)
            await until(lambda: seen.received == ["are you back?"], 10, "the kept line")
            await until(lambda: host_seen.states() == {1: "delivered"}, 10, "delivered")
            await again.bye()
            await task2

    run(main(), 30)


def test_the_hosts_line_to_an_agent_away_is_not_delivered_when_the_host_ends_it() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            await _granted(viewer)
            await _lose(s, viewer, task)
            await s.host.send_chat("hello?")
            await s.host.disconnect()
            await until(lambda: host_seen.states() == {1: "not delivered"}, 10, "told")
            assert await s.host.send_chat("anyone?") == {}  # no one left to keep it for

    run(main(), 30)


def test_a_viewer_resuming_with_a_plain_ticket_goes_on_from_the_hosts_count() -> None:
    """A ticket passed as plain bytes carries no chat: the new viewer's lines
    are numbered on from what the host had, not taken for lines it had."""

    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            ticket = bytes(await _granted(viewer))
            await viewer.chat("one")
            await viewer.chat("two")
            await until(lambda: viewer.chats.waiting == 0, 10, "acks")
            await _lose(s, viewer, task)
            again, task2 = await s.join(resume=ticket)
            seen = _Seen(again.events_hub)
            assert await again.chat("three") == 1
            await until(lambda: seen.states() == {1: "delivered"}, 10, "delivered")
            assert host_seen.received == ["one", "two", "three"]
            assert again.chats.ignored == 0 and _link(s).chats.duplicates == 0
            await again.bye()
            await task2

    run(main(), 30)
