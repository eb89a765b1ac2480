"""Compact receipts (session kind 27) in real sessions over loopback sockets:
the host's flow control gets exactly the receipts the viewer meant, a
viewer sends them only to a host that sent it a compact delta, a hostile
one ends the session like a malformed Receipt, and typing over a shaped
link is still paced by its receipts."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from screencodec import ScreenEncoder
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.linkbench.shaper import Link
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, Subscription

from .helpers import Freezable, run, tcp_pair, until
from .test_compact_session import _link, _session
from .test_idle_stats import Sent, session

_RECEIPT = bytes((1, m.Receipt.KIND))
_COMPACT_RECEIPT = bytes((1, m.CompactReceipt.KIND))
_WITH = m.Capabilities.full(compact=True)
_WITHOUT = m.Capabilities.full(compact=False)

#: A receipt as the host's flow control takes it: (seq, arrived, held, span).
Taken = tuple[int, float | None, float, float | None]


def _as_taken(r: m.Receipt) -> Taken:
    span = None if r.span_us == m.Receipt.NO_SPAN else r.span_us / 1e6
    return r.seq, r.arrived_us / 1e6, r.held_us / 1e6, span


class Swap:
    """The viewer's channel: notes the kind of every message sent, and sends
    the next compact receipt as ``hostile`` instead, when set."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.kinds: list[int] = []
        self.hostile: bytes | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(self, message: bytes, /) -> None:
        if self.hostile is not None and message[:2] == _COMPACT_RECEIPT:
            message, self.hostile = self.hostile, None
        self.kinds.append(message[1])
        await self.inner.send(message)


async def _ended(events: Subscription) -> str:
    """The reason of the next session the host ends."""
    async for ev in events:
        if isinstance(ev, SessionEnded):
            return ev.reason
    raise AssertionError("the host closed its events")


def test_the_host_takes_exactly_the_receipts_the_viewer_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both ends recorded: every receipt the viewer built (before coding it)
    reaches the host's flow control as it was, most of them sent compact."""
    meant: list[m.Receipt] = []
    taken: list[Taken] = []

    async def main() -> None:
        async with _session(wrap_viewer=Swap) as (host, screen, viewer, _, _):
            # Before the viewer's receive loop first runs: no receipt yet.
            send = viewer._send_receipt

            async def spy(receipt: m.Receipt) -> None:
                meant.append(receipt)
                await send(receipt)

            monkeypatch.setattr(viewer, "_send_receipt", spy)
            swap = viewer.channel
            assert isinstance(swap, Swap)
            stream = _link(host).stream
            on_receipt = stream.on_receipt

            def spy_host(seq: int, arrived: float | None = None, held: float = 0.0,
                         span: float | None = None) -> None:  # fmt: skip
                taken.append((seq, arrived, held, span))
                on_receipt(seq, arrived, held, span)

            monkeypatch.setattr(stream, "on_receipt", spy_host)
            await until(lambda: viewer.decoded >= 40, what="40 updates")
            screen.frozen = True
            await until(lambda: stream.flow.in_flight == 0, what="every update answered")
            await until(lambda: len(taken) == len(meant), what="the last receipt taken")
            link = _link(host)
            assert taken == [_as_taken(r) for r in meant]
            assert link.compact_receipts == viewer.compact_receipts >= len(meant) - 3
            # The join keyframe's receipt went in full, before any compact delta.
            assert swap.kinds.count(m.Receipt.KIND) == len(meant) - viewer.compact_receipts >= 1
            assert swap.kinds.index(m.Receipt.KIND) < swap.kinds.index(m.CompactReceipt.KIND)
            assert not swap.inner.closed

    run(main())


def test_a_viewer_sends_them_only_after_a_compact_delta() -> None:
    """A host that sends no compact delta (to a viewer that did not declare
    COMPACT) gets only full Receipts."""

    async def main() -> None:
        async with _session(caps=_WITHOUT, wrap_viewer=Swap) as (host, screen, viewer, _, _):
            swap = viewer.channel
            assert isinstance(swap, Swap)
            await until(lambda: viewer.decoded >= 30, what="30 updates")
            screen.frozen = True
            await until(lambda: _link(host).flow.in_flight == 0, what="every update answered")
            assert m.Receipt.KIND in swap.kinds and m.CompactReceipt.KIND not in swap.kinds
            assert viewer.compact_receipts == _link(host).compact_receipts == 0

    run(main())


def test_an_old_host_never_receives_one() -> None:
    """A host of before compact receipts (it sends no kind 26, whatever the
    viewer declared): every answer to its updates is a full Receipt."""

    async def main() -> None:
        host_ch, viewer_ch, server = await tcp_pair()
        viewer = Viewer(viewer_ch, capabilities=_WITH)
        got: list[bytes] = []

        async def old_host() -> None:
            assert isinstance(m.decode(await host_ch.recv()), m.Capabilities)
            assert isinstance(m.decode(await host_ch.recv()), m.PermissionRequest)
            await host_ch.send(m.encode(m.PermissionGrant(1)))
            frame = np.zeros((48, 64, 4), np.uint8)
            with ScreenEncoder(64, 48) as enc:
                for seq in range(1, 21):
                    frame[seq, 2:5, :3] = 3 * seq  # a small delta each time
                    await host_ch.send(m.encode(m.Update(seq, enc.encode(frame))))
            while len([x for x in got if x[:2] == _RECEIPT]) < 20:
                got.append(await host_ch.recv())
            await host_ch.send(m.encode(m.Bye("done")))

        scripted = asyncio.ensure_future(old_host())
        await viewer.start()
        await viewer.run()
        await scripted
        assert viewer.decoded == 20 and viewer.compact_receipts == 0
        assert {x[1] for x in got} == {m.Receipt.KIND}
        assert [m.decode(x).seq for x in got] == list(range(1, 21))  # type: ignore[union-attr]
        await host_ch.close()
        server.close()
        await server.wait_closed()

    run(main())


_HOSTILE = [
    (_COMPACT_RECEIPT + bytes((1, 0x80)), "truncated"),
    (_COMPACT_RECEIPT + bytes((1,)) + b"\xff" * 10 + bytes((1, 0, 0)), "longer than 10"),
    (_COMPACT_RECEIPT + bytes((1, 5, 0, 0, 0)), "trailing"),
    (_COMPACT_RECEIPT + bytes((0, 5, 0, 0)), "seq step 0"),
    (_COMPACT_RECEIPT + bytes((1, 5, 0x80, 0x80, 0x80, 0x80, 0x10, 0)), "held_us"),
    (_COMPACT_RECEIPT + bytes((0xE8, 0x07, 5, 0, 0)), "not in flight"),  # 1000 ahead
]


@pytest.mark.parametrize(("body", "why"), _HOSTILE, ids=[w for _, w in _HOSTILE])
def test_a_hostile_compact_receipt_ends_the_session_like_a_bad_receipt(
    body: bytes, why: str
) -> None:
    async def main() -> None:
        async with _session(wrap_viewer=Swap) as (host, _, viewer, _, _):
            swap = viewer.channel
            assert isinstance(swap, Swap)
            await until(lambda: viewer.compact_receipts >= 3, what="compact receipts")
            events = host.events()
            swap.hostile = body
            reason = await asyncio.wait_for(_ended(events), 10)
            assert reason.startswith("protocol error") and why in reason, reason
            assert host.protocol_errors == 1 and host.viewers == ()

    run(main())


def test_a_compact_receipt_without_a_compact_delta_ends_the_session() -> None:
    async def main() -> None:
        async with _session(caps=_WITHOUT) as (host, _, viewer, _, _):
            await until(lambda: viewer.decoded >= 3, what="the first updates")
            events = host.events()
            await viewer.channel.send(_COMPACT_RECEIPT + bytes((1, 5, 0, 0)))
            reason = await asyncio.wait_for(_ended(events), 10)
            assert "no compact update was sent" in reason and host.protocol_errors == 1

    run(main())


def test_typing_over_a_shaped_link_is_paced_by_compact_receipts() -> None:
    """Over a 1 Mbit/s, 40 ms link (sealed channel, shaping proxy): the host
    times the round trip from the rebuilt receipts, keeps its window and
    gets every update answered; nearly every receipt went compact."""
    screen = Freezable(SyntheticDesktop(160, 120, scenario="typing", seed=3))
    host = Host(screen, consent=allow(), config=HostConfig(stats_period=0.02))

    async def body(viewer: Viewer, sent: Sent) -> None:
        (served,) = host._runtime.serving
        flow = served.flow
        await until(lambda: viewer.decoded >= 30, 20, "30 updates")
        screen.frozen = True
        await until(lambda: flow.in_flight == 0, 10, "every update answered")
        assert viewer.decoded == len(sent.of(m.Update | m.CompactUpdate))
        assert flow.max_seen_in_flight <= host.config.window
        assert flow.srtt is not None and 0.04 <= flow.srtt < 0.5
        assert flow.rate > 0 and served.compact_receipts == viewer.compact_receipts
        assert viewer.compact_receipts >= viewer.decoded - 3
        # The ledger on the host's channel saw them: 8-12 bytes each here.
        up = sent.ledger.breakdown("up", 0.0, float("inf"))
        compact = up["compact receipt"]
        assert compact["count"] == viewer.compact_receipts
        assert 6 * compact["count"] <= compact["bytes"] <= 12 * compact["count"]

    run(session(host, body, Link.symmetric(1e6 / 8, 0.04)), 60)
