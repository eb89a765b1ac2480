"""review5: a lingering close while our own receive loop waits in recv()
(a viewer's or a host's always does) against a peer that stalls as the
goodbye comes (a loaded machine), then writes before it reads. The waiting
recv holds the receive lock until a record comes: the close waited for that
lock only for the quiet spell (0.25 s), then gave up lingering without
reading and closed the socket, and the peer's write met the reset and lost
the goodbye unread. This is how test_attack_close_session_threads'
stalled-host test fails under load (2-6 of 48 runs with 6 runs in parallel;
instrumented, 142 of 144 of its viewer closes ended at 0.25 s having read
nothing)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.sealed import SecureChannel

from .secure_fixtures import direct_pair, run
from .test_channel_orderly_close import _goodbye_then_peer_writes_first


async def _stalled(closer: SecureChannel, peer: SecureChannel) -> None:
    await asyncio.sleep(0.6)  # the peer sends nothing: over twice the quiet spell


async def _receive_loop(channel: SecureChannel) -> None:
    with contextlib.suppress(SessionClosedError):
        while True:
            await channel.recv()


@pytest.mark.parametrize("closer_side", ["viewer", "host"])
def test_a_goodbye_reaches_a_stalled_peer_while_a_recv_waits(closer_side: str) -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            closer, peer = (viewer, host) if closer_side == "viewer" else (host, viewer)
            receiving = asyncio.ensure_future(_receive_loop(closer))
            await asyncio.sleep(0.05)
            await _goodbye_then_peer_writes_first(closer, peer, _stalled)
            await asyncio.wait_for(receiving, 5)

    run(main())
