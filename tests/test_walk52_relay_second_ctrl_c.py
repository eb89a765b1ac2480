"""walk52: ``screencodec relay`` in a terminal, stopped with Ctrl-C while
two agents watched through it (to restart it): it printed ``draining (up
to 30 s)`` and then nothing for 30 s; a second Ctrl-C did nothing at all,
and the relay started again in the same terminal had to wait for it.

Expected: the drain line says what a second Ctrl-C does, and a second
Ctrl-C cuts the sessions still open at once (their agents reconnect and
the hosts reclaim their codes, as after the drain's own deadline) and the
relay exits, status 130 (interrupted, as ``host`` and ``view`` say it).

A real relay process; a real host's registration and a viewer paired
through it on a loop of their own thread."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

from free_port import free_port
from loop_thread import LoopThread
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from warm_start import warm_popen

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


def _read_until(proc: subprocess.Popen[bytes], needle: str, timeout: float = 20) -> str:
    assert proc.stdout is not None
    fd, seen = proc.stdout.fileno(), ""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} in time: {seen!r}"
        if select.select([fd], [], [], min(left, 0.5))[0]:
            chunk = os.read(fd, 4096)
            assert chunk, f"ended before {needle!r}: {seen!r}"
            seen += chunk.decode(errors="replace")
    return seen


def test_a_second_ctrl_c_cuts_the_drain_short() -> None:
    port = free_port()
    relay = warm_popen([sys.executable, "-m", "screencodec", "relay", "--listen", str(port),
                        "--bind", "127.0.0.1"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)  # fmt: skip
    creds = SessionCredentials()
    try:
        _read_until(relay, "relay listening on")
        with LoopThread() as loop:
            accepted: asyncio.Queue[SecureChannel] = asyncio.Queue()

            async def pair() -> tuple[Any, SecureChannel, SecureChannel]:
                reg = await host_via_relay("127.0.0.1", port, creds, accepted.put_nowait,
                                           timeouts=FAST, ping_interval=0.3, backoff_max=0.3)
                await reg.wait_registered(10)
                viewer = await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                                 timeouts=FAST)  # fmt: skip
                return reg, viewer, await asyncio.wait_for(accepted.get(), 10)

            reg, viewer, host = loop.call(pair())
            try:
                relay.send_signal(signal.SIGINT)
                said = _read_until(relay, "draining")
                if "\n" not in said.split("draining", 1)[1]:
                    said += _read_until(relay, "\n")
                # Found: "draining (up to 30 s)" alone, and 30 s of nothing.
                assert "Ctrl-C again" in said, said
                time.sleep(0.5)
                relay.send_signal(signal.SIGINT)
                began = time.monotonic()
                out, err = relay.communicate(timeout=25)
                took = time.monotonic() - began
            finally:
                loop.call(viewer.close())
                loop.call(host.close())
                loop.call(reg.close())
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.communicate()
    # Found: the relay went on until the drain's 30 s deadline.
    assert took < 10, (took, said, out, err)
    assert relay.returncode == 130, (relay.returncode, out, err)
    assert "cut" in out.decode(), out
    assert "event=drain_done cut=1" in err.decode(), err
