"""endleft: the viewer's Bye when the host's screen grows over its
``max_pixels`` mid-session goes as ``Viewer.bye``'s does (close_with: at
once, behind what is queued, ahead of a file's next chunk). Found before:
it was an ordinary send, which waited for the send lock behind an upload's
chunk; to a host that stopped reading, for good (``Timeouts.idle`` None),
and ``run()`` never returned.

Real host and viewer, sealed channels over loopback TCP, as in
test_endbye_slow_link.py (whose helpers this uses): the host's source grows
from 160x120 to 320x240 when the test says; the viewer takes 160x120."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture.base import SourceWrapper
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import CLOSE_CAP
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import sidechannels
from screencodec.transport.session.files import sender as file_sender
from screencodec.transport.session.messages import Extension

from .secure_fixtures import FAST, both_loops, run
from .test_endbye_slow_link import _GIVEN_UP, SLOW, _until, _yes

OVER = "the host's screen is 320x240, over this viewer's limit of 19200 pixels"


class _Growing(SourceWrapper):
    """160x120 until ``grown``, then 320x240 (a monitor plugged in)."""

    def __init__(self) -> None:
        super().__init__(SyntheticDesktop(160, 120, scenario="idle", seed=1))
        self.big = SyntheticDesktop(320, 240, scenario="idle", seed=1)
        self.grown = False

    @property
    def width(self) -> int:
        return self.big.width if self.grown else self.inner.width

    @property
    def height(self) -> int:
        return self.big.height if self.grown else self.inner.height

    def grab(self) -> npt.NDArray[np.uint8]:
        return self.big.grab() if self.grown else self.inner.grab()


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sides announce file results without flags: files go unpaced
    (the sender queues what the socket takes, which a Bye can wait behind)."""
    monkeypatch.setattr(file_sender, "file_results_announcement",
                        lambda: Extension(sidechannels.FILE_RESULTS_CHANNEL, bytes([1])))


async def _over_the_limit_mid_upload(tmp: Path, *, slow: bool) -> tuple[str, str, float]:
    """The viewer uploads 16 MB; once a backlog is queued (and, not ``slow``,
    the host stopped reading), the host's screen grows. Returns what the
    viewer's run() and the host's serve returned, and the seconds from the
    growth to the viewer's end."""
    from screencodec.linkbench.shaper import ShapingProxy

    host_dir, viewer_dir = tmp / "host", tmp / "viewer"
    host_dir.mkdir()
    viewer_dir.mkdir()
    big = tmp / "big.bin"
    big.write_bytes(os.urandom(16 << 20))
    source = _Growing()
    creds = SessionCredentials()
    host = Host(source, consent=allow(), file_consent=_yes,
                config=HostConfig(download_dir=host_dir))  # fmt: skip
    serving: asyncio.Queue[asyncio.Future[str]] = asyncio.Queue()
    listener = await listen_direct(
        "127.0.0.1", 0, creds,
        lambda ch: serving.put_nowait(asyncio.ensure_future(host.serve(ch))), timeouts=FAST)
    proxy = ShapingProxy(listener.port, SLOW) if slow else None
    port = await proxy.start() if proxy is not None else listener.port
    loop = asyncio.get_running_loop()
    try:
        channel = await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                       timeouts=FAST)  # fmt: skip
        viewer = Viewer(channel, download_dir=viewer_dir, file_consent=_yes, max_pixels=160 * 120)
        await viewer.start(VIEW)
        serve = await asyncio.wait_for(serving.get(), 5)
        running = asyncio.ensure_future(viewer.run())
        await _until("the first picture", lambda: viewer.decoded >= 1)
        link = next(iter(host._runtime.serving))
        host_side = link.channel._writer.transport  # type: ignore[attr-defined]
        sending = asyncio.ensure_future(viewer.send_file(big))
        await _until("the upload under way", host.receiving)
        if not slow:
            host_side.pause_reading()
        transport = viewer.channel._writer.transport  # type: ignore[attr-defined]
        await _until("a backlog queued", lambda: transport.get_write_buffer_size() >= 100_000)
        source.grown = True
        began = loop.time()
        told = await asyncio.wait_for(asyncio.shield(running), CLOSE_CAP + 10)
        took = loop.time() - began
        host_side.resume_reading()
        reason = await asyncio.wait_for(serve, 30)
        await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)
        return told, reason, took
    finally:
        if proxy is not None:
            await proxy.close()
        await listener.close()
        await host.close()


@both_loops
def test_a_screen_over_the_limit_mid_upload_to_a_host_that_stopped_reading_ends_the_session(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    told, _, took = run(_over_the_limit_mid_upload(tmp_path, slow=False),
                        loop_kind=loop_kind, timeout=60)  # fmt: skip
    assert told == OVER
    # The bigger picture comes within a second; the close gives up on the host then.
    assert took <= _GIVEN_UP + 1.0, took


@both_loops
def test_a_screen_over_the_limit_mid_upload_on_a_slow_link_is_read_by_the_host(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    told, reason, took = run(_over_the_limit_mid_upload(tmp_path, slow=True),
                             loop_kind=loop_kind, timeout=90)  # fmt: skip
    assert (told, reason) == (OVER, f"viewer said bye: {OVER}"), took
    assert took <= CLOSE_CAP + 2.0, took
