"""relay49: a viewer of a code nobody holds here is told "no such session
code" (which a new agent gives up on) only when the relay knows it: not
while its session directory cannot be reached, and not while the directory
recovers with no end set.

Found (stop 48): the relay said "no such session code" when the read of
the directory's recovering grace failed (Redis down or past its 2 s
timeout: admission._grace_left gave None, read as "no grace"), and when
the recovering key had no expiry (an operator's, PERSISTed:
redis_directory.recovering_left gave None for PTTL -1, the same). And a
viewer whose code's claim could not be looked up was refused BUSY
"session directory unavailable", on which ``screencodec view`` gave up at
once ("the relay ... refused the connection") with the customer's host
registered at another relay of the cluster.

Real redis-server (stopped with SIGSTOP, or an ACL that denies the one
read), real ``screencodec relay`` processes, ``screencodec view``.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import redis

from screencodec.errors import RefuseCode
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, read_frame
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_VIEWER
from screencodec.transport.relay.protocol import encode_open, parse_recovering
from transport.test_cli import stop

from .cluster import RedisServer, RelayProcess, registered_host, run, two_relays
from .test_failover42_host_moves import FAST
from .test_relay43_hold import relay_view

#: The words (protocol.DIRECTORY_UNAVAILABLE, HOST_NOT_BACK_YET) as a
#: viewer of any version reads them: bytes 1-199 of the REFUSE's body.
UNAVAILABLE = (b"session directory unavailable: this relay cannot tell for now whether this"
               b" code's host is registered")  # fmt: skip
NOT_BACK = (b"the session directory is recovering: this code's host may not have registered"
            b" again yet")  # fmt: skip


async def _answer(port: int, role: int, code: str, token: bytes = bytes(16)) -> tuple[int, bytes]:
    """The relay's first answer to a RELAY_OPEN of ``role`` for ``code``: a
    refusal's code and words (the body after them cut at byte 200, as every
    version reads it, except for RECOVERING's field), else the frame type and
    body; waited for as long as a viewer waits (20 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(encode_open(role, code, token))
        await writer.drain()
        ftype, body = await asyncio.wait_for(read_frame(reader, 4096), 20)
        return (body[0], body[1:]) if ftype == FrameType.REFUSE else (ftype, body)
    finally:
        writer.close()


def _words(answer: tuple[int, bytes]) -> tuple[int, bytes]:
    return answer[0], answer[1][:199].rstrip(b" ")


def test_view_waits_while_redis_is_stopped_and_connects_to_the_host_on_the_other_relay(
    redis_server: RedisServer,
) -> None:
    """The customer's host registered at relay A; Redis SIGSTOPped (past the
    relays' 2 s directory timeout); the agent runs ``view --relay B``.
    Expected: B says its session directory is unavailable (BUSY, the words
    above), ``view`` says so once and asks again, never "no session with
    that code", and once Redis answers (SIGCONT 7 s on) it is redirected to
    A and its password proven ("waiting for the host's user to accept").
    Found: view exited at once, "the relay ... refused the connection:
    session directory unavailable"."""
    creds = SessionCredentials()
    assert redis_server.proc is not None
    redis_pid = redis_server.proc.pid
    with two_relays(redis_server, 15.0) as (a, b):

        async def main() -> str:
            view = None
            stopped = False
            async with registered_host(a.port, creds, FAST):
                try:
                    os.kill(redis_pid, signal.SIGSTOP)
                    stopped = True
                    t0 = time.monotonic()
                    view, seen = relay_view(b.port, creds)
                    line = await asyncio.to_thread(
                        seen.wait_for, r"[^\n]*session directory[^\n]*\n", 20)
                    said = re.fullmatch(
                        rf"the relay 127\.0\.0\.1:{b.port} cannot reach its session directory,"
                        r" so it cannot tell yet whether the customer's host is registered;"
                        r" asking it again, up to (\d+) s\n", line.group(0))  # fmt: skip
                    assert said is not None, seen.text
                    # The minute's time left (words51), the first try's 2 s gone.
                    assert 50 <= int(said[1]) <= 60, seen.text
                    await asyncio.sleep(max(0.0, 7.0 - (time.monotonic() - t0)))
                    assert view.poll() is None, seen.text  # still waiting
                    os.kill(redis_pid, signal.SIGCONT)
                    stopped = False
                    await asyncio.to_thread(
                        seen.wait_for, r"waiting for the host's user to accept\.\.\.\n", 30)
                    return seen.text
                finally:
                    if stopped:
                        os.kill(redis_pid, signal.SIGCONT)
                    if view is not None:
                        stop(view)

        said = run(main(), 90)
        assert "no session with that code" not in said, said
        assert "no such session code" not in said, said
        assert "refused the connection" not in said, said


def test_a_grace_that_cannot_be_read_is_told_directory_unavailable_not_no_such_code(
    redis_server: RedisServer,
) -> None:
    """A code nobody holds (its host not back yet); the claim's lookup
    answers (none) and the read of the recovering grace that follows fails
    (Redis ACL denies the relay PTTL: the one read failing, as when a stall
    begins right after the lookup). Expected: BUSY and the words that the
    directory is unavailable. Found: UNKNOWN_SESSION "no such session code".
    With Redis stopped from the start the lookup itself fails: the same
    answer (before, BUSY "session directory unavailable" alone)."""
    relay = RelayProcess(redis_server, claim_ttl=15.0)
    client = redis.Redis.from_url(redis_server.url)
    assert redis_server.proc is not None
    stopped = False
    try:
        code = "494949491"
        assert _words(run(_answer(relay.port, ROLE_VIEWER, code))) == \
            (RefuseCode.UNKNOWN_SESSION, b"no such session code")
        client.execute_command("ACL", "SETUSER", "default", "-pttl")
        try:
            answer = run(_answer(relay.port, ROLE_VIEWER, code))
        finally:
            client.execute_command("ACL", "SETUSER", "default", "+pttl")
        assert _words(answer) == (RefuseCode.BUSY, UNAVAILABLE), answer
        os.kill(redis_server.proc.pid, signal.SIGSTOP)
        stopped = True
        answer = run(_answer(relay.port, ROLE_VIEWER, "494949492"))
        assert _words(answer) == (RefuseCode.BUSY, UNAVAILABLE), answer
    finally:
        if stopped:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
        client.close()
        relay.kill()


def test_a_recovering_key_without_expiry_is_told_host_not_back_yet(
    redis_server: RedisServer,
) -> None:
    """The recovering key set by hand and PERSISTed (no end). Expected: a
    viewer of a code nobody holds is held a heartbeat (claim_ttl / 3 + 0.5 s,
    as at a grace's start) and told HOST_NOT_BACK_YET; a registration is
    refused BUSY RECOVERING with no end told (no grace field, as before).
    Found: "no such session code" at once."""
    relay = RelayProcess(redis_server, claim_ttl=6.0)
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.set("screencodec:recovering", "1", px=60_000)
        assert client.persist("screencodec:recovering")
        assert client.pttl("screencodec:recovering") == -1
        t0 = time.monotonic()
        answer = run(_answer(relay.port, ROLE_VIEWER, "494949493"))
        held = time.monotonic() - t0
        assert _words(answer) == (RefuseCode.UNKNOWN_SESSION, NOT_BACK), answer
        assert 2.0 <= held < 10.0, held  # the hold: 6 / 3 + 0.5 = 2.5 s
        refused = run(_answer(relay.port, ROLE_HOST_CONTROL, "494949494", bytes([49]) * 16))
        assert _words(refused) == (RefuseCode.BUSY, b"session directory recovering"), refused
        assert parse_recovering(bytes([refused[0]]) + refused[1]) is None
    finally:
        client.close()
        relay.kill()


def test_words51_the_second_wait_line_says_the_time_left_of_the_one_minute(
    redis_server: RedisServer,
) -> None:
    """words51: one minute (view_connect.HOST_BACK_WAIT) serves both waits
    of a first connection. Redis stopped (SIGSTOP) with the directory
    recovering (its key set): the relay cannot reach its directory, and
    ``view`` says so; Redis let go 8 s on, the relay says the code's host
    may not be back yet, and ``view`` says that, once each. Expected: each
    line's "up to N s" is the time left of the minute, never more. Found:
    "up to 60 s" in both lines (the second came 10 s on, 50 s left)."""
    relay = RelayProcess(redis_server, claim_ttl=6.0)
    client = redis.Redis.from_url(redis_server.url)
    assert redis_server.proc is not None
    redis_pid = redis_server.proc.pid
    creds = SessionCredentials()
    view = None
    stopped = False
    try:
        client.set("screencodec:recovering", "1", px=120_000)
        os.kill(redis_pid, signal.SIGSTOP)
        stopped = True
        t0 = time.monotonic()
        view, seen = relay_view(relay.port, creds)
        first = seen.wait_for(r"cannot reach its session directory[^\n]*, up to (\d+) s\n", 20)
        t1 = time.monotonic()
        time.sleep(8.0)
        os.kill(redis_pid, signal.SIGCONT)
        stopped = False
        second = seen.wait_for(r"is waiting for the customer's host to register again[^\n]*,"
                               r" up to (\d+) s\n", 30)  # fmt: skip
        t2 = time.monotonic()
        # The view's minute began after t0 and before its first line (t1).
        assert 60 - (t1 - t0) - 1 <= int(first[1]) <= 60, seen.text
        assert 60 - (t2 - t0) - 1 <= int(second[1]) <= 60 - (t2 - t1), (t2 - t1, seen.text)
        assert view.poll() is None, seen.text  # still waiting
    finally:
        if stopped:
            os.kill(redis_pid, signal.SIGCONT)
        if view is not None:
            stop(view)
        client.close()
        relay.kill()
