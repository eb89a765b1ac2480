"""review6 of chat delivery (transport/session/chat.py, host.send_chat): a
real Host with two real Viewers on loopback sockets, one of them behind a
proxy that loses what it sends (an agent whose uplink died, or a program
that never confirms)."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.transport import Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import chat as chat_module
from screencodec.transport.session.chat import MAX_UNACKED, ChatBacklogError

from .helpers import run, until
from .secure_fixtures import FAST
from .test_chatack_session import _Seen
from .test_resume import _Setup


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
