"""A poor link: everything still arrives, whole and in order.

Two ways: a user-space proxy that delays and fragments every write (runs
anywhere), and, as root with iproute2, a real kernel-shaped link in a network
namespace of its own (netem delay + loss where the kernel has sch_netem,
otherwise a tbf bandwidth limit), removed again afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import Relay

from .secure_fixtures import FAST, FrameProxy, direct_pair, run


def _payloads(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * (1 + (i * 7919) % 3000) for i in range(n)]


async def _exchange(a: SecureChannel, b: SecureChannel, n: int) -> None:
    import asyncio

    msgs = _payloads(n)

    async def send_all(ch: SecureChannel) -> None:
        for m in msgs:
            await ch.send(m)

    async def recv_all(ch: SecureChannel) -> None:
        for m in msgs:
            assert await ch.recv() == m

    await asyncio.gather(send_all(a), send_all(b), recv_all(a), recv_all(b))


def test_delaying_fragmenting_proxy_direct() -> None:
    async def main() -> None:
        proxy: list[FrameProxy] = []

        async def via(port: int) -> int:
            proxy.append(FrameProxy(port, delay=0.001, fragment=True, seed=7))
            return await proxy[0].start()

        try:
            async with direct_pair(via=via) as (viewer, host, _):
                await _exchange(viewer, host, 80)
        finally:
            await proxy[0].close()

    run(main(), timeout=40)


def test_delaying_fragmenting_proxy_through_relay() -> None:
    async def main() -> None:
        import asyncio

        creds = SessionCredentials()
        accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()
        async with (
            Relay() as relay,
            await host_via_relay(
                "127.0.0.1", relay.port, creds, accepted.put_nowait, timeouts=FAST
            ) as reg,
        ):
            await reg.wait_registered(5)
            proxy = FrameProxy(relay.port, delay=0.001, fragment=True, seed=3)
            port = await proxy.start()
            try:
                viewer = await connect_via_relay(
                    "127.0.0.1", port, creds.code, creds.password, timeouts=FAST
                )
                host = await asyncio.wait_for(accepted.get(), 5)
                await _exchange(viewer, host, 60)
                await viewer.close()
                await host.close()
            finally:
                await proxy.close()

    run(main(), timeout=40)


_NETNS_SCRIPT = textwrap.dedent("""
    import asyncio, sys, time
    from screencodec.transport.channel.codes import SessionCredentials
    from screencodec.transport.connect import connect_direct, listen_direct
    from screencodec.transport.channel.limits import Timeouts

    T = Timeouts(handshake=20, idle=None, keepalive=None)
    MSGS = [i.to_bytes(4, "big") * (1 + (i * 7919) % 3000) for i in range(60)]

    async def main():
        creds = SessionCredentials()
        q = asyncio.Queue()
        listener = await listen_direct("127.0.0.1", 0, creds, q.put_nowait, timeouts=T)
        t0 = time.monotonic()
        viewer = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                      timeouts=T)
        host = await q.get()
        async def send(): [await viewer.send(m) for m in MSGS]
        async def recv():
            for m in MSGS:
                assert await host.recv() == m
        await asyncio.gather(send(), recv())
        print(f"OK {time.monotonic() - t0:.2f}s")
        await viewer.close(); await host.close(); await listener.close()

    asyncio.run(main())
""")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


@pytest.mark.skipif(
    not hasattr(os, "geteuid")
    or os.geteuid() != 0
    or not shutil.which("ip")
    or not shutil.which("tc"),
    reason="needs root and iproute2",
)
def test_kernel_shaped_link_in_a_network_namespace() -> None:
    ns = f"sctest-{uuid.uuid4().hex[:8]}"
    if _ip("netns", "add", ns, check=False).returncode != 0:
        pytest.skip("cannot create network namespaces here")
    try:
        # An Ethernet-sized MTU: loopback's 64 KiB packets would exceed tbf's burst.
        _ip("-n", ns, "link", "set", "lo", "up", "mtu", "1500")
        shaped = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "tc",
                "qdisc",
                "add",
                "dev",
                "lo",
                "root",
                "netem",
                "delay",
                "15ms",
                "5ms",
                "loss",
                "3%",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if shaped.returncode != 0:  # kernel without sch_netem: a slow link instead
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    "lo",
                    "root",
                    "tbf",
                    "rate",
                    "2mbit",
                    "burst",
                    "16kb",
                    "latency",
                    "300ms",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", _NETNS_SCRIPT],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.startswith("OK")
    finally:
        # Only processes inside our own namespace: the ones this test started.
        for pid in _ip("netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        _ip("netns", "del", ns, check=False)
    assert ns not in _ip("netns", "list").stdout
