"""silent39: a host's channel gives up on a silent viewer that keeps its link
warm after ``Timeouts.cold``, not ``idle``, once its session can resume.

Found (silent38): the host's terminal said within 6 s that the agent's link
was silent, but its channel took the link for lost only after the 45 s idle
limit, then parked the session for the 60 s window: an agent gone for good
(a lid closed, no reset) held the session and read "may reconnect" for up
to 105 s. Expected: a viewer that said HERE (a record every ``warm``
seconds) is given ``cold`` seconds; an earlier one (no HERE), or a session
that cannot resume, keeps ``idle``.

Real sealed channels over loopback, through a forwarder that stops reading
both sides (nothing reset, as over a Wi-Fi gone); the limits shortened.
"""

from __future__ import annotations

import asyncio
import contextlib

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct

from .helpers import run
from .test_terms4_view_silence import _HeldProxy

COLD, IDLE = 2.0, 8.0


#: (warm, resumable, the limit the host's channel keeps)
CASES = [
    (0.5, True, COLD),  # this version's viewer, a session that can resume
    (None, True, IDLE),  # an earlier viewer: never said HERE
    (0.5, False, IDLE),  # no ticket issued: ending sooner would lose the session
]


async def _silent(warm: float | None, resumable: bool) -> tuple[str, float, bool]:
    """A host's channel and a viewer's (``warm``), the link held once a HERE
    or two came: why the host's channel closed, after how long, and whether
    as a lost link."""
    creds = SessionCredentials()
    got: asyncio.Future[SecureChannel] = asyncio.get_running_loop().create_future()
    host_times = Timeouts(handshake=20.0, idle=IDLE, cold=COLD, keepalive=None)

    async def serve(channel: SecureChannel) -> None:
        got.set_result(channel)
        with contextlib.suppress(SessionClosedError):  # closed as silent
            while True:
                await channel.recv()

    async with await listen_direct("127.0.0.1", 0, creds, serve,
                                   timeouts=host_times) as listener:  # fmt: skip
        way = _HeldProxy(listener.port)
        await way.start()
        # The viewer's own silence limits out of the way (a live host).
        viewer_times = Timeouts(handshake=20.0, idle=None, keepalive=None, warm=warm)
        ch = await connect_direct("127.0.0.1", way.port, creds.code, creds.password,
                                  timeouts=viewer_times)  # fmt: skip
        reading = asyncio.ensure_future(ch.recv())
        host = await got
        if resumable:
            host.mark_resumable()
        await asyncio.sleep(1.5)  # a HERE or two heard
        assert host.keeps_warm is (warm is not None)
        loop = asyncio.get_running_loop()
        way.hold(True)
        held = loop.time()
        while not host.closed and loop.time() < held + IDLE + 10:
            await asyncio.sleep(0.05)
        took = loop.time() - held
        way.hold(False)
        reading.cancel()
        await ch.close()
        await way.close()
    return host.close_reason, took, host.broken


def test_a_hosts_channel_gives_up_on_a_silent_warm_viewer_after_cold() -> None:
    """The three cases side by side, each its own host and viewer channels
    and forwarder (time53b: three tests one after the other, ~20 s of
    waiting; the limits, bounds and assertions as they were)."""

    async def main() -> list[tuple[str, float, bool]]:
        return list(await asyncio.gather(*(_silent(warm, resumable)
                                           for warm, resumable, _ in CASES)))  # fmt: skip

    for (warm, resumable, limit), (reason, took, broken) in zip(
            CASES, run(main(), 60), strict=True):  # fmt: skip
        case = (warm, resumable)
        assert reason == f"nothing received for {limit:g} s (peer gone)", (case, reason)
        assert broken, case  # a lost link: the session parks for the agent's retry
        # Generous: its last byte came up to ``warm`` (or a 2 s probe) before the hold.
        assert limit - 2.5 <= took < limit + 4.0, (case, took)
