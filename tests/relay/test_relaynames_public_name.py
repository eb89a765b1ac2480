"""The name a cluster is reached by (its load balancer's) among the relays a
viewer names its pair tag to (relay --public-name).

An agent paired through a relay's own address (the host's relay, dialled
directly or redirected to) and later dialling the balancer's name named no
tag there: the balancer's name was in no list (RELAY_OK lists the relays'
--advertise addresses). Found: told "no such session code" when its host
had ended the session (it retries for its whole 60 s). Expected: a relay
started with --public-name lists it too; the agent names the tag there and
is told SESSION_ENDED at once.

Real relays sharing a real redis-server, a real host, real handshakes on
loopback. The balancer's name is ``localhost:PORT`` of the second relay: a
name that resolves to one of the cluster's relays and is none of their
advertised addresses (``127.0.0.1:PORT``), as a balancer's is.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import AccessRefusedError
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import Relay
from screencodec.transport.relay.protocol import CLUSTER_MOST, parse_viewer_ok
from screencodec.transport.relay.redis_directory import RedisDirectory

from .cluster import RedisServer, _wait_for_line, free_port, run, wait_for
from .relay_front import RelayFront


@contextlib.asynccontextmanager
async def _cluster(redis: RedisServer, listed: bool) -> AsyncIterator[tuple[Relay, Relay, str]]:
    """Two relays sharing ``redis`` and the balancer's name,
    ``localhost:<second's port>``, which both list if ``listed``."""
    ports = free_port(), free_port()
    balancer = f"localhost:{ports[1]}"
    started: list[Relay] = []
    try:
        for port in ports:
            relay = Relay("127.0.0.1", port, directory=RedisDirectory(redis.url, timeout=1.0),
                          public_names=(balancer,) if listed else ())
            await relay.start()
            started.append(relay)
        yield started[0], started[1], balancer
    finally:
        for relay in started:
            await relay.close()
            await relay.directory.close()


@pytest.mark.parametrize("listed", [False, True], ids=["without", "with-public-name"])
def test_an_agent_paired_at_a_relays_own_address_names_its_tag_to_the_public_name(
        redis_server: RedisServer, listed: bool) -> None:  # fmt: skip
    """The host at the first relay; the agent pairs through the first's own
    address (and once through a front that records the first's RELAY_OK);
    the host's user ends the session (RELAY_RELEASE: Redis's
    ended:<code>); the agent dials the balancer's name. Without the name
    listed (what was found): "no such session code", retried for 60 s.
    With it: SESSION_ENDED, the host's words."""

    async def main() -> None:
        async with _cluster(redis_server, listed) as (first, second, balancer):
            host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=61), consent=allow())
            creds = SessionCredentials()
            code, password = creds.code, creds.password  # end() forgets them
            reg = await host_via_relay("127.0.0.1", first.port, creds, host.serve)
            try:
                await reg.wait_registered(5)
                async with RelayFront() as front:
                    front.mode, front.upstream = "forward", first.port
                    channel = await connect_via_relay("127.0.0.1", front.port, creds.code,
                                                      creds.password)  # fmt: skip
                    await channel.close()
                told = parse_viewer_ok(front.answers[0][1])[1]
                public = (balancer,) if listed else ()
                assert told == (first.advertise, *public, second.advertise)
                channel = await connect_via_relay("127.0.0.1", first.port, creds.code,
                                                  creds.password)  # fmt: skip
                await channel.close()
                pairing = channel.resume_hold
                assert pairing is not None
                assert (("localhost", second.port) in pairing.names) == listed
                creds.end()  # the host's user ended the session

                async def marked() -> bool:
                    return await second.directory.ended(code) is not None

                await wait_for(marked, 10)
            finally:
                await reg.close()
                await host.close()
            with pytest.raises(AccessRefusedError) as told_agent:
                await connect_via_relay("localhost", second.port, code, password)
            if listed:
                assert told_agent.value.code == RefuseCode.SESSION_ENDED
                assert "the host ended this session" in str(told_agent.value)
            else:
                assert told_agent.value.code == RefuseCode.UNKNOWN_SESSION
                assert "no such session code" in str(told_agent.value)

    run(main(), 60)


@pytest.mark.parametrize(("names", "why"), [
    (["evil host:80"], "not a host name"),
    (["\x1b]0;owned\x07:80"], "not a host name"),
    (["lb.example.net"], "not HOST:PORT"),
    (["lb.example.net:0"], "not HOST:PORT"),
    (["lb.example.net:70000"], "not HOST:PORT"),
    ([f"lb{n}.example.net:7390" for n in range(CLUSTER_MOST)], f"at most {CLUSTER_MOST - 1}"),
    ([f"{'a' * 60}.{'b' * 60}.{'c' * 60}.lb{n}.example:7390" for n in range(5)],
     "do not fit in one RELAY_OK"),
])
def test_public_names_a_viewer_would_not_believe_are_refused_at_start(
        names: list[str], why: str) -> None:  # fmt: skip
    """A list with one entry a viewer does not believe is believed in
    nothing (tests/relay/test_relaytag_cluster.py): a relay must not start
    with one. 15 names fit beside the relay's own address; of names of 200
    bytes the fifth does not (990 bytes are left beside the pair tag and
    the relay's own address)."""
    with pytest.raises(ValueError, match=why):
        Relay(public_names=names)
    assert Relay(public_names=[f"lb{n}.example.net:7390"
                               for n in range(CLUSTER_MOST - 1)]).public_names


def test_cli_relay_lists_its_public_names_and_refuses_a_bad_one_in_one_line() -> None:
    """``screencodec relay --public-name`` (repeatable), a real process: the
    listening line says the names; the viewer it pairs may name its tag to
    them (RELAY_OK's list: its own address, then the names, compared as
    given: lower case, no final dot)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(port), "--bind",
         "127.0.0.1", "--public-name", "Relay.Example.NET.:7390", "--public-name",
         "[::1]:7391"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = _wait_for_line(proc, b"relay listening", 20)
        assert (b"public name Relay.Example.NET.:7390, public name [::1]:7391" in line), line

        async def main() -> None:
            host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=63), consent=allow())
            creds = SessionCredentials()
            reg = await host_via_relay("127.0.0.1", port, creds, host.serve)
            try:
                await reg.wait_registered(5)
                channel = await connect_via_relay("127.0.0.1", port, creds.code,
                                                  creds.password)  # fmt: skip
                await channel.close()
                assert channel.resume_hold is not None
                assert channel.resume_hold.names == {("127.0.0.1", port),
                                                     ("relay.example.net", 7390), ("::1", 7391)}
            finally:
                await reg.close()
                await host.close()

        run(main(), 30)
    finally:
        proc.kill()
        proc.wait(5)
        assert proc.stdout is not None
        proc.stdout.close()
    bad = subprocess.run(
        [sys.executable, "-m", "screencodec", "relay", "--listen", str(free_port()),
         "--bind", "127.0.0.1", "--public-name", "evil_host!:80"],
        capture_output=True, text=True, timeout=20, check=False)
    assert bad.returncode == 2
    assert bad.stderr.startswith("usage: screencodec relay")  # argparse's words (walkfix35b)
    assert bad.stderr.endswith("\nscreencodec relay: error: argument --public-name:"
                               " 'evil_host!:80' is not a host name or IP address and port\n")
