"""Host.disconnect with a viewer that is slow but alive: the viewer must read
the host's Bye ("ended by the host"), never a lost link (which makes it try
to resume, and its user reads "connection lost").

Real host and viewer, sealed channels over loopback TCP through a shaping
proxy (linkbench's ShapingProxy) at 2 Mbit/s. What fills the host's side of
the connection is a file to a viewer of the version before paced files (its
announcement has no flags, as in test_attack_close_disconnect_stalled.py):
the host sends it as fast as the socket takes it, so a megabyte or more is
queued in asyncio's buffer and the kernel's when the host's user ends the
session. Screen updates cannot do it (measured: the flow control keeps the
host's queue under 10 kB on a 0.8-4 Mbit/s link with a 1280x800 'video'
screen), nor can a paced file (its window follows the queue's delay).

Found before the fix: the Bye waited behind the chunk being sent for a fixed
1.0 s and was never written; the close's RECORD_CLOSE drained within 1.0 s
or the connection was aborted; and the close's linger ended after 2 s while
the kernel still held half a megabyte: the host closed its socket with the
viewer's data unread, the kernel reset the connection and dropped the rest.
The viewer read "stream truncated inside a frame" (link_lost True)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import CLOSE_CAP
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import sidechannels
from screencodec.transport.session.files import sender as file_sender
from screencodec.transport.session.messages import Extension

from .secure_fixtures import FAST, both_loops, run

#: 2 Mbit/s: what the host has queued (1-1.5 MB) takes 4-6 s to cross.
SLOW = Link.symmetric(250_000, 0.02)


@both_loops
def test_disconnect_of_a_slow_viewer_mid_file_tells_it_the_host_ended(
        loop_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(file_sender, "file_results_announcement",
                        lambda: Extension(sidechannels.FILE_RESULTS_CHANNEL, bytes([1])))

    async def main() -> None:
        creds = SessionCredentials()
        host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                    config=HostConfig())
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)
        proxy = ShapingProxy(listener.port, SLOW)
        await proxy.start()
        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp) / "big.bin"
            big.write_bytes(b"\x5a" * (16 << 20))
            down = Path(tmp) / "down"
            down.mkdir()
            channel = await connect_direct("127.0.0.1", proxy.port, creds.code,
                                           creds.password, timeouts=FAST)

            async def yes(_: object) -> bool:
                return True

            viewer = Viewer(channel, download_dir=down, file_consent=yes)
            await viewer.start()
            running = asyncio.ensure_future(viewer.run())
            loop = asyncio.get_running_loop()
            end = loop.time() + 10
            while not host.viewers:
                assert loop.time() < end, "no session"
                await asyncio.sleep(0.01)
            sending = asyncio.ensure_future(host.send_file(big, host.viewers[0]))
            link = next(iter(host._runtime.serving))
            transport = link.channel._writer.transport
            # The viewer is alive and taking the file (bytes of it written
            # there), and the host has a backlog in asyncio's buffer.
            while not (viewer.files.receiving() and viewer.files.receiving()[0][1] > 0
                       and transport.get_write_buffer_size() >= 100_000):  # fmt: skip
                assert loop.time() < end, (viewer.files.receiving(),
                                           transport.get_write_buffer_size())  # fmt: skip
                await asyncio.sleep(0.01)
            start = loop.time()
            await asyncio.wait_for(host.disconnect(), CLOSE_CAP + 5)
            took = loop.time() - start
            reason = await asyncio.wait_for(running, 30)
            # Found before the fix: 'channel closed: stream truncated inside
            # a frame', link_lost True, host_bye None.
            assert (reason, viewer.link_lost, viewer.host_bye) == (
                "host said bye: host ended", False, "host ended")
            assert took <= CLOSE_CAP + 1.5, took  # bounded even so
            await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)
        await proxy.close()
        await listener.close()
        await host.close()

    run(main(), loop_kind=loop_kind, timeout=60)
