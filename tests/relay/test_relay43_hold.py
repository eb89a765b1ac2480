"""relay43: a viewer of a code nobody holds, while the session directory
recovers, is held as long as a heartbeat of the relay's claim_ttl (up to
18 s), and is then told that the code's host may not be back yet, not "no
such session code"; ``screencodec view`` waits on those words.

Found: the hold was 10 s at most, so with a claim_ttl over 28.5 s the
holding relay's heartbeat (claim_ttl / 3) could come after it, and the
viewer was told "no such session code": a new agent gave up on it (view:
"no session with that code ...: check the 9-digit code", at once) while
its host was about to be back.

Real `screencodec relay` processes and redis-server; `screencodec view`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time

import redis

from screencodec.errors import RefuseCode
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, read_frame
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay import ROLE_HOST_CONTROL, ROLE_VIEWER
from screencodec.transport.relay.protocol import RELAY_REDIRECT, claim_verifier
from transport.test_cli import CLI, ENV, stop
from transport.test_relay_notice import _Output

from .cluster import RedisServer, RelayProcess, run
from .test_failover42_host_moves import FAST, _answer
from .test_relay42_flushed_key import _join_from
from .test_review40d_join_id_replay import _open


async def _viewer_answer(port: int, code: str, source: str) -> tuple[int, bytes]:
    """A viewer's first answer (a refusal's code and words), waited for as
    long as a viewer waits (20 s)."""
    reader, writer = await _join_from(port, code, source)
    try:
        ftype, body = await asyncio.wait_for(read_frame(reader, 1024), 20)
        return (body[0], body[1:]) if ftype == FrameType.REFUSE else (ftype, body)
    finally:
        writer.close()


def relay_view(port: int, creds: SessionCredentials) -> tuple[subprocess.Popen[str], _Output]:
    """``screencodec view --relay 127.0.0.1:PORT`` of ``creds``' session, and
    what it prints (stdout and stderr together), read as it comes."""
    view = subprocess.Popen(
        [*CLI, "view", "--relay", f"127.0.0.1:{port}", "--code", creds.code,
         "--password", creds.password],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=ENV)  # fmt: skip
    return view, _Output(view)


def _after_a_heartbeat(redis_server: RedisServer, code: str) -> None:
    """Return right after the holding relay renewed ``code``'s claim (its
    PTTL went up): its next heartbeat is a whole claim_ttl / 3 away."""
    client = redis.Redis.from_url(redis_server.url)
    try:
        last = client.pttl(f"screencodec:claim:{code}")
        while (now := client.pttl(f"screencodec:claim:{code}")) <= last:
            last = now
            # 50 ms late at most, of the claim_ttl / 3 (15 s here) it leaves;
            # not 20 ms: up to 750 round trips to Redis a wait (time49c).
            time.sleep(0.05)
    finally:
        client.close()


def test_view_waits_for_the_customers_host_while_the_directory_recovers(
    redis_server: RedisServer,
) -> None:
    relay = RelayProcess(redis_server, claim_ttl=15.0)
    view = None
    try:
        creds = SessionCredentials()
        # A grace as a relay starts one on noticing a loss (relay42's tests
        # do the same): registrations wait, viewers are held 5.5 s from its
        # start. Begun anew every 0.5 s until the view has joined: a loaded
        # machine started the view 5.5 s after a grace set once (fresh140:
        # 'no such session code', the hold over before its join came).
        client = redis.Redis.from_url(redis_server.url)
        client.set("screencodec:recovering", "1", px=15_000)
        view, seen = relay_view(relay.port, creds)
        try:
            pattern = r"[^\n]*waiting for the customer's host[^\n]*\n"
            deadline = time.monotonic() + 30
            while (found := re.search(pattern, seen.text)) is None:
                assert time.monotonic() < deadline, seen.text
                client.set("screencodec:recovering", "1", px=15_000)
                time.sleep(0.5)
        finally:
            client.close()
        line = found.group(0)
        said = re.fullmatch(
            rf"the relay 127\.0\.0\.1:{relay.port} is waiting for the customer's host to"
            r" register again \(its session directory is recovering\); waiting for it, up to"
            r" (\d+) s\n", line)  # fmt: skip
        assert said is not None, line
        # The time left of the minute, the relay's hold of 5.5 s gone (words51).
        assert 45 <= int(said[1]) <= 55, line

        async def host_comes() -> None:
            # The customer's host registers as the grace ends; the agent's
            # next attempt is paired and its password proven.
            reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                                       timeouts=FAST)  # fmt: skip
            try:
                await reg.wait_registered(30)
                await asyncio.to_thread(
                    seen.wait_for, r"waiting for the host's user to accept\.\.\.\n", 30
                )
            finally:
                await reg.close()

        run(host_comes(), 60)
        assert "no session with that code" not in seen.text, seen.text
    finally:
        if view is not None:
            stop(view)
        relay.kill()


def test_a_stranger_with_the_code_neither_lengthens_the_hold_nor_takes_the_code(
    redis_server: RedisServer,
) -> None:
    """The attack on the longer hold: while the agent's viewer is held at B
    (the claim gone with a FLUSHALL, claim_ttl 45), someone who knows the
    code joins it over and over and registers it under its own secret at B,
    from 3 addresses of its own. Expected: its registrations are refused
    throughout (BUSY while the grace runs, CODE_IN_USE once the host's
    relay made its claim again, RATE_LIMITED past its budget; never
    RELAY_OK), the agent's viewer is
    redirected to the host's relay as before, and the claim is the host's.

    The same hold answers a viewer of a code nobody holds, once it is over
    (the grace going on), with the words for a recovering directory, not "no
    such session code". claim_ttl 45: A beats every 15 s, past the 10 s the
    hold was. (Till time44 a test of its own, with its own relays and a
    hold of ~13 s, asserted these two.)"""
    a = RelayProcess(redis_server, claim_ttl=45.0)
    b = None
    try:
        code, secret = "434343435", bytes([44]) * 16

        async def main() -> None:
            nonlocal b
            control = await _open(a.port, ROLE_HOST_CONTROL, code, secret)
            said: list[str] = []
            stop = asyncio.Event()  # a flag too: gh-86296 (failover42's stranger)
            try:
                await asyncio.to_thread(_after_a_heartbeat, redis_server, code)
                redis.Redis.from_url(redis_server.url).flushall()
                b = RelayProcess(redis_server, claim_ttl=45.0)
                port = b.port
                # (Its log is read as it comes, by RelayProcess: a pipe left
                # full, 64 KiB of the stranger's refusals, stops its loop.)

                async def stranger() -> None:
                    i = 0
                    while not stop.is_set():
                        i += 1
                        source = f"127.0.43.{7 + i % 3}"
                        said.append(await _answer(port, source, ROLE_HOST_CONTROL, code,
                                                  bytes([i % 256]) * 16))  # fmt: skip
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(_answer(port, source, ROLE_VIEWER, code,
                                                           bytes(16)), 0.05)  # fmt: skip
                        await asyncio.sleep(0.05)

                hammering = asyncio.ensure_future(stranger())
                free = asyncio.ensure_future(_viewer_answer(port, "999999999", "127.0.43.2"))

                try:
                    agent = await _viewer_answer(port, code, "127.0.43.1")
                    assert agent == (RELAY_REDIRECT, f"127.0.0.1:{a.port}".encode())
                    await asyncio.sleep(1.0)  # the stranger goes on past the claim's return
                finally:
                    stop.set()
                    hammering.cancel()
                    await asyncio.gather(hammering, return_exceptions=True)
                # A code nobody holds, once the hold is over, the grace going on.
                assert await free == (RefuseCode.UNKNOWN_SESSION, b"the session directory is"
                                      b" recovering: this code's host may not have registered"
                                      b" again yet")  # fmt: skip
                assert "RELAY_OK" not in said, said
                assert set(said) <= {"BUSY", "CODE_IN_USE", "RATE_LIMITED"}, set(said)
                # (Past its 20 registrations a minute per address it is
                # refused RATE_LIMITED before any claim is looked at.)
                assert "BUSY" in said, said
                client = redis.Redis.from_url(redis_server.url)
                try:
                    held = client.get(f"screencodec:claim:{code}")
                finally:
                    client.close()
                assert held is not None
                assert held.decode().startswith(claim_verifier(code, secret).hex())
                assert held.decode().endswith(f"127.0.0.1:{a.port}")
            finally:
                control[1].close()
                await asyncio.sleep(0)

        run(main(), 60)
    finally:
        a.kill()
        if b is not None:
            b.kill()
