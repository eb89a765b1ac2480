"""lead47: a viewer that names a code while its host's registration at this
relay awaits its claim in the directory. The claim is written before the
relay serves the registration: a viewer read in between found a claim that
named this relay, which held nothing yet, and was told "no such session
code" (an agent gives up on that). The same when the host reset during the
claim (CI, review43's test: its host's race gave up on a relay that had been
stopped): the claim named this relay until it was given back to the relay
the host is at.

Expected: such a viewer waits for the claim's outcome: paired with the host
once it is served here (the host is sent RELAY_INCOMING), redirected to the
relay the claim went back to when the host went meanwhile.

A real relay in this process with real sockets on loopback; its directory
is the in-memory one, holding each claim of this relay after writing it, as
a slow directory does, until the test lets it go.
"""

from __future__ import annotations

import asyncio
import secrets

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_VIEWER, Relay
from screencodec.transport.relay.directory import Holder, MemoryDirectory
from screencodec.transport.relay.protocol import (
    RELAY_REDIRECT,
    claim_verifier,
    parse_redirect,
)

from .cluster import run
from .held_claims import HeldClaims, first_frame, open_as


async def _viewer_during_claim(host_resets: bool) -> tuple[int, bytes, list[int]]:
    """The viewer's first frame, and the frame types the host read."""
    directory = HeldClaims()
    relay = Relay(directory=directory)
    await relay.start()
    code = SessionCredentials().code
    secret = secrets.token_bytes(16)
    if host_resets:  # the host registered at another relay of the cluster first
        await MemoryDirectory.claim(
            directory, code, claim_verifier(code, secret), "127.0.0.1:9", 60.0
        )
    try:
        h_reader, h_writer = await open_as(relay, ROLE_HOST_CONTROL, code, secret)
        await asyncio.wait_for(directory.held.wait(), 10)
        if host_resets:
            reset_stream(h_writer)
            await h_writer.wait_closed()  # the reset sent before the viewer comes
        v_reader, v_writer = await open_as(relay, ROLE_VIEWER, code, bytes(16))
        await asyncio.sleep(0.3)  # the viewer's join read while the claim is held
        directory.go.set()
        host_read: list[int] = []
        if host_resets:
            viewer_first = await first_frame(v_reader)
        else:
            host_read.append((await first_frame(h_reader))[0])  # RELAY_OK
            # The viewer's join (refused on main: the host was never told).
            host_read.append((await first_frame(h_reader))[0])
            # Paired once the host dials back; nothing for the viewer before.
            viewer_first = (-1, b"")
            h_writer.close()
        v_writer.close()
        return viewer_first[0], viewer_first[1], host_read
    finally:
        await relay.close()


def test_lead47_a_viewer_during_its_hosts_claim_is_paired_once_it_is_served() -> None:
    _, _, host_read = run(_viewer_during_claim(host_resets=False), 30)
    assert host_read == [FrameType.RELAY_OK, FrameType.RELAY_INCOMING]


def test_lead47_a_viewer_during_a_claim_whose_host_reset_goes_where_the_claim_went_back()\
        -> None:  # fmt: skip
    ftype, body, _ = run(_viewer_during_claim(host_resets=True), 30)
    assert ftype == RELAY_REDIRECT, (ftype, body[1:])
    assert parse_redirect(body) == ("127.0.0.1", 9)


class LateLocate(HeldClaims):
    """As :class:`HeldClaims`; a lookup is answered once a claim was written
    (a viewer's lookup in flight as its host's registration here begins)."""

    def __init__(self) -> None:
        super().__init__()
        self.locating = asyncio.Event()

    async def locate(self, code: str) -> Holder | None:
        self.locating.set()
        await self.held.wait()
        return await super().locate(code)


def test_lead47_a_viewer_whose_lookup_saw_its_hosts_claim_begin_is_paired() -> None:
    """flake47b found it in failover42_cli (1 of 12 runs at load 7-10): the
    agent dialled relay B as its host moved there; B's lookup for it
    answered "this relay" (the claim just written), the registration not
    served yet: "no such session code"."""

    async def main() -> list[int]:
        directory = LateLocate()
        relay = Relay(directory=directory)
        await relay.start()
        code, secret = SessionCredentials().code, secrets.token_bytes(16)
        try:
            _, v_writer = await open_as(relay, ROLE_VIEWER, code, bytes(16))
            await asyncio.wait_for(directory.locating.wait(), 10)
            h_reader, h_writer = await open_as(relay, ROLE_HOST_CONTROL, code, secret)
            await asyncio.wait_for(directory.held.wait(), 10)
            await asyncio.sleep(0.3)  # the viewer's lookup answered meanwhile
            directory.go.set()
            read = [(await first_frame(h_reader))[0], (await first_frame(h_reader))[0]]
            h_writer.close()
            v_writer.close()
            return read
        finally:
            await relay.close()

    assert run(main(), 30) == [FrameType.RELAY_OK, FrameType.RELAY_INCOMING]
