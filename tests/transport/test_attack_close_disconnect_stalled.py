"""Host.disconnect while a viewer that stopped reading holds the host's send
buffer full (a file transfer) finishes in bound: its Bye waited behind the
stuck chunk until Timeouts.idle (or for ever with idle=None).

The viewer is of the version before paced files (its announcement has no
flags): to a pacing peer the host sends no more than its window, and a
stalled viewer never fills the buffer (tests/transport/test_file_pacing.py)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import sidechannels
from screencodec.transport.session.files import sender as file_sender
from screencodec.transport.session.messages import Extension

from .secure_fixtures import FAST, both_loops, run


@both_loops
def test_disconnect_of_a_stalled_viewer_mid_file_finishes_in_bound(
        loop_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(file_sender, "file_results_announcement",
                        lambda: Extension(sidechannels.FILE_RESULTS_CHANNEL, bytes([1])))

    async def main() -> None:
        creds = SessionCredentials()
        host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                    config=HostConfig())
        serving: asyncio.Queue[asyncio.Task[str]] = asyncio.Queue()
        listener = await listen_direct(
            "127.0.0.1", 0, creds,
            lambda ch: serving.put_nowait(asyncio.ensure_future(host.serve(ch))), timeouts=FAST)
        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp) / "big.bin"
            big.write_bytes(b"\x5a" * (64 << 20))
            down = Path(tmp) / "down"
            down.mkdir()
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password, timeouts=FAST)

            async def yes(_: object) -> bool:
                channel._writer.transport.pause_reading()  # accepts, then stalls
                return True

            viewer = Viewer(channel, download_dir=down, file_consent=yes)
            await viewer.start()
            serve = await serving.get()
            running = asyncio.ensure_future(viewer.run())
            sending = asyncio.ensure_future(host.send_file(big, host.viewers[0]))
            link = next(iter(host._runtime.serving))
            loop = asyncio.get_running_loop()
            end = loop.time() + 5
            while link.channel._writer.transport.get_write_buffer_size() < 100_000:
                buffered = link.channel._writer.transport.get_write_buffer_size()
                assert loop.time() < end, (buffered, sending)
                await asyncio.sleep(0.01)
            start = loop.time()
            await asyncio.wait_for(host.disconnect(), 10)  # hangs today (idle=None: forever)
            assert loop.time() - start <= (FAST.linger or 0) + 2.0
            channel._writer.transport.resume_reading()
            await asyncio.wait_for(asyncio.gather(serve, running, sending,
                                                  return_exceptions=True), 10)
        await listener.close()
        await host.close()

    run(main(), loop_kind=loop_kind, timeout=40)
