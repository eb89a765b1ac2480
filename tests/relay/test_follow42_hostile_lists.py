"""follow42, attacked: an agent whose relay cannot be reached dials the
other relays its pairing's RELAY_OK listed. That list is untrusted input.

Expected: from a relay elsewhere (not this machine), this machine's
addresses (loopback, ``localhost``, the wildcard) are never dialled; a list
of 17 is not believed at all (nothing dialled); 16 (the relay's own and 15
others) are each dialled once an attempt, no more; relays that take the
connection and never answer do not keep the agent dialling past its
reconnect limit.

A real relay process (one for the module) and host registrations on loopback; the agent reaches
the relay through a proxy played by the test at this machine's other
address (192.0.2.2 here: a relay "elsewhere", as connect/via_relay sees
it), which rewrites the cluster list of RELAY_OK; then the proxy goes
(nothing listens there) and the agent reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Coroutine, Iterator

import pytest

from screencodec.errors import TransportError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import FrameType, encode_frame, read_frame
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.connect.via_relay import RelayChannel, RelayRegistration
from screencodec.transport.relay.protocol import TOKEN_SIZE

from .cluster import RedisServer, RelayProcess, run
from .test_failover42_host_moves import FAST


def _elsewhere() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.123", 9))  # no packet sent: picks the outgoing address
        address = str(s.getsockname()[0])
        return None if address.startswith("127.") else address
    return None


ELSEWHERE = _elsewhere()
pytestmark = pytest.mark.skipif(ELSEWHERE is None, reason="no address but loopback")


def _cluster(*entries: str) -> bytes:
    """A RELAY_OK cluster field listing ``entries`` (the count not checked)."""
    return bytes([1, len(entries)]) + b"".join(
        bytes([len(e)]) + e.encode() for e in entries)  # fmt: skip


class _Proxy:
    """The relay at ``where`` (ELSEWHERE): passes each connection on to the
    real relay, with RELAY_OK's cluster replaced by ``cluster`` (None: as
    the relay told it)."""

    def __init__(self, relay_port: int, where: str | None = ELSEWHERE) -> None:
        self.relay_port = relay_port
        self.where = where or ""
        self.cluster: bytes | None = b""
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    @property
    def own(self) -> str:
        return f"{self.where}:{self.port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, self.where, 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.relay_port)
        self.writers += [writer, up_w]
        with contextlib.suppress(Exception):
            up_w.write(encode_frame(*await read_frame(reader, 1024)))
            ftype, body = await read_frame(up_r, 1024)
            if ftype == FrameType.RELAY_OK and self.cluster is not None:
                body = body[:TOKEN_SIZE] + self.cluster
            writer.write(encode_frame(ftype, body))
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))
        writer.close()
        up_w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()


class _Listener:
    """Counts the connections made to it; each closed at once, or (``silent``)
    held open without a word."""

    def __init__(self, host: str, silent: bool = False) -> None:
        self.host, self.silent = host, silent
        self.count = 0
        self.held: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> _Listener:
        self.server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = int(self.server.sockets[0].getsockname()[1])
        _LISTENERS.append(self)
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.count += 1
        if self.silent:
            self.held.append(writer)
        else:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.held:
            writer.transport.abort()
        await self.server.wait_closed()


async def _paired_then_gone(relay: RelayProcess,
                            cluster: list[str]) -> tuple[_Proxy, str, str]:  # fmt: skip
    """A host at ``relay``, an agent paired through the proxy told
    ``cluster`` (``{own}`` for the proxy's address), then the proxy gone."""
    proxy = _Proxy(relay.port)
    await proxy.start()
    proxy.cluster = _cluster(*(e.format(own=proxy.own) for e in cluster))
    creds = SessionCredentials()
    reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                               timeouts=FAST, follow_cluster=False)  # fmt: skip
    _HOSTS.append(reg)
    await reg.wait_registered(10)
    channel = await connect_via_relay(ELSEWHERE or "", proxy.port, creds.code, creds.password,
                                      timeouts=FAST)  # fmt: skip
    _HOLD.append(channel)  # its pairing lives as long as something holds it
    await proxy.stop()
    return proxy, creds.code, creds.password


@pytest.fixture(scope="module")
def relay() -> Iterator[RelayProcess]:
    """The real relay the four tests' hosts register at and their agents pair
    through (time49c: one process for the module; each test has its own
    code, proxy and listeners, and closes its hosts and channels)."""
    redis_server = RedisServer()
    redis_server.start()
    try:
        started = RelayProcess(redis_server, 15.0)
        try:
            yield started
        finally:
            started.kill()
    finally:
        redis_server.stop()


_HOSTS: list[RelayRegistration] = []
_HOLD: list[RelayChannel] = []
_LISTENERS: list[_Listener] = []


async def _close_all() -> None:
    for held in _HOLD:
        await held.close()
    for reg in _HOSTS:
        await reg.close()
    for listener in _LISTENERS:
        await listener.stop()
    _HOLD.clear()
    _HOSTS.clear()
    _LISTENERS.clear()
    await asyncio.sleep(0)  # the closed transports' sockets close


async def _closing(test: Coroutine[None, None, None]) -> None:
    try:
        await test
    finally:
        await _close_all()


def test_a_relay_elsewhere_cannot_make_the_agent_dial_this_machine(
        relay: RelayProcess) -> None:  # fmt: skip
    async def main() -> None:
        local = [_Listener("127.0.0.1") for _ in range(3)]
        remote = _Listener(ELSEWHERE or "")
        cluster = ["{own}", "127.0.0.1:{l0}", "localhost:{l1}", "0.0.0.0:{l2}",
                   f"{ELSEWHERE}:{{r}}"]
        for listener in [*local, remote]:
            await listener.start()
        ports = {f"l{i}": x.port for i, x in enumerate(local)} | {"r": remote.port}
        cluster = [c.format(own="{own}", **ports) for c in cluster]
        proxy, code, password = await _paired_then_gone(relay, cluster)
        with pytest.raises(TransportError) as failed:
            await connect_via_relay(ELSEWHERE or "", proxy.port, code, password,
                                    timeouts=FAST)
        assert [x.count for x in local] == [0, 0, 0]
        assert remote.count == 1  # the list was followed, but not onto loopback
        assert str(failed.value).endswith(
            f"; nor the other relay of its cluster ({ELSEWHERE}:{remote.port})")

    run(_closing(main()), 60)


def test_a_list_of_17_is_not_followed_and_16_at_most_once_each(
        relay: RelayProcess) -> None:  # fmt: skip
    async def main() -> None:
        many = [_Listener(ELSEWHERE or "") for _ in range(16)]
        for listener in many:
            await listener.start()
        # 17: the relay's own and 16 others: not believed at all.
        proxy, code, password = await _paired_then_gone(
            relay, ["{own}", *(f"{ELSEWHERE}:{x.port}" for x in many)])
        with pytest.raises(TransportError) as failed:
            await connect_via_relay(ELSEWHERE or "", proxy.port, code, password,
                                    timeouts=FAST)
        assert "other relay" not in str(failed.value)
        assert sum(x.count for x in many) == 0
        # 16: the relay's own and 15 others: each dialled once.
        proxy, code, password = await _paired_then_gone(
            relay, ["{own}", *(f"{ELSEWHERE}:{x.port}" for x in many[:15])])
        with pytest.raises(TransportError) as failed:
            await connect_via_relay(ELSEWHERE or "", proxy.port, code, password,
                                    timeouts=FAST)
        assert "nor any of the 15 other relays of its cluster" in str(failed.value)
        assert [x.count for x in many] == [1] * 15 + [0]

    run(_closing(main()), 60)


def test_relays_that_never_answer_do_not_keep_the_agent_dialling(
        relay: RelayProcess) -> None:  # fmt: skip
    async def main() -> None:
        silent = [_Listener(ELSEWHERE or "", silent=True) for _ in range(3)]
        for listener in silent:
            await listener.start()
        proxy, code, password = await _paired_then_gone(
            relay, ["{own}", *(f"{ELSEWHERE}:{x.port}" for x in silent)])
        with pytest.raises((TransportError, asyncio.TimeoutError)):
            await reconnect(lambda: connect_via_relay(ELSEWHERE or "", proxy.port, code,
                                                      password, timeouts=FAST),
                            within=1.0)  # fmt: skip
        # The reconnect's limit held (run's 60 s too): one attempt, cut at
        # its least time (ATTEMPT_AT_LEAST), the first silent relay still
        # waited on, no other dialled.
        assert silent[0].count == 1 and silent[2].count == 0

    run(_closing(main()), 60)


def test_an_agent_through_a_proxy_that_is_cut_does_not_go_around_it(
        relay: RelayProcess) -> None:  # fmt: skip
    """The relay's list names its own --advertise first: the same relay by
    another path. An agent that reached it through a proxy (a tunnel, a
    port forward) that is cut must not dial it around the proxy (found:
    test_ends36_host_end_relay's agent, whose proxy keeps refusing, got
    back in at the relay's own port, and was asked again)."""
    async def main() -> None:
        proxy = _Proxy(relay.port, "127.0.0.1")
        await proxy.start()
        proxy.cluster = None  # the relay's own list: itself alone
        creds = SessionCredentials()
        reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                                   timeouts=FAST)  # fmt: skip
        _HOSTS.append(reg)
        await reg.wait_registered(10)
        channel = await connect_via_relay("127.0.0.1", proxy.port, creds.code,
                                          creds.password, timeouts=FAST)  # fmt: skip
        _HOLD.append(channel)
        assert channel.resume_hold is not None
        assert channel.resume_hold.names == {("127.0.0.1", relay.port)}
        await proxy.stop()
        with pytest.raises(TransportError) as failed:
            await connect_via_relay("127.0.0.1", proxy.port, creds.code, creds.password,
                                    timeouts=FAST)  # fmt: skip
        assert str(failed.value).startswith(f"cannot reach 127.0.0.1:{proxy.port}: ")
        assert "other relay" not in str(failed.value)

    run(_closing(main()), 60)
