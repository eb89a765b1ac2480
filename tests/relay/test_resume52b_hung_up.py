"""resume52b: a viewer that hangs up while its join waits is let go at once,
wherever it waits (resume52 did so for a join held for a lost host only).

- A join told to a live host (RELAY_INCOMING) whose viewer hung up before
  the host dialled back stayed in the registration's pending joins until
  its pair_timeout (15 s): the host's data connection for it was paired
  with a viewer that was gone, and it kept its address's place among the
  joins waiting on the code (``max_pending_per_address``: the address's
  next join cut it, counted as an eviction). Now dropped as its viewer
  hangs up: the host's dial for it is refused "no such pending viewer",
  and its place is free.
- A join held while the session directory recovers (admission.py,
  _claim_may_come) whose viewer hung up stayed held to the hold's end,
  keeping its address's place among the held joins. Now dropped at once.

A real relay in this process, real sockets on loopback; the host's
control connection is the test's own (raw frames).
"""

from __future__ import annotations

import math
import time

from screencodec.transport.channel.framing import FrameType, RefuseCode
from screencodec.transport.relay import ROLE_HOST_DATA, ROLE_VIEWER, Relay
from screencodec.transport.relay.directory import MemoryDirectory
from screencodec.transport.relay.protocol import HOST_NOT_BACK_YET
from transport.helpers import until

from .cluster import run
from .held_claims import first_frame
from .test_grace51_join_as_host_blips import _NO_TAG, _closed, _host, _open, _relay


def test_resume52b_a_join_told_to_the_host_whose_viewer_hung_up_is_dropped() -> None:
    """Four joins from one address told to the host, whose viewers hang up
    before it dials back: the host's dial for one is refused, and four more
    joins from that address wait with none cut (main: held_left stayed 0;
    the four new joins evicted the four gone ones)."""

    async def main() -> tuple[int, bytes, int]:
        async with _relay() as (relay, code, secret):
            h_reader, _ = await _host(relay, code, secret)
            ids = []
            for _ in range(4):
                _, v_writer = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
                ftype, body = await first_frame(h_reader)
                assert ftype == FrameType.RELAY_INCOMING
                ids.append(body[:16])
                v_writer.close()
            await until(lambda: relay.stats.held_left == 4, 10, "the gone viewers' joins dropped")
            d_reader, _ = await _open(relay, ROLE_HOST_DATA, code, ids[0])
            ftype, refusal = await first_frame(d_reader)
            assert ftype == FrameType.REFUSE
            for _ in range(4):
                await _open(relay, ROLE_VIEWER, code, _NO_TAG)
                ftype, _ = await first_frame(h_reader)
                assert ftype == FrameType.RELAY_INCOMING
            return refusal[0], refusal[1:].strip(), relay.stats.evicted

    why, words, evicted = run(main(), 30)
    assert (why, words) == (RefuseCode.UNKNOWN_SESSION, b"no such pending viewer")
    assert evicted == 0


class _Recovering(MemoryDirectory):
    """A directory recovering from a loss of its keys, its grace's end not
    set (Directory.recovering_left: NO_END): a viewer of a code nobody
    holds is held for its claim to come back (_claim_may_come)."""

    async def recovering_left(self) -> float | None:
        return math.inf


def test_resume52b_a_join_held_for_a_claim_whose_viewer_hung_up_is_dropped() -> None:
    """Four joins from one address held while the directory recovers (the
    cap of ``max_pending_per_address``), their viewers hang up: dropped at
    once, and the address's next join is held, not told at once (main:
    held_left stayed 0 and the held four kept the address's places to the
    hold's end, claim_ttl / 3 + 0.5 s)."""

    async def main() -> tuple[float, int, bytes]:
        relay = Relay(directory=_Recovering())
        await relay.start()
        try:
            code = "123-456-789"
            writers = [(await _open(relay, ROLE_VIEWER, code, _NO_TAG))[1] for _ in range(4)]
            # A fifth is told at once: the four are held.
            reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, _ = await first_frame(reader)
            assert ftype == FrameType.REFUSE
            for writer in writers:
                writer.close()
            await until(lambda: relay.stats.held_left == 4, 10, "the gone viewers' joins dropped")
            began = time.monotonic()
            reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, body = await first_frame(reader, 20)
            assert ftype == FrameType.REFUSE
            return time.monotonic() - began, body[0], body[1:].strip()
        finally:
            await _closed(relay)

    after, why, words = run(main(), 40)
    assert (why, words) == (RefuseCode.UNKNOWN_SESSION, HOST_NOT_BACK_YET.encode())
    assert after > 2.0, after  # held (5.5 s from the fifth's hold), not told at once
