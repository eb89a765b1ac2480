"""Someone who knows only a session code tries to make the relays tell the
real agent that its host's link was lost ("the host has not been heard
from for N s (its connection to the relay was lost)", which every relay of
a cluster now tells: ``Directory.lost``), or to wipe what they tell of a
host really lost.

* While the session is live: a registration of the code under a secret of
  one's own, reset (a RST: what the relay takes for a lost link) before
  and after the relay's answer, and a viewer join that learns the host's
  pair tag (RELAY_OK tells it) and is reset, at the host's relay and at
  another of its cluster. Expected: each registration refused
  CODE_IN_USE, no mark of a lost host anywhere (the relays' own, the
  directory's under the host's tag), and every relay pairs a viewer.
* Once the host's link was lost and its claim expired: the stranger
  registers the code (it is free) and resets. Its loss is marked under its
  own pair tag; the agent, naming its host's, is still told its host's
  words, with its host's silence (found with a mark kept per code, as the
  ended mark is: the stranger's "not heard from for 0 s" or "no such
  session code").

Real relays sharing a real redis-server, a real host and agent, real
sockets on loopback; ``claim_ttl`` 2 s so that the claim expires within
the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets

import pytest

from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame, refusal_error
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.transport.relay import (
    RELAY_REDIRECT,
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    TOKEN_SIZE,
    Relay,
    RelayLimits,
    claim_verifier,
    encode_open,
)
from screencodec.transport.relay.protocol import pair_tag, parse_viewer_ok

from .cluster import RedisServer, relays, run, wait_for
from .test_attack4_host_link_down import watched
from .test_relayleft_lost_cluster import _SILENT, _told

_LIMITS = RelayLimits(claim_ttl=2.0)


async def _register_and_reset(port: int, code: str, answered: bool) -> RefuseCode | None:
    """A registration of ``code`` under a secret of one's own, reset (RST)
    before the relay's answer or after it; what the relay said, if read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    refused: RefuseCode | None = None
    try:
        writer.write(encode_open(ROLE_HOST_CONTROL, code, secrets.token_bytes(TOKEN_SIZE)))
        await writer.drain()
        if answered:
            ftype, body = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 10)
            assert ftype == FrameType.REFUSE
            refused = RefuseCode(getattr(refusal_error(body), "code", RefuseCode.MALFORMED))
    finally:
        reset_stream(writer)
    return refused


async def _join_and_reset(port: int, code: str) -> bytes:
    """A viewer join of ``code``: the pair tag its RELAY_OK tells, then a RST."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(encode_open(ROLE_VIEWER, code))
        while True:  # a redirect to the host's relay is followed
            ftype, body = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 10)
            if ftype != RELAY_REDIRECT:
                break
            reset_stream(writer)
            host, _, redirected = body.decode().rpartition(":")
            reader, writer = await asyncio.open_connection(host, int(redirected))
            writer.write(encode_open(ROLE_VIEWER, code))
        assert ftype == FrameType.RELAY_OK
        return parse_viewer_ok(body)[0]
    finally:
        reset_stream(writer)


@pytest.mark.parametrize("where", ["one relay", "cluster"])
def test_someone_with_the_code_cannot_make_a_live_session_look_lost(
        where: str, request: pytest.FixtureRequest) -> None:  # fmt: skip
    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            if where == "cluster":
                redis: RedisServer = request.getfixturevalue("redis_server")
                every = list(await stack.enter_async_context(relays(redis, 2, _LIMITS)))
            else:
                every = [await stack.enter_async_context(Relay(limits=_LIMITS))]
            home = every[0]
            session = await stack.enter_async_context(watched(home.port, 17))
            code = session.code
            assert session.reg is not None
            tag = pair_tag(claim_verifier(code, session.reg._secret))
            for relay in every:
                for answered in (False, True):
                    said = await _register_and_reset(relay.port, code, answered)
                    assert said in ((None,) if not answered else (RefuseCode.CODE_IN_USE,))
                assert await _join_and_reset(relay.port, code) == tag
            # Past the claim's life: had anything marked the host lost or
            # let its claim go, it would show now.
            await asyncio.sleep(_LIMITS.claim_ttl + 0.5)
            assert home.sessions == {code}
            for relay in every:
                assert relay.ended.silent_for(code) is None
                assert relay.ended.why(code) is None
                assert await relay.directory.silent_for(code, tag) is None
                assert await relay.directory.ended(code) is None
                channel = await connect_via_relay("127.0.0.1", relay.port, code,
                                                  session.password)  # fmt: skip
                await channel.close()
            assert session.task is not None and not session.task.done()

    run(main(), 60)


def test_a_stranger_registering_a_lost_hosts_free_code_does_not_change_what_its_agent_is_told(
        redis_server: RedisServer) -> None:  # fmt: skip
    async def main() -> None:
        async with relays(redis_server, 2, _LIMITS) as (first, second), \
                watched(first.port, 19) as session:  # fmt: skip
            loop = asyncio.get_running_loop()
            session.proxy.refusing = True
            session.proxy.cut()
            cut = loop.time()
            await session.lost()

            async def expired() -> bool:
                return await second.directory.locate(session.code) is None

            await wait_for(expired, 10)
            # The code is free: the stranger registers it at the second
            # relay (its claim is new), then its link "fails".
            reader, writer = await asyncio.open_connection("127.0.0.1", second.port)
            writer.write(encode_open(ROLE_HOST_CONTROL, session.code,
                                     secrets.token_bytes(TOKEN_SIZE)))  # fmt: skip
            ftype, _ = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 10)
            assert ftype == FrameType.RELAY_OK
            await wait_for(lambda: second.sessions == {session.code})
            reset_stream(writer)
            await wait_for(lambda: not second.sessions)
            await wait_for(lambda: not second._background)  # its loss told to the cluster
            for relay in (first, second):
                told = await _told(relay.port, session)
                said = re.fullmatch(_SILENT, str(told))
                assert said is not None, str(told)
                # The host's silence, not the stranger's (0 s): at least
                # the time since the cut, less a second of rounding.
                assert int(said.group(1)) >= loop.time() - cut - 1, str(told)

    run(main(), 60)
