"""review2: which relays a viewer names a pair tag to (a6bb0a6).

``connect_via_relay`` names, for a relay address and code, the latest
pairing held through that address, else the latest of the code through
*any* address (meant: another address of the same cluster). A process
whose agent watches session X at relay A (its ticket holds the pairing for
as long as it lives) and then opens code X at an unrelated relay B (another
deployment; or a code that an attacker running B asked the agent to open)
names A's tag to B in its RELAY_OPEN. The tag is told by A to anyone who
is paired with code X, so B (knowing X) can check it against A and learn
that this agent joined session X there. Expected: a tag is named only to
the address it paired through, its redirects and the cluster that relay
listed (tests/relay/test_relaytag_cluster.py has the rest). Real relay A,
host and viewer; B is a listener that reads the RELAY_OPEN frame, as a
relay would."""

from __future__ import annotations

import asyncio

import pytest

from relay.cluster import run
from relay.test_resume_rest_relay import _watching
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import SessionClosedError
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import read_frame
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import Relay
from screencodec.transport.relay.protocol import TOKEN_SIZE, parse_open


def test_a_tag_is_not_named_to_another_relay() -> None:
    async def main() -> bytes:
        named: list[bytes] = []

        async def relay_b(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            ftype, body = await read_frame(reader, 4096)
            named.append(parse_open(ftype, body)[2])
            writer.close()

        b = await asyncio.start_server(relay_b, "127.0.0.1", 0)
        b_port = b.sockets[0].getsockname()[1]
        creds = SessionCredentials()
        host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3), consent=allow())
        async with Relay() as relay_a:
            reg = await host_via_relay("127.0.0.1", relay_a.port, creds, host.serve)
            try:
                await reg.wait_registered(5)
                viewer, task = await _watching(relay_a.port, creds.code, creds.password)
                assert viewer.resume_ticket is not None
                with pytest.raises(SessionClosedError):  # B reads the frame, answers nothing
                    await connect_via_relay(
                        "127.0.0.1", b_port, creds.code, creds.password, pair_timeout=5
                    )
                await viewer.bye()
                await task
            finally:
                await reg.close()
                await host.close()
                b.close()
        return named[0]

    token = run(main())
    assert token == bytes(TOKEN_SIZE), "relay B was named relay A's pair tag"
