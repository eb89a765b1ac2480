"""resume52b: an agent coming back is held for its lost host for as long
as the relay remembers the loss (``lost_memory``), not ``lost_hold`` only.

Found (resume52's closing note): past ``lost_hold`` (8 s from the loss) an
agent's join naming its registration was told at once how long the host
had not been heard from, and it retried on its own schedule (0.25 s
doubling to 4 s): with a host back after 10-60 s (a laptop's lid, a Wi-Fi
that takes 20 s) its picture came up to 4.8 s after the host. Expected:
held, each join answered within RESUME_ANSWER (4 s) as before, the next
attempt at once (an attempt's backoff counts from its start: the held
4 s are its wait), and paired the moment the host registers again; a
first join (no registration named) keeps the ``lost_hold`` bound, so
someone who only knows a code camps on it no longer than before.

In this process: a real relay, the host's control connections raw frames.
With the commands a person runs: ``screencodec relay``, ``screencodec
host --relay`` through a LinkProxy the test cuts, ``screencodec view
--relay``; the link mended right after the relay told the agent's join,
past ``lost_hold``: its next attempt is 3.2-4.8 s away on main.
"""

from __future__ import annotations

import asyncio
import time

from screencodec.transport.channel.framing import FrameType, RefuseCode
from screencodec.transport.relay import ROLE_VIEWER, RelayLimits
from screencodec.transport.relay.protocol import claim_verifier, pair_tag
from transport.helpers import until

from .cluster import run
from .held_claims import first_frame
from .test_grace51_join_as_host_blips import (
    _NO_TAG,
    _held_then_paired,
    _host,
    _lost,
    _open,
    _relay,
)
from .test_resume52_agent_held import _TOLD, Session, with_session

_LOST_HOLD = 1.0


def test_resume52b_an_agent_is_held_past_lost_hold_a_first_join_is_not() -> None:
    async def main() -> tuple[int, bytes, float, int]:
        async with _relay(RelayLimits(lost_hold=_LOST_HOLD)) as (relay, code, secret):
            tag = pair_tag(claim_verifier(code, secret))
            _, h_writer = await _host(relay, code, secret)
            await _lost(relay, code, h_writer)
            lost = time.monotonic()
            # The condition under test is the time since the loss itself.
            await until(lambda: time.monotonic() - lost > _LOST_HOLD + 0.2, 10, "lost_hold past")
            # A first join: told at once, as before (lost_hold bounds it).
            f_reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, body = await first_frame(f_reader)
            assert ftype == FrameType.REFUSE
            # main: told at once "the host has not been heard from for 1 s".
            await _held_then_paired(relay, code, secret, tag)
            return body[0], body[1:].strip(), time.monotonic() - lost, relay.stats.held_for_host

    why, words, after, held = run(main(), 30)
    assert (why, words) == (RefuseCode.UNKNOWN_SESSION, b"no such session code")
    assert after > _LOST_HOLD
    assert held == 1


async def _mend_after_told(s: Session, past: float) -> tuple[float, float]:
    """Cut the host's link (a reset) and keep it down until ``past`` s have
    passed and the relay has just told the agent's join; seconds from the
    cut to the link back, and from the link back to "back in the session"."""
    since_relay, since_seen = len(s.relay.text), len(s.seen.text)
    s.proxy.refusing = True
    s.proxy.cut()
    cut = time.monotonic()
    told = 0
    while True:
        now_told = s.relay.text.count(_TOLD, since_relay)
        if now_told > told and time.monotonic() - cut > past:
            break
        told = now_told
        assert time.monotonic() - cut < past + 30, s.relay.text[since_relay:]
        await asyncio.sleep(0.01)
    s.proxy.refusing = False
    mended = time.monotonic()
    await asyncio.to_thread(lambda: s.seen.wait_for(
        r"back in the session, granted: view\n", 60) and None)  # fmt: skip
    assert s.seen.text.count("back in the session", since_seen) == 1, s.seen.text
    return mended - cut, time.monotonic() - mended


def test_resume52b_an_agent_is_back_at_once_when_its_host_is_back_past_lost_hold() -> None:
    """The host retries every 0.3 s at most (its test-only knob). The link
    mended as the relay told the agent's join, past ``lost_hold`` (8 s):
    main, the agent's next attempt 3.2-4.8 s later (not held either);
    now, its next join at once, held, paired as the host registers."""

    async def test(s: Session) -> tuple[float, float]:
        return await _mend_after_told(s, 8.5)

    mended, back = with_session(test, backoff_max="0.3")  # type: ignore[misc]
    assert mended > 8.5
    assert back < 1.5, (mended, back)
