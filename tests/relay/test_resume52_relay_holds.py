"""resume52, at the relay: what grace51's hold for a host whose control
connection was lost left open.

- An agent coming back (its join names the pair tag of the registration it
  was in) was told at once how long the host had not been heard from, and
  retried on its own schedule: now held as a first join is, and paired with
  the host's new registration; a join naming another tag is told at once,
  as before (knowing the code gains nothing).
- A host whose own side closed its connection (its program stopped: a FIN)
  was waited for up to ``lost_hold`` (8 s), not ``host_gone_after`` (3 s),
  after which the relay takes it for gone: now told then.
- A held join whose viewer hung up stayed held (counted against its
  address's held joins, and told to the host once back): now dropped at
  once.

A real relay in this process, real sockets on loopback; the host's control
connections are the test's own (raw frames), reset or closed at the moment
the test chooses.
"""

from __future__ import annotations

import re
import time

from screencodec.transport.channel.framing import FrameType, RefuseCode
from screencodec.transport.relay import ROLE_VIEWER, RelayLimits
from screencodec.transport.relay.protocol import claim_verifier, pair_tag
from screencodec.transport.relay.viewers import RESUME_ANSWER
from transport.helpers import until

from .cluster import run
from .held_claims import first_frame
from .test_grace51_join_as_host_blips import (
    _NO_TAG,
    _attach,
    _held_then_paired,
    _host,
    _lost,
    _open,
    _relay,
)


def test_resume52_an_agent_naming_its_registration_is_held_and_paired_once_the_host_is_back(
) -> None:  # fmt: skip
    async def main() -> tuple[int, bytes, int]:
        async with _relay() as (relay, code, secret):
            tag = pair_tag(claim_verifier(code, secret))
            _, h_writer = await _host(relay, code, secret)
            await _lost(relay, code, h_writer)
            # A stranger naming another registration: told at once, as before.
            s_reader, _ = await _open(relay, ROLE_VIEWER, code, bytes(range(16)))
            ftype, body = await first_frame(s_reader)
            assert ftype == FrameType.REFUSE
            # main: "the host has not been heard from for 0 s (its connection
            # to the relay was lost)" at once; the agent retried 0.25-4 s later.
            ok = await _held_then_paired(relay, code, secret, tag)
            assert ok[:16] == tag  # the same registration's tag: its session
            return body[0], body[1:].strip(), relay.stats.held_for_host

    why, words, held = run(main(), 30)
    assert (why, words) == (RefuseCode.UNKNOWN_SESSION, b"no such session code")
    assert held == 1


def test_resume52_a_host_whose_program_stopped_is_waited_for_host_gone_after_only() -> None:
    """The host closes its control connection (a FIN: its program stopped).
    A first join, an agent naming the registration, and a join the host had
    been told of are each told once ``host_gone_after`` (3 s) has passed,
    not after ``lost_hold`` (20 s here): the agent that the session ended."""

    async def main() -> list[tuple[int, bytes, float]]:
        told = []
        async with _relay(RelayLimits(lost_hold=20.0)) as (relay, code, secret):
            tag = pair_tag(claim_verifier(code, secret))
            h_reader, h_writer = await _host(relay, code, secret)
            pending, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, _ = await first_frame(h_reader)
            assert ftype == FrameType.RELAY_INCOMING
            h_writer.close()  # a FIN, not a reset
            stopped = time.monotonic()
            await until(lambda: code not in relay.sessions, 10, "the relay sees the host go")
            first, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            agent, _ = await _open(relay, ROLE_VIEWER, code, tag)
            for reader in (pending, first, agent):
                ftype, body = await first_frame(reader, 30)
                assert ftype == FrameType.REFUSE
                told.append((body[0], body[1:].strip(), time.monotonic() - stopped))
        return told

    told = run(main(), 60)
    (p_why, p_words, _), (f_why, f_words, _), (a_why, a_words, _) = told
    assert p_why == RefuseCode.UNKNOWN_SESSION
    assert p_words == b"the host went away: the host has not been heard from for 3 s", p_words
    assert (f_why, f_words) == (RefuseCode.UNKNOWN_SESSION, b"no such session code")
    assert a_why == RefuseCode.SESSION_ENDED, a_words
    for _, _, after in told:  # main: 15 s (the join's pair_timeout), 15 s, and at once
        assert 3.0 - 0.1 < after < 3.0 + 1.5, told


def test_resume52_a_held_join_whose_viewer_hung_up_is_dropped() -> None:
    """One address holds at most 4 joins at once: one whose viewer hung up
    no longer counts (main: it did until the hold's end, and the fourth
    join after it was told at once), and the host, back, is told only of
    the joins whose viewers still wait."""

    async def main() -> tuple[int, int]:
        async with _relay(RelayLimits(lost_hold=20.0)) as (relay, code, secret):
            _, h_writer = await _host(relay, code, secret)
            await _lost(relay, code, h_writer)
            _, gone = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            await until(lambda: relay.stats.held_for_host == 1, 10, "the join held")
            gone.close()  # the agent closed its view
            waiting = []
            for n in range(2, 6):
                waiting.append(await _open(relay, ROLE_VIEWER, code, _NO_TAG))
                await until(lambda n=n: relay.stats.held_for_host == n, 10, f"join {n} held")
            h2_reader, _ = await _host(relay, code, secret)
            # Each told to the host, which attaches it: each paired.
            attached = [await _attach(relay, code, h2_reader) for _ in waiting]
            for reader, _ in waiting:
                answer, body = await first_frame(reader)
                assert answer == FrameType.RELAY_OK, body
            for data in attached:
                data.close()
            return relay.stats.held_for_host, relay.stats.paired

    assert run(main(), 60) == (5, 4)


def test_resume52_an_agent_held_is_told_within_resume_answer() -> None:
    """An agent's reconnection gives each attempt at least 5 s, its last one
    too (connect/reconnect.ATTEMPT_AT_LEAST): held longer, one whose window
    ended meanwhile said "no answer within N s" (the page of
    test_pagewords_reconnect.py, a 5 s window). Held at most RESUME_ANSWER
    (4 s), then told how long the host has not been heard from; its next
    join is held again."""

    async def main() -> tuple[int, bytes, float, int]:
        async with _relay(RelayLimits(lost_hold=20.0)) as (relay, code, secret):
            tag = pair_tag(claim_verifier(code, secret))
            _, h_writer = await _host(relay, code, secret)
            await _lost(relay, code, h_writer)
            began = time.monotonic()
            v_reader, _ = await _open(relay, ROLE_VIEWER, code, tag)
            ftype, body = await first_frame(v_reader)
            assert ftype == FrameType.REFUSE
            after = time.monotonic() - began
            await _open(relay, ROLE_VIEWER, code, tag)
            await until(lambda: relay.stats.held_for_host == 2, 10, "the next join held")
            return body[0], body[1:].strip(), after, relay.stats.held_for_host

    why, words, after, held = run(main(), 30)
    assert why == RefuseCode.UNKNOWN_SESSION
    assert re.fullmatch(rb"the host has not been heard from for [45] s \(its connection to the"
                        rb" relay was lost\)", words), words  # fmt: skip
    assert RESUME_ANSWER - 0.1 < after < RESUME_ANSWER + 1.0, after
    assert held == 2
