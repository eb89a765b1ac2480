"""grace51: a support agent's first join as the customer's host loses its
relay connection for a moment (a Wi-Fi roam, a NAT rebind).

Found (stop 50, a flake of test_pagewords_reconnect.py at its start): the
relay announced the join to the host (RELAY_INCOMING), the host's control
connection reset, and the join was refused at once, UNKNOWN_SESSION "the
host went away: the host has not been heard from for 0 s", though the host
registered again 0.3 s later; and a first join that came just after the
reset was told "no such session code" (``view`` says "check the 9-digit
code" and gives up on both).

Expected: such a join is held for the host to register again, within
``RelayLimits.lost_hold`` of the loss, then paired with its new
registration; a host that does not come back: the join is told so within
the bound, in words that say its connection was lost. The per-address cap
of held joins applies (a stranger parks no more than at a host).

A real relay in this process, real sockets on loopback; the host's control
connections are the test's own (raw frames), each cut by a reset at the
exact moment the test chooses (after it read the join, or before the
viewer dials), never after a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, RefuseCode
from screencodec.transport.connect.via_relay import reset_stream
from screencodec.transport.relay import (
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    Relay,
    RelayLimits,
)
from transport.helpers import until

from .cluster import run
from .held_claims import first_frame, open_as

_NO_TAG = bytes(16)
_Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
#: Every connection a test opened, closed at its end (left to the garbage
#: collector, a StreamWriter warns).
_OPENED: list[asyncio.StreamWriter] = []


async def _open(relay: Relay, role: int, code: str, token: bytes) -> _Stream:
    reader, writer = await open_as(relay, role, code, token)
    _OPENED.append(writer)
    return reader, writer


async def _closed(relay: Relay) -> None:
    """The relay closed, then every connection the test opened."""
    await relay.close()
    while _OPENED:
        writer = _OPENED.pop()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def _relay(limits: RelayLimits | None = None) -> AsyncIterator[tuple[Relay, str, bytes]]:
    """A started relay, a session code and its host's secret; at the end the
    relay closed, then every connection the test opened."""
    relay = Relay() if limits is None else Relay(limits=limits)
    await relay.start()
    try:
        yield relay, SessionCredentials().code, secrets.token_bytes(16)
    finally:
        await _closed(relay)


async def _host(relay: Relay, code: str, secret: bytes) -> _Stream:
    """A host's control connection, registered (RELAY_OK read)."""
    reader, writer = await _open(relay, ROLE_HOST_CONTROL, code, secret)
    ftype, _ = await first_frame(reader)
    assert ftype == FrameType.RELAY_OK
    return reader, writer


async def _lost(relay: Relay, code: str, writer: asyncio.StreamWriter) -> None:
    """The host's control connection reset, and the relay has seen it go."""
    reset_stream(writer)
    await until(lambda: code not in relay.sessions, 10, "the relay sees the host go")


async def _attach(relay: Relay, code: str, reader: asyncio.StreamReader) -> asyncio.StreamWriter:
    """The host reads a join and dials back for it: its data connection."""
    ftype, body = await first_frame(reader)
    assert ftype == FrameType.RELAY_INCOMING, ftype
    _, data = await _open(relay, ROLE_HOST_DATA, code, body[:16])
    return data


async def _held_then_paired(relay: Relay, code: str, secret: bytes, tag: bytes) -> bytes:
    """An agent's join naming ``tag``, held for its lost host (the only join
    held), then paired as the host registers again and dials back: the
    relay's RELAY_OK body (resume52, resume52b)."""
    v_reader, v_writer = await _open(relay, ROLE_VIEWER, code, tag)
    await until(lambda: relay.stats.held_for_host == 1, 10, "the agent's join held")
    h2_reader, _ = await _host(relay, code, secret)
    data = await _attach(relay, code, h2_reader)
    answer, ok = await first_frame(v_reader)
    v_writer.close()
    data.close()
    assert answer == FrameType.RELAY_OK, ok
    return ok


def test_grace51_a_join_whose_host_resets_under_it_is_paired_once_the_host_is_back() -> None:
    async def main() -> int:
        async with _relay() as (relay, code, secret):
            h_reader, h_writer = await _host(relay, code, secret)
            v_reader, v_writer = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, _ = await first_frame(h_reader)
            assert ftype == FrameType.RELAY_INCOMING  # the join waits for the host now
            await _lost(relay, code, h_writer)  # main: refused "the host went away" here
            h2_reader, _ = await _host(relay, code, secret)  # the host, back
            data = await _attach(relay, code, h2_reader)  # told of the held join again
            answer, body = await first_frame(v_reader)
            assert answer == FrameType.RELAY_OK, body
            v_writer.close()
            data.close()
            return relay.stats.held_for_host

    assert run(main(), 30) == 1


def test_grace51_a_first_join_just_after_its_host_reset_is_paired_once_the_host_is_back() -> None:
    async def main() -> None:
        async with _relay() as (relay, code, secret):
            _, h_writer = await _host(relay, code, secret)
            await _lost(relay, code, h_writer)
            # main: "no such session code" at once.
            v_reader, v_writer = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            await until(lambda: relay.stats.held_for_host == 1, 10, "the join held")
            h2_reader, _ = await _host(relay, code, secret)
            data = await _attach(relay, code, h2_reader)
            answer, body = await first_frame(v_reader)
            assert answer == FrameType.RELAY_OK, body
            v_writer.close()
            data.close()

    run(main(), 30)


_HOLD = 2.0


def test_grace51_a_host_that_does_not_come_back_is_told_within_the_hold() -> None:
    """Both moments, each told within lost_hold of the loss: the join told
    to the host as it reset, that its connection to the relay was lost; a
    first join just after, what it was told before (a viewer naming no
    registration learns nothing of a lost host's silence:
    test_relayend_host_gone.py)."""

    async def main() -> list[tuple[int, str, float]]:
        told = []
        async with _relay(RelayLimits(lost_hold=_HOLD)) as (relay, code, secret):
            h_reader, h_writer = await _host(relay, code, secret)
            v_reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            await first_frame(h_reader)  # RELAY_INCOMING
            lost_at = time.monotonic()
            await _lost(relay, code, h_writer)
            ftype, body = await first_frame(v_reader)
            assert ftype == FrameType.REFUSE
            told.append((body[0], body[1:].decode().strip(), time.monotonic() - lost_at))
            # A fresh host, lost, then a first join of its code.
            _, h_writer = await _host(relay, code, secret)
            lost_at = time.monotonic()
            await _lost(relay, code, h_writer)
            v_reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, body = await first_frame(v_reader)
            assert ftype == FrameType.REFUSE
            told.append((body[0], body[1:].decode().strip(), time.monotonic() - lost_at))
            return told

    (why, words, after), (why2, words2, after2) = run(main(), 30)
    assert why == why2 == RefuseCode.UNKNOWN_SESSION
    assert words == ("the host went away: the host has not been heard from for 2 s (its"
                     " connection to the relay was lost)"), words  # fmt: skip
    assert words2 == "no such session code", words2
    for waited in (after, after2):
        assert _HOLD - 0.3 < waited < _HOLD + 1.5, waited


def test_grace51_one_address_holds_no_more_joins_than_it_may_have_pending() -> None:
    """max_pending_per_address (4) joins from one address are held; the
    next is told at once, as before."""

    async def main() -> tuple[int, bytes, float]:
        async with _relay(RelayLimits(lost_hold=20.0)) as (relay, code, secret):
            _, h_writer = await _host(relay, code, secret)
            await _lost(relay, code, h_writer)
            for n in range(1, 5):
                await _open(relay, ROLE_VIEWER, code, _NO_TAG)
                await until(lambda n=n: relay.stats.held_for_host == n, 10, f"join {n} held")
            began = time.monotonic()
            v_reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            ftype, body = await first_frame(v_reader)
            assert ftype == FrameType.REFUSE
            return body[0], body[1:], time.monotonic() - began

    why, words, after = run(main(), 30)
    assert why == RefuseCode.UNKNOWN_SESSION
    assert words.strip() == b"no such session code", words
    assert after < 2.0


def test_grace51_a_host_that_released_its_code_is_not_waited_for() -> None:
    """An end (RELAY_RELEASE: the host's user ended the session) wakes a
    held join at once: the host will not come back."""
    from screencodec.transport.channel.framing import encode_frame
    from screencodec.transport.relay.protocol import RELAY_RELEASE

    async def main() -> tuple[int, float]:
        async with _relay(RelayLimits(lost_hold=20.0)) as (relay, code, secret):
            h_reader, h_writer = await _host(relay, code, secret)
            v_reader, _ = await _open(relay, ROLE_VIEWER, code, _NO_TAG)
            await first_frame(h_reader)  # RELAY_INCOMING
            began = time.monotonic()
            h_writer.write(encode_frame(RELAY_RELEASE, b""))
            ftype, _ = await first_frame(v_reader)
            assert ftype == FrameType.REFUSE
            return relay.stats.held_for_host, time.monotonic() - began

    held, after = run(main(), 30)
    assert held == 0 and after < 2.0
