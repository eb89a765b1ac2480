"""chatleft: a chat line whose bytes were handed to the connection before
the session ended is "not confirmed" (the peer may have it: here it does),
never "NOT delivered", which is said only of a line that never left
(transport/session/chat.py). Before, a line whose send was still waiting for
the socket to drain when the session ended counted as never sent: the agent
read it, and the host's user was told it was NOT delivered.

Real Host and Viewer on loopback through a proxy that stops reading what the
host sends (the agent's downlink stalls: the host's socket buffers fill, and
its last chat line waits in its send buffer), then the host's user ends the
session and the stall clears: every byte that was handed over arrives.
The host records the session: its audit log says the same (auditleft)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader

from .helpers import LinkProxy, run, until
from .test_chatack_session import _link, _Seen
from .test_resume import _Setup

#: A chat line as long as a line may be (4 KiB of UTF-8): few fill the buffers.
_LONG = "x" * 4000


class StallingProxy(LinkProxy):
    """A loopback proxy that can stop reading what one side sends (its
    socket's buffers fill and the sender waits, as behind a stalled link),
    and read on later: nothing is lost, it is only late. The host's side is
    read with small buffers, so that a few lines fill them."""

    def __init__(self, target: int) -> None:
        super().__init__(target)
        self.flowing = {"host": asyncio.Event(), "viewer": asyncio.Event()}
        for side in self.flowing.values():
            side.set()
        #: The proxy's sockets to the host (small buffers while it stalls).
        self.host_sockets: list[socket.socket] = []

    async def _join(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", self.target, limit=4096)
        except OSError:
            cw.transport.abort()
            return
        self.host_sockets.append(sw.get_extra_info("socket"))
        self._streams.add(sw)
        self._pairs.append((cw, sw))
        for r, w, sender in ((cr, sw, "viewer"), (sr, cw, "host")):
            self._track(self._pump(r, w, sender))

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    sender: str) -> None:  # fmt: skip
        try:
            while data := await r.read(4096):
                await self.flowing[sender].wait()  # what was read waits too
                w.write(data)
                await w.drain()
        except (OSError, ConnectionError):
            w.transport.abort()
            return
        with contextlib.suppress(OSError, ConnectionError):
            w.write_eof()


async def _stalling(s: _Setup) -> StallingProxy:
    await s.proxy.close()
    s.proxy = StallingProxy(s.listener.port)
    await s.proxy.start()
    return s.proxy


def _unsent(link: Any) -> int:
    """Bytes the host's side of the link holds in its send buffer."""
    return int(link.channel._writer.transport.get_write_buffer_size())


def test_a_line_handed_to_the_connection_as_the_session_ends_is_not_confirmed(
        tmp_path: Path) -> None:  # fmt: skip
    recorder = Recorder(tmp_path, host_id="test-host")

    async def main() -> int:
        async with _Setup(recorder=recorder) as s:
            proxy = await _stalling(s)
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            seen = _Seen(viewer.events_hub)
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            s.screen.frozen = True  # no pictures: only chat fills the buffers
            link = _link(s)
            # A small send buffer (the kernel's, of the host's socket): the
            # lines that fill it stay in the host's own buffer, over its limit.
            host_socket = link.channel._writer.get_extra_info("socket")
            (proxy_socket,) = proxy.host_sockets
            sizes = [(sock, option, sock.getsockopt(socket.SOL_SOCKET, option))
                     for sock, option in ((host_socket, socket.SO_SNDBUF),
                                          (proxy_socket, socket.SO_RCVBUF))]  # fmt: skip
            for sock, option, _ in sizes:
                sock.setsockopt(socket.SOL_SOCKET, option, 4096)
            proxy.flowing["host"].clear()  # the agent's downlink stalls
            # Lines until one waits in the host's send buffer: its bytes were
            # handed to the connection, the socket could not take them yet.
            # (Past the transport's high-water mark, the send that wrote last
            # waits for the buffer to drain: that is this line's.)
            _, high = link.channel._writer.transport.get_write_buffer_limits()
            sends: list[asyncio.Future[dict[str, int]]] = []
            for n in range(60):
                sends.append(asyncio.ensure_future(s.host.send_chat(f"{n} {_LONG}")))
                await until(lambda: sends[-1].done() or _unsent(link) > high, 5, "the line written")
                if not sends[-1].done():
                    break
            assert not sends[-1].done() and _unsent(link) > high, "the buffers never filled"
            waiting = len(sends)  # the id of the line waiting in the send buffer
            # One more line: it waits for the one before it, never handed over.
            sends.append(asyncio.ensure_future(s.host.send_chat("never left")))
            ending = asyncio.ensure_future(s.host.disconnect(reason="done"))
            await until(lambda: link.channel.closed, 10, "the host's user ended it")
            # The stall clears, the buffers as they were (4 KiB ones, waiting
            # on delayed acknowledgements, take seconds for what was handed
            # over: the host's close gives up after 1 s). All of it arrives.
            for sock, option, size in sizes:
                sock.setsockopt(socket.SOL_SOCKET, option, size)
            proxy.flowing["host"].set()
            await ending
            await task
            await asyncio.gather(*sends, return_exceptions=True)
            await until(lambda: len(host_seen.states()) == waiting + 1, 10, "every line told")
            # The agent read every line handed over, the waiting one too.
            assert len(seen.received) == waiting and "never left" not in seen.received
            assert seen.received[-1].startswith(f"{waiting - 1} ")
            states = host_seen.states()
            assert states[waiting] == "not confirmed", states
            assert {states[i] for i in range(1, waiting + 1)} == {"not confirmed"}
            assert states[waiting + 1] == "not delivered"
        return waiting

    waiting = run(main(), 60)
    # The host's audit log says what its user was told of each line
    # (auditleft: the lines not confirmed had no row saying so).
    (session,) = recorder.wait(1, timeout=10.0)
    with RecordingReader(session.path) as reader:
        events = reader.events()
    went = [e["text"] for e in events if e["type"] == "chat" and "outcome" not in e]
    outcome = [(e["number"], e["text"], e["outcome"]) for e in events
               if e["type"] == "chat_outcome"]  # fmt: skip
    assert outcome == [(n, went[n - 1], "not confirmed") for n in range(1, waiting + 1)]
    never = [e["text"] for e in events if e["type"] == "chat" and "outcome" in e]
    assert never == ["never left"]
