"""relay44 (review43 found, left): a host registration whose connection
resets while the relay awaits Redis for the claim.

The host is registered at relay B. An attempt of its own at relay A (the
host's staggered race gives up on a slow relay with a reset) sends its
RELAY_OPEN; A counts it (Redis answers) and sends the claim, which is held
on its way to Redis (a proxy in front of the real redis-server holds the
bytes naming the code's claim key: a slow Redis for that one call; a
SIGSTOP of Redis held the count too, and the relay's check after it, the
review43 fix, caught the reset there); the attempt resets; the claim goes
through: a move (the same verifier), naming A.

Found (main): the claim named A, which holds nothing, until B's next
heartbeat (claim_ttl / 3), and a viewer dialling A was told "no such session
code" meanwhile. Expected: A gives the claim back to B once it sees the
registration gone, and a viewer dialling A is redirected to B.

Real ``screencodec relay`` processes sharing a real redis-server, a real host
registration at B, real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import host_via_relay
from screencodec.transport.relay.protocol import ROLE_HOST_CONTROL, encode_open

from .cluster import RedisServer, RelayProcess, run, wait_for
from .test_failover42_host_moves import FAST
from .test_review43_stopped_relay_wakes import _claim, _samples


class _HoldingRedisProxy:
    """Forwards TCP to a redis-server (threads: the relays are processes
    started before the test's loop runs); once ``hold(needle)`` is called,
    a chunk from a relay holding ``needle`` is kept (and all that follows on
    its connection) until :meth:`release`."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.needle: bytes | None = None
        self.holding = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._socks: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self, needle: bytes) -> None:
        self.needle = needle
        self._go.clear()

    def release(self) -> None:
        self.needle = None
        self._go.set()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                down, _ = self._listener.accept()
                up = socket.create_connection(("127.0.0.1", self.target))
                self._socks += [down, up]
                threading.Thread(target=self._pipe, args=(down, up, True), daemon=True).start()
                threading.Thread(target=self._pipe, args=(up, down, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        held = False
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                if up and self.needle is not None and self.needle in chunk:
                    held = True
                    self.holding.set()
                if held:
                    self._go.wait()
                dst.sendall(chunk)
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._go.set()
        for sock in self._socks:
            sock.close()


def test_relay44_a_registration_reset_during_its_claim_gives_the_code_back(
    redis_server: RedisServer,
) -> None:
    # claim_ttl 30: B renews every 10 s, so the window (up to B's next
    # heartbeat) is seen by the samples below.
    proxy = _HoldingRedisProxy(redis_server.port)
    first = RelayProcess(redis_server, 30.0, url=f"redis://127.0.0.1:{proxy.port}/0")
    second = RelayProcess(redis_server, 30.0)
    a, b = f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"
    try:

        async def main() -> tuple[list[str], list[str]]:
            creds = SessionCredentials()
            reg = await host_via_relay(
                "127.0.0.1", second.port, creds, lambda ch: None, timeouts=FAST
            )
            try:
                await reg.wait_registered(10)
                assert _claim(redis_server, creds.code).endswith(b)
                proxy.hold(f"screencodec:claim:{creds.code}".encode())
                sock = socket.create_connection(("127.0.0.1", first.port))
                sock.sendall(encode_open(ROLE_HOST_CONTROL, creds.code, reg._secret))
                await wait_for(proxy.holding.is_set, 5)  # A awaits Redis for the claim
                # Reset (RST, not FIN): the host's race giving up on A.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
                await asyncio.sleep(0.3)
                proxy.release()
                await wait_for(lambda: "unregistered" in first.output(), 10)
                # 4 s, inside B's 10 s heartbeat
                held, answers = await _samples(redis_server, first.port, creds.code, 8)
                claims = [c.rsplit(" ", 1)[-1] for c in held]
                assert reg.relay_port == second.port and reg.state == "registered"
                return claims, answers
            finally:
                await reg.close()

        claims, answers = run(main(), 90)
        assert all(c == b for c in claims), (claims, a)
        assert set(answers) == {"RELAY_REDIRECT"}, answers
        log = first.output()
        assert "claim=reclaimed" not in log, log  # A never served it
        assert "unexpected error" not in log, log
    finally:
        proxy.close()
        for relay in (first, second):
            if relay.proc.poll() is None:
                relay.kill()
