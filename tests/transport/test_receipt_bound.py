"""flowa43: what the host believes of a viewer's receipts (session/receipt_bound.py).

The live attack (a real Host and a lying Viewer through a shaped 1 Mbit/s
link) is tests/transport/test_review42_forged_receipts.py; here the two
checks on their own: the flow control's doubt of spans that claim far more
than the receipts deliver (scripted receipts, no sockets), and the host's
own socket, read from the kernel (a real TCP connection on loopback).
"""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from screencodec.transport.session.flow import CongestionControl
from screencodec.transport.session.receipt_bound import KernelState, SocketBound, kernel_state

from .helpers import run
from .secure_fixtures import both_loops
from .secure_fixtures import run as run_on

LINK = 1e6 / 8  # 1 Mbit/s
OWD = 0.020
OFFSET = 500.0  # the viewer's clock
SIZE = 8_000
FRAME = 1 / 30
SEGMENT = 1448


def _session(cc: CongestionControl, seconds: float, span_of: object) -> float:
    """Updates of SIZE every frame while the window lets them go, through a
    LINK-rate FIFO; the viewer answers on arrival with true first-byte
    times and the span ``span_of(true_span)``. Returns the time reached."""
    now, free = 0.0, 0.0
    flight: list[tuple[int, float, float]] = []  # (seq, arrived, true span)
    end = seconds
    while now < end:
        while flight and flight[0][1] + OWD <= now:
            seq, arrived, span = flight.pop(0)
            told = span_of(span)  # type: ignore[operator]
            first = arrived - span
            cc.receipt(seq, arrived + OWD, first + told + OFFSET, 0.0, told)
        if cc.delay(now) == 0.0:
            seq = cc.sent(SIZE, now)
            start = max(free, now + OWD)
            free = start + SIZE / LINK
            flight.append((seq, free, (SIZE - SEGMENT) / LINK))
        now += FRAME / 4
    return now


def test_spans_claiming_a_fast_link_under_a_queue_are_doubted() -> None:
    """A viewer whose spans claim 0.3 ms (first bytes true, so the queue
    shows): the flow times it by its acks, the rate near what they deliver."""
    cc = CongestionControl()
    _session(cc, 12.0, lambda _span: 0.0003)
    assert cc.spans_doubt.doubted
    assert cc.rate < 2 * LINK, cc.rate * 8


def test_honest_spans_are_believed() -> None:
    cc = CongestionControl()
    _session(cc, 12.0, lambda span: span)
    assert not cc.spans_doubt.doubted
    assert 0.8 * LINK < cc.rate < 1.2 * LINK, cc.rate * 8


def test_the_socket_bound_holds_while_our_socket_holds_bytes() -> None:
    bound = SocketBound(queue_target=1 / 30)
    assert bound.delay() == 0.0 and bound.ceiling(0.0) == float("inf")
    # 60 kB unsent all along, the peer's TCP acknowledging 125 kB a second.
    for k in range(6):
        bound.observe(KernelState(60_000, 40, 125_000 * k // 10, 0.04, 0.04), k / 10)
    assert bound.drain == pytest.approx(125_000)
    assert bound.ceiling(0.5) == pytest.approx(250_000)
    # What waits beyond four segments (more than 1/30 s at that rate) would
    # take that long to leave.
    assert bound.delay() == pytest.approx((60_000 - 4 * 1448) / 125_000)
    bound.observe(KernelState(0, 0, 200_000, 0.04, 0.04), 0.6)
    assert bound.delay() == 0.0
    assert bound.ceiling(1.0) == pytest.approx(250_000)  # held lately
    assert bound.ceiling(3.0) == float("inf")  # not for a while: no bound
    # The kernel's round trip 300 ms over its minimum, bytes in flight and
    # none waiting in our socket: someone else's upload on the uplink shows
    # so as much as our own queue. Not held (review43: holding every send
    # while it stood high, one update a round trip, starved an honest
    # session sharing a bloated uplink); the flow control reads the queue.
    bound.observe(KernelState(0, 10, 210_000, 0.34, 0.04), 3.1)
    assert bound.delay() == 0.0


def test_a_peer_that_stopped_reading_is_polled_slowly() -> None:
    """Bytes wait and none are acknowledged: the drain rate is 0, and the
    send loop asks again in 20 ms, not every 5 (200 wake-ups a second)."""
    bound = SocketBound(queue_target=1 / 30)
    for k in range(4):
        bound.observe(KernelState(60_000, 0, 1000, 0.04, 0.04), k / 10)
    assert bound.drain == 0.0
    assert bound.delay() == pytest.approx(0.02)
    assert bound.ceiling(0.4) == float("inf")


@pytest.mark.skipif(sys.platform != "linux", reason="TCP_INFO is read on Linux only")
def test_kernel_state_reads_the_host_socket() -> None:
    """A peer that does not read: the bytes wait unsent in our socket;
    once it reads them all, our kernel says they were acknowledged."""

    async def main() -> tuple[KernelState, KernelState]:
        accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        accepted = asyncio.Queue()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put((reader, writer))

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        peer, peer_writer = await accepted.get()
        total = 8 << 20
        writer.write(b"x" * total)
        await asyncio.sleep(0.2)
        held = kernel_state(writer.transport)
        got = 0
        while got < total:
            got += len(await peer.read(1 << 20))
        await writer.drain()
        await asyncio.sleep(0.1)
        done = kernel_state(writer.transport)
        for w in (writer, peer_writer):
            w.close()
            await w.wait_closed()
        server.close()
        await server.wait_closed()
        assert held is not None and done is not None
        return held, done

    held, done = run(main(), 30)
    assert held.unsent > 1 << 20, held
    assert done.unsent == 0 and done.unacked == 0, done
    assert done.acked >= 8 << 20, done
    assert 0 < done.min_rtt <= done.rtt < 1.0, done


def test_review43_spans_honest_then_lying_are_doubted() -> None:
    """review43: a viewer honest for its first 200 receipts (about 13 s: the
    flow has timed the link, the base window is full of true delays) whose
    spans then claim 0.3 ms. Expected: the doubt still comes (it is not
    only a first-seconds check) and the rate ends near what is delivered."""
    cc = CongestionControl()
    told: list[int] = []

    def span_of(span: float) -> float:
        told.append(1)
        return span if len(told) <= 200 else 0.0003

    _session(cc, 30.0, span_of)
    assert len(told) > 300  # it lied for 100 receipts or more
    assert cc.spans_doubt.doubted
    assert cc.rate < 2 * LINK, cc.rate * 8


@pytest.mark.skipif(sys.platform != "linux", reason="TCP_INFO is read on Linux only")
@both_loops
def test_review43_kernel_state_on_uvloop_and_on_a_unix_socket(loop_kind: str) -> None:
    """review43: the host's socket under uvloop (its transports hand out a
    pseudo-socket) is read as under asyncio; a Unix stream socket (no TCP:
    a relay or a bridge on a local socket) reads None, not an error: the
    send loop then has no bound of its own, as before flowa43."""

    async def main() -> tuple[KernelState | None, KernelState | None]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()
            writer.close()

        tcp = await asyncio.start_server(serve, "127.0.0.1", 0)
        _, writer = await asyncio.open_connection("127.0.0.1", tcp.sockets[0].getsockname()[1])
        writer.write(b"x" * 100_000)
        await writer.drain()
        on_tcp = kernel_state(writer.transport)
        writer.close()
        left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        _, unix_writer = await asyncio.open_connection(sock=left)
        on_unix = kernel_state(unix_writer.transport)
        unix_writer.close()
        right.close()
        tcp.close()
        await tcp.wait_closed()
        return on_tcp, on_unix

    on_tcp, on_unix = run_on(main(), loop_kind=loop_kind, timeout=20)
    assert on_tcp is not None and on_tcp.acked > 0, on_tcp
    assert on_unix is None
