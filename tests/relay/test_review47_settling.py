"""review47: attacks on lead47's wait for a claim in progress (a viewer that
names a code whose registration here awaits its claim waits for the
outcome, at most viewers.SETTLE_MOST).

1. A second registration of the same code during the first one's claim (a
   stranger who knows only the code, its secret wrong; or the host's own
   retry): found, the second took the code's place in ``_settling`` and its
   end (refused CODE_IN_USE at once) removed it while the host's claim was
   still held; a viewer that came next was told "no such session code" as
   before lead47, and the host was never told of it. Expected: the viewer
   waits until every registration of the code here has settled, and its
   host is sent RELAY_INCOMING.
2. A relay closed while a registration awaits its claim and a viewer waits
   for it: the viewer's connection ends, and no code is left settling.
3. A drain begun while a registration awaits its claim and a viewer waits
   for it: found, the claim answered, the host was served (RELAY_OK) by a
   relay that no longer listened, and told of the viewer (RELAY_INCOMING)
   it could not dial back for; the viewer was told "the host went away" at
   the end. Expected: both are told "relay shutting down" (BUSY), as a
   draining relay tells whoever comes; the claim is left for the host to
   reclaim elsewhere, as a drain leaves its served hosts'.

A real relay in this process with real sockets on loopback; its directory
is the in-memory one holding the host's claim after writing it (a slow
directory), until the test lets it go.
"""

from __future__ import annotations

import asyncio
import secrets

from screencodec.transport.channel.framing import FrameType, RefuseCode
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_VIEWER

from .cluster import run
from .held_claims import claim_held, first_frame, open_as


async def _stranger_during_claim() -> tuple[list[int], tuple[int, bytes], tuple[int, bytes] | None]:
    """The frame types the host read, the stranger's answer, and the
    viewer's first frame if it had one (None: it waits, as paired ones do)."""
    async with claim_held() as (relay, directory, code, (h_reader, h_writer)):
        # The stranger knows the code, not its secret: refused at once.
        s_reader, s_writer = await open_as(relay, ROLE_HOST_CONTROL, code, secrets.token_bytes(16))
        stranger = await first_frame(s_reader)
        s_writer.close()
        v_reader, v_writer = await open_as(relay, ROLE_VIEWER, code, bytes(16))
        await asyncio.sleep(0.3)  # the viewer's join read while the host's claim is held
        directory.go.set()
        host_read = [(await first_frame(h_reader))[0]]  # RELAY_OK
        viewer: tuple[int, bytes] | None = None
        try:
            host_read.append((await first_frame(h_reader, 3))[0])
        except asyncio.TimeoutError:  # never told: what was the viewer told?
            viewer = await first_frame(v_reader)
        h_writer.close()
        v_writer.close()
        return host_read, stranger, viewer


def test_review47_a_strangers_registration_during_the_claim_does_not_end_the_wait() -> None:
    host_read, stranger, viewer = run(_stranger_during_claim(), 30)
    assert stranger[0] == FrameType.REFUSE and stranger[1][0] == RefuseCode.CODE_IN_USE
    assert host_read == [FrameType.RELAY_OK, FrameType.RELAY_INCOMING], viewer
    assert viewer is None


async def _close_during_claim() -> tuple[bytes, int]:
    """What the waiting viewer read to its end, and the codes left settling."""
    async with claim_held() as (relay, _, code, (_, h_writer)):
        v_reader, v_writer = await open_as(relay, ROLE_VIEWER, code, bytes(16))
        await asyncio.sleep(0.3)  # waiting for the claim
        await asyncio.wait_for(relay.close(), 10)
        try:
            rest = await asyncio.wait_for(v_reader.read(), 5)
        except ConnectionResetError:
            rest = b""
        h_writer.close()
        v_writer.close()
        return rest, len(relay._settling)


def test_review47_a_relay_closed_during_a_claim_ends_its_waiting_viewer_and_settles() -> None:
    rest, settling = run(_close_during_claim(), 30)
    assert rest == b""  # closed, told nothing: the relay is gone
    assert settling == 0


async def _drain_during_claim() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
    """The host's first frame and the waiting viewer's."""
    async with claim_held() as (relay, directory, code, (h_reader, h_writer)):
        v_reader, v_writer = await open_as(relay, ROLE_VIEWER, code, bytes(16))
        await asyncio.sleep(0.3)  # waiting for the claim
        drain = asyncio.ensure_future(relay.drain(1.0))
        while not relay.draining:
            await asyncio.sleep(0.01)
        directory.go.set()
        host, viewer = await asyncio.gather(first_frame(h_reader), first_frame(v_reader))
        h_writer.close()
        v_writer.close()
        await asyncio.wait_for(drain, 10)
        return host, viewer


def test_review47_a_claim_answered_during_a_drain_is_not_served() -> None:
    host, viewer = run(_drain_during_claim(), 30)
    busy = (FrameType.REFUSE, bytes([RefuseCode.BUSY]) + b"relay shutting down")
    assert (host[0], host[1]) == busy, host
    assert (viewer[0], viewer[1]) == busy, viewer
