"""Viewers wait at the relay until the host attaches to them (one round trip
and a TCP connect from the host: longer on a slow link). At most
``max_pending_per_address`` (4) wait per code and address, and a newcomer
past the cap cuts a waiter rather than being refused. Attack: someone who
knows only the code sends joins from an address of their own while the
agent's join waits; the agent's join is the oldest, so (when the cap was 4
per code and the oldest waiter was cut) the cut took it (BUSY) and the
attacker's own joins stayed. Real relay on loopback; the host side is written
by hand so the test decides when it attaches. Expected outcome: the cut falls
on the attacker's own oldest join, the agent is paired when the host attaches.
(Many addresses of one join each: test_attack_crowded_code.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    TOKEN_SIZE,
    Relay,
    RelayLimits,
    encode_open,
)

from .cluster import run

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _open(port: int, role: int, code: str, token: bytes = bytes(TOKEN_SIZE),
                source: str = "127.0.0.1") -> Stream:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(encode_open(role, code, token))
    return reader, writer


async def _answer(stream: Stream) -> str:
    ftype, body = await asyncio.wait_for(read_frame(stream[0], HANDSHAKE_FRAME_MAX), 10)
    if ftype == FrameType.REFUSE:
        return RefuseCode(body[0]).name
    return FrameType(ftype).name


async def _incoming(control: Stream) -> tuple[bytes, str]:
    ftype, body = await asyncio.wait_for(read_frame(control[0], HANDSHAKE_FRAME_MAX), 10)
    assert ftype == FrameType.RELAY_INCOMING
    return body[:TOKEN_SIZE], body[TOKEN_SIZE:].decode()


def test_joins_from_another_address_do_not_cut_the_agents_waiting_join() -> None:
    async def main() -> list[str]:
        code = SessionCredentials().code
        opened: list[Stream] = []
        async with Relay() as relay:
            try:
                control = await _open(relay.port, ROLE_HOST_CONTROL, code,
                                      secrets.token_bytes(TOKEN_SIZE))
                opened.append(control)
                assert await _answer(control) == "RELAY_OK"
                agent = await _open(relay.port, ROLE_VIEWER, code, source="127.0.0.1")
                opened.append(agent)
                agent_join, agent_ip = await _incoming(control)
                assert agent_ip == "127.0.0.1"
                attackers = []
                for _ in range(RelayLimits().max_pending_per_address + 1):
                    attackers.append(await _open(relay.port, ROLE_VIEWER, code,
                                                 source="127.0.0.30"))
                    await _incoming(control)
                opened += attackers
                # The host attaches to the agent's join now.
                data = await _open(relay.port, ROLE_HOST_DATA, code, agent_join)
                opened.append(data)
                outcome = [await _answer(agent)]
                if outcome == ["RELAY_OK"]:  # then the cut fell on another join
                    outcome.append(await _answer(attackers[0]))
                return outcome
            finally:
                for _, writer in opened:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()

    # The agent is paired; the cut took the attacker's own oldest join
    # (before b67d3c5: the agent's, BUSY).
    assert run(main()) == ["RELAY_OK", "BUSY"]
