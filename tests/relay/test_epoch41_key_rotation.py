"""epoch41: an operator rotates the cluster's key (``redis-cli SET
screencodec:log-key <32 new hex>``: docs/relay.md, *Operations*) while
viewers are joining.

Join ids carry a MAC under that key, and a relay that does not hold a code
redirects a host's data connection only for an id its cluster made
(attack40). Each relay takes the new key at its own next heartbeat, so for
up to a heartbeat the relays of a cluster hold different keys. Found
(real relays and redis-server; "a relay's heartbeat came first" is that
relay's own key refresh, called as its heartbeat calls it): a host's data
connection for a join made before the rotation, at a relay that had taken
the new key, was refused "no such pending viewer" (its viewer's join then
times out, 15 s, and is retried), and so was one for a join made under the
new key at a relay that had not taken it yet. Expected, and now: both are
redirected to the relay holding the code. A relay keeps the key it had
for a heartbeat and a pairing's wait after it changed, and a relay that
cannot verify an id reads the cluster's key again (at most once a second)
before it refuses. An id under neither key is still refused.
"""

from __future__ import annotations

import asyncio
import secrets

import redis.asyncio as aioredis

from screencodec.transport.channel.framing import FrameType, read_frame
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    RelayLimits,
)
from screencodec.transport.relay.protocol import RELAY_REDIRECT

from .cluster import RedisServer, relays, run
from .test_review40d_join_id_replay import UNKNOWN, _as_data, _open

#: Heartbeats every 20 s: none during the test but those it calls.
LIMITS = RelayLimits(claim_ttl=60.0)


def test_a_rotated_cluster_key_still_redirects_the_joins_made_around_it(
        redis_server: RedisServer) -> None:
    async def main() -> None:
        async with relays(redis_server, 2, LIMITS) as (a, b):
            code = "864864864"
            control = await _open(a.port, ROLE_HOST_CONTROL, code, bytes([7]) * 16)
            opened = [control]
            operator = aioredis.Redis.from_url(redis_server.url)

            async def join() -> bytes:
                viewer = await _open(a.port, ROLE_VIEWER, code, bytes(16))
                opened.append(viewer)
                ftype, body = await read_frame(control[0], 1024)
                assert ftype == FrameType.RELAY_INCOMING
                return body[:16]

            try:
                assert (await read_frame(control[0], 1024))[0] == FrameType.RELAY_OK
                to_a = (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                before = await join()  # under the key both relays have
                await operator.set("screencodec:log-key", secrets.token_hex(16))
                await b._share_tag_key()  # b's heartbeat comes first
                assert await _as_data(b.port, code, before) == to_a
                await a._share_tag_key()
                await operator.set("screencodec:log-key", secrets.token_hex(16))
                await a._share_tag_key()  # now a's comes first
                after = await join()  # under the newest key, which b has not read
                assert await _as_data(b.port, code, after) == to_a
                assert await _as_data(b.port, code, secrets.token_bytes(16)) == UNKNOWN
            finally:
                await operator.aclose()
                for _, writer in opened:
                    writer.close()
                await asyncio.sleep(0)

    run(main())
