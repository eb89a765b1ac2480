"""Faulty and hostile viewers, with exact expected outcomes."""

from __future__ import annotations

import asyncio
import struct

import pytest

from screencodec.transport import VIEW, Permission, SharingChanged, Viewer, channel_pair
from screencodec.transport.channel.memory import MemoryChannel
from screencodec.transport.session import messages as m

from .conftest import connected
from .helpers import bgr_equal, run, until
from .test_session import converge, make_host

#: A viewer that takes every delta as a full Update (these tests read or
#: corrupt the host's raw Update messages).
PLAIN = m.Capabilities.full(compact=False)


def test_malformed_message_ends_only_that_session() -> None:
    async def main() -> None:
        host, screen, _ = make_host()
        async with connected(host) as (good, _, _):
            hc, vc = channel_pair(("memory:host", "memory:evil"))
            serve = asyncio.ensure_future(host.serve(hc))
            evil = Viewer(vc, who="evil")
            await evil.start()
            await until(lambda: len(host.viewers) == 2)
            # A file chunk claiming 4 GiB of data: rejected on the length field.
            await vc.send(bytes([1, m.FileChunk.KIND]) + struct.pack(">IQI", 1, 0, 0xFFFFFFFF))
            reason = await serve
            assert reason.startswith("protocol error")
            assert host.protocol_errors == 1
            assert host.viewers == ("memory:viewer",)
            before = good.decoded
            await until(lambda: good.decoded > before + 3, what="good viewer still served")
            await converge(good, screen)

    run(main())


def test_garbage_and_wrong_direction_messages() -> None:
    bad_inputs = [
        b"",
        b"\x01",
        bytes([2, m.Ack.KIND, 0, 0, 0, 1]),  # wrong version
        bytes([1, 99]),  # unknown kind
        m.encode(m.Update(1, b"x")),  # only hosts send updates
        m.encode(m.Ack(12345)),  # ack for something never sent
        m.encode(m.Receipt(12345, 1, 0, 0)),  # receipt for something never sent
        m.encode(m.Receipt(1, 1, 0)) + b"\x00",  # trailing byte
        m.encode(m.Capabilities.full()),  # capabilities after the request
        m.encode(m.Chat("hi")) + b"\x00",  # trailing byte
    ]

    async def main() -> None:
        for data in bad_inputs:
            host, _, _ = make_host()
            hc, vc = channel_pair()
            serve = asyncio.ensure_future(host.serve(hc))
            await Viewer(vc).start()
            await vc.send(data)
            reason = await asyncio.wait_for(serve, 5)
            assert reason.startswith("protocol error"), (data, reason)
            assert host.viewers == ()

    run(main())


def test_first_message_must_be_a_request() -> None:
    async def main() -> None:
        host, screen, _ = make_host()
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        await vc.send(m.encode(m.PointerMove(1, 1)))
        assert (await serve).startswith("protocol error")
        assert screen.grabs == 0

    run(main())


def test_slow_viewer_is_bounded_and_merges() -> None:
    async def main() -> None:
        host, screen, _ = make_host(window=2)
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = Viewer(vc, capabilities=PLAIN)
        await viewer.start()
        # This viewer reads but never acks for a while: nothing may pile up.
        received: list[int] = []

        async def read_only() -> None:
            while True:
                msg = m.decode(await vc.recv())
                if isinstance(msg, m.Update):
                    received.append(msg.seq)

        reader = asyncio.ensure_future(read_only())
        link = next(iter(host._runtime.links))
        # Held back: the send loop keeps skipping ticks, and nothing more is sent
        # than the window (2 updates) and the bytes in flight allow.
        await until(lambda: link.flow.skipped >= 10, what="ticks held back")
        assert link.flow.in_flight == len(received) == link.flow.max_seen_in_flight
        # Held back by one of the two rules, and no other: the window is full, or
        # the bytes unanswered reach what may be in flight before any receipt.
        flow = link.flow
        assert len(received) == 2 or (
            len(received) == 1 and flow.bytes_in_flight >= flow.max_in_flight()
        ), (received, flow.bytes_in_flight, flow.max_in_flight())
        assert isinstance(hc, MemoryChannel)
        # Now it catches up: acks, and the stream resumes and converges.
        reader.cancel()
        await vc.send(m.encode(m.Ack(received[-1])))
        run_task = asyncio.ensure_future(viewer.run())
        # The viewer decoder missed the two updates it never decoded: it recovers
        # through a keyframe request, as after any loss.
        await vc.send(m.encode(m.KeyframeRequest()))
        await converge(viewer, screen)
        assert link.flow.max_seen_in_flight <= 2
        await viewer.bye()
        await asyncio.gather(serve, run_task)

    run(main())


def test_vanishing_viewer_is_cleaned_up() -> None:
    async def main() -> None:
        host, _, _ = make_host()
        events = host.events()
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = Viewer(vc)
        await viewer.start()
        await until(lambda: host.viewers != ())
        await vc.close()  # no bye: the link just dies
        reason = await asyncio.wait_for(serve, 5)
        assert "gone" in reason
        assert host.viewers == () and not host._runtime.links
        assert host._runtime.hub.last_frame(1) is None  # the source was released
        got = []
        while not got or got[-1] != ():
            ev = await asyncio.wait_for(events.__anext__(), 1)
            if isinstance(ev, SharingChanged):
                got.append(ev.viewers)
        assert got == [("memory:viewer",), ()]

    run(main())


@pytest.mark.parametrize("which", [1, 5], ids=["join-keyframe", "5th-update"])
def test_corrupted_update_triggers_keyframe_and_recovers(which: int) -> None:
    """Also the join keyframe itself: the viewer's request comes after its
    receipt, so the host does not take it as answered by that very keyframe."""

    class Corrupting:
        """Wraps the host's channel; flips bytes in the ``which``-th update."""

        def __init__(self, inner: MemoryChannel) -> None:
            self.inner = inner
            self.updates = 0
            self.peer = inner.peer

        @property
        def closed(self) -> bool:
            return self.inner.closed

        async def send(self, data: bytes) -> None:
            if data[1] == m.Update.KIND:
                self.updates += 1
                if self.updates == which:
                    data = data[:6] + bytes(b ^ 0x5A for b in data[6:])
            await self.inner.send(data)

        async def recv(self) -> bytes:
            return await self.inner.recv()

        async def close(self, reason: str = "closed locally") -> None:
            await self.inner.close(reason)

    async def main() -> None:
        host, screen, _ = make_host()
        async with connected(host, wrap=Corrupting, capabilities=PLAIN) as (viewer, serve, _):
            await until(lambda: viewer.decode_errors >= 1, what="a decode error")
            assert viewer.keyframe_requests >= 1  # after the error (none on join)
            await converge(viewer, screen)
            assert not serve.done()  # the session survived
            assert host.viewers == ("memory:viewer",)

    run(main())


def test_unknown_extension_is_dropped_and_counted() -> None:
    async def main() -> None:
        host, screen, _ = make_host()
        async with connected(host) as (viewer, serve, _):
            await viewer.send_extension("future-feature", b"\x01")
            await until(lambda: host._runtime.extensions.unknown == 1)
            await converge(viewer, screen)
            assert not serve.done()

    run(main())


def test_multiple_viewers_each_exact() -> None:
    async def main() -> None:
        host, screen, _ = make_host()
        async with connected(host, who="a") as (va, _, _):
            hc, vc = channel_pair(("memory:host", "memory:second"))
            serve = asyncio.ensure_future(host.serve(hc))
            vb = Viewer(vc, who="b")
            await vb.start(VIEW)
            rb = asyncio.ensure_future(vb.run())
            await until(lambda: va.decoded > 5 and vb.decoded > 5)
            await converge(va, screen)
            await until(lambda: bgr_equal(vb.framebuffer, screen.grab()))
            assert len(host._runtime.links) == 2
            await vb.bye()
            await asyncio.gather(serve, rb)
            assert host.viewers == ("memory:viewer",)

    run(main())


def test_same_peer_name_twice_is_disambiguated() -> None:
    async def main() -> None:
        host, _, _ = make_host()
        async with connected(host) as (a, _, _), connected(host) as (b, _, _):
            await until(lambda: len(host.viewers) == 2)
            assert host.viewers == ("memory:viewer", "memory:viewer #2")
            await host.revoke(VIEW, peer="memory:viewer #2")
            await until(lambda: host.viewers == ("memory:viewer",))
            before = a.decoded
            await until(lambda: a.decoded > before)  # the other viewer carries on
            assert b.level == Permission()

    run(main())


def test_random_messages_never_break_the_host() -> None:
    import random

    rng = random.Random(1234)

    async def main() -> None:
        host, screen, _ = make_host()
        reasons: list[str] = []
        for _ in range(120):
            hc, vc = channel_pair()
            serve = asyncio.ensure_future(host.serve(hc))
            await Viewer(vc).start()
            for _ in range(rng.randint(1, 4)):
                payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
                await vc.send(bytes([1, rng.randint(0, 30)]) + payload)
            if not vc.closed:
                await vc.send(m.encode(m.Bye()))
            reasons.append(await asyncio.wait_for(serve, 5))  # serve never raises
            await vc.close()
        assert host.viewers == () and not host._runtime.links
        assert all(not r.startswith("internal error") for r in reasons), reasons
        assert any(r.startswith("protocol error") for r in reasons)
        # and the host still serves a well-behaved viewer afterwards
        async with connected(host) as (viewer, _, _):
            await converge(viewer, screen)

    run(main(), 60)
