"""review6 of chat delivery (transport/session/chat.py, host.send_chat): a
real Host with two real Viewers on loopback sockets, one of them behind a
proxy that loses what it sends (an agent whose uplink died, or a program
that never confirms)."""

from __future__ import annotations

import asyncio
import contextlib
import io

import pytest

from screencodec.cli.host import _Commands
from screencodec.cli.say import Command
from screencodec.errors import SessionClosedError
from screencodec.transport import TerminalQuestions, Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import chat as chat_module
from screencodec.transport.session.chat import MAX_UNACKED, ChatBacklogError

from .helpers import run, until
from .secure_fixtures import FAST
from .test_chatack_session import _Seen
from .test_resume import _granted, _lose, _Setup


def test_a_stalled_agent_does_not_keep_the_hosts_line_from_the_others(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """One agent confirms nothing (its uplink is dead): once 64 lines wait for
    it, the host's next line to everyone still reaches the other agent, and
    the host is told whom it was not sent to."""
    monkeypatch.setattr(chat_module, "BACKLOG_WAIT", 0.3)  # the wait for room (5 s)

    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            stalled, task1 = await s.join(who="stalled")  # through the proxy
            channel = await connect_direct("127.0.0.1", s.listener.port, s.creds.code,
                                           s.creds.password, timeouts=FAST)  # fmt: skip
            other = Viewer(channel, who="other")
            await other.start(stalled.level)
            task2 = asyncio.ensure_future(other.run())
            seen = _Seen(other.events_hub)
            await until(lambda: stalled.decoded >= 1 and other.decoded >= 1, 10, "pictures")
            s.proxy.mute("viewer")  # the stalled agent's acks never arrive
            for n in range(MAX_UNACKED):
                await s.host.send_chat(f"line {n}")
            await until(lambda: len(seen.received) == MAX_UNACKED, 10, "the other's lines")
            links = {link.peer: link for link in s.host._runtime.links}
            (stalled_peer,) = [p for p, link in links.items() if link.chats.waiting]
            (other_peer,) = [p for p in links if p != stalled_peer]
            await until(lambda: links[other_peer].chats.waiting == 0, 10, "the other's acks")
            with pytest.raises(ChatBacklogError) as refused:
                await s.host.send_chat("one more")
            assert stalled_peer in str(refused.value)
            assert refused.value.sent == {other_peer: MAX_UNACKED + 1}
            await until(lambda: seen.received[-1:] == ["one more"], 10, "the other's line")
            await until(lambda: any(ev.peer == other_peer and ev.last == MAX_UNACKED + 1
                                    and ev.state == "delivered"
                                    for ev in host_seen.delivery), 10, "delivered")  # fmt: skip
            s.proxy.muted = None
            await other.bye()
            await stalled.bye()
            await asyncio.wait_for(asyncio.gather(task1, task2), 10)

    run(main(), 30)


def test_the_delivery_of_a_line_kept_for_an_agent_away_names_the_peer_its_id_was_given_for(
) -> None:  # fmt: skip
    """host.send_chat returns a line's id per peer, and "a ChatDelivery of
    that peer tells what became of it": for the agent away that is the peer
    of its lost link, though the line goes (and is confirmed) on the new one;
    a line sent after the resume has the new peer's id and delivery."""

    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            ended = await _lose(s, viewer, task)
            kept = await s.host.send_chat("are you back?")
            assert kept == {ended.peer: 1}
            again, task2 = await s.join(resume=ticket)
            await until(lambda: again.chats.received == 1, 10, "the kept line")
            after = await s.host.send_chat("welcome back")
            (new_peer,) = after
            assert new_peer != ended.peer and after[new_peer] == 2
            await until(lambda: len({(ev.peer, i) for ev in host_seen.delivery
                                     for i in range(ev.first, ev.last + 1)}) >= 2, 10, "told")
            told = {(ev.peer, i) for ev in host_seen.delivery if ev.state == "delivered"
                    for i in range(ev.first, ev.last + 1)}  # fmt: skip
            assert told == {(ended.peer, 1), (new_peer, 2)}
            await again.bye()
            await task2

    run(main(), 30)


def test_the_hosts_commands_do_not_wait_behind_a_line_waiting_for_room(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """screencodec host's typed commands (its own _Commands, a real Host): the
    agent's uplink died, 64 of the user's lines wait for its confirmation;
    the 65th /say waits for room (BACKLOG_WAIT), and the /view typed after
    it (take control back) is carried out meanwhile, not after the wait."""
    monkeypatch.setattr(chat_module, "BACKLOG_WAIT", 60.0)

    async def main() -> None:
        async with _Setup() as s:
            out = io.StringIO()
            commands = _Commands(TerminalQuestions(io.StringIO(), out), asyncio.Event(),
                                 once=False, takes_files=False)  # fmt: skip
            commands.host = s.host
            viewer, task = await s.join()
            await until(lambda: viewer.decoded >= 1 and bool(s.host.viewers), 10, "shared")
            s.proxy.mute("viewer")  # nothing the agent confirms arrives
            typed: asyncio.Queue[Command] = asyncio.Queue()
            for n in range(MAX_UNACKED + 1):
                typed.put_nowait(Command("say", f"line {n}"))
            typed.put_nowait(Command("view"))
            running = asyncio.ensure_future(commands.run(typed))
            await until(lambda: "nothing to take back" in out.getvalue()
                        and out.getvalue().count("you said to") == MAX_UNACKED, 10, "/view done")
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            s.proxy.muted = None
            await viewer.bye()
            await asyncio.wait_for(task, 10)

    run(main(), 30)


def test_a_line_given_after_the_session_ended_is_refused_not_kept_for_good() -> None:
    """The host ended the session: the agent's program then calls chat (a
    line typed as the Bye came). It got an id and the line was kept in the
    ended session's ledger, never sent and never told not delivered; as
    before chat delivery, the send is refused (SessionClosedError)."""

    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            await s.host.disconnect(reason="done")
            assert (await asyncio.wait_for(task, 10)).startswith("host said bye")
            with pytest.raises(SessionClosedError):
                await viewer.chat("too late")
            assert viewer.chats.waiting == 0 and seen.delivery == []

    run(main(), 30)


def test_a_line_waiting_for_room_when_the_host_ends_the_session_is_not_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """64 lines kept for an agent away, the 65th waits for room: the host's
    user ends the session. The 64 are told not delivered (that frees room),
    and the 65th goes to no one (no id), not kept in the ended session for
    good with an id no event will name."""
    monkeypatch.setattr(chat_module, "BACKLOG_WAIT", 60.0)

    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            await _granted(viewer)
            await _lose(s, viewer, task)
            for n in range(MAX_UNACKED):
                await s.host.send_chat(f"line {n}")
            waiting = asyncio.ensure_future(s.host.send_chat("one more"))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await s.host.disconnect()
            assert await asyncio.wait_for(waiting, 10) == {}  # sent to no one
            await until(lambda: len(host_seen.states()) == MAX_UNACKED, 10, "told")
            assert set(host_seen.states().values()) == {"not delivered"}

    run(main(), 30)
