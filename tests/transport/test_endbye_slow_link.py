"""The last Byes besides Host.disconnect's (the viewer's own, a revoke's)
go at once, behind what is queued and ahead of a file going the same way
(close_with): the peer reads the words on a slow link, and a sender whose
peer stopped reading is not held by them.

Real host and viewer, sealed channels over loopback TCP; the slow link is
linkbench's ShapingProxy at 2 Mbit/s, as in test_closeorder_slow_viewer.py.
The file goes unpaced (both sides' announcements have no flags, the version
before paced files, as there): the sender queues what the socket takes, a
megabyte or more, which is what a Bye can wait behind. A peer that stopped
reading is a direct connection whose reading is paused (a proxy would take
what it sends)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.transport import VIEW, Host, HostConfig, Permission, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import CLOSE_CAP, STALL
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import sidechannels
from screencodec.transport.session.files import sender as file_sender
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.messages import Extension

from .secure_fixtures import FAST, both_loops, run

#: 2 Mbit/s: what a sender has queued (1-1.5 MB) takes 4-6 s to cross.
SLOW = Link.symmetric(250_000, 0.02)
#: How soon a close gives up on a peer that stopped reading: its kernel may
#: still take bytes in the first STALL (its receive buffer filling), none in
#: the next (measured: 2.00 s), and a second of slack for a loaded machine.
_GIVEN_UP = 2 * STALL + 1.0


async def _yes(_: object) -> bool:
    return True


@dataclass
class _Session:
    host: Host
    viewer: Viewer
    serve: asyncio.Future[str]  # the host's serve of the viewer: why it ended
    running: asyncio.Future[str]  # the viewer's run

    @property
    def link(self) -> ViewerLink:
        return next(iter(self.host._runtime.serving))


@contextlib.asynccontextmanager
async def _session(tmp: Path, *, slow: bool, max_duration: float | None = None
                   ) -> AsyncIterator[_Session]:  # fmt: skip
    """A host and a viewer that take every file, over :data:`SLOW` (``slow``)
    or a direct connection."""
    host_dir, viewer_dir = tmp / "host", tmp / "viewer"
    host_dir.mkdir()
    viewer_dir.mkdir()
    creds = SessionCredentials()
    host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                file_consent=_yes,
                config=HostConfig(download_dir=host_dir, max_duration=max_duration))  # fmt: skip
    serving: asyncio.Queue[asyncio.Future[str]] = asyncio.Queue()
    listener = await listen_direct(
        "127.0.0.1", 0, creds,
        lambda ch: serving.put_nowait(asyncio.ensure_future(host.serve(ch))), timeouts=FAST)
    proxy = ShapingProxy(listener.port, SLOW) if slow else None
    port = await proxy.start() if proxy is not None else listener.port
    try:
        channel = await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                       timeouts=FAST)  # fmt: skip
        viewer = Viewer(channel, download_dir=viewer_dir, file_consent=_yes)
        await viewer.start(VIEW)
        serve = await asyncio.wait_for(serving.get(), 5)
        running = asyncio.ensure_future(viewer.run())
        try:
            yield _Session(host, viewer, serve, running)
        finally:
            await asyncio.wait_for(asyncio.gather(serve, running, return_exceptions=True), 30)
    finally:
        if proxy is not None:
            await proxy.close()
        await listener.close()
        await host.close()


def _big(tmp: Path) -> Path:
    big = tmp / "big.bin"
    big.write_bytes(os.urandom(16 << 20))
    return big


async def _until(what: object, check: object, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not check():  # type: ignore[operator]
        assert loop.time() < end, what
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sides announce file results without flags: files go unpaced."""
    monkeypatch.setattr(file_sender, "file_results_announcement",
                        lambda: Extension(sidechannels.FILE_RESULTS_CHANNEL, bytes([1])))


@both_loops
def test_a_viewer_leaving_mid_upload_on_a_slow_link_is_read_as_leaving(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    async def main() -> None:
        async with _session(tmp_path, slow=True) as s:
            sending = asyncio.ensure_future(s.viewer.send_file(_big(tmp_path)))
            transport = s.viewer.channel._writer.transport  # type: ignore[attr-defined]
            await _until("the upload under way, a backlog queued",
                         lambda: (s.host.receiving() and s.host.receiving()[0][1] > 0
                                  and transport.get_write_buffer_size() >= 100_000))  # fmt: skip
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.wait_for(s.viewer.bye("the agent left the session"), CLOSE_CAP + 5)
            took = loop.time() - began
            reason = await asyncio.wait_for(s.serve, 30)
            assert reason == "viewer said bye: the agent left the session", took
            assert took <= CLOSE_CAP + 1.5, took
            assert await asyncio.wait_for(s.running, 10) == "channel closed: closed locally"
            await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)

    run(main(), loop_kind=loop_kind, timeout=90)


@both_loops
def test_a_viewer_leaving_mid_upload_to_a_host_that_stopped_reading_is_not_held(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    """Found before: its Bye waited for the send lock behind a chunk the
    host never took (for ever: idle None)."""

    async def main() -> None:
        async with _session(tmp_path, slow=False) as s:
            host_side = s.link.channel._writer.transport  # type: ignore[attr-defined]
            sending = asyncio.ensure_future(s.viewer.send_file(_big(tmp_path)))
            await _until("the upload under way", s.host.receiving)
            host_side.pause_reading()
            transport = s.viewer.channel._writer.transport  # type: ignore[attr-defined]
            await _until("a backlog queued", lambda: transport.get_write_buffer_size() >= 100_000)
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.wait_for(s.viewer.bye("the agent left the session"), 10)
            took = loop.time() - began
            assert took <= _GIVEN_UP, took
            host_side.resume_reading()
            await asyncio.wait_for(asyncio.gather(s.serve, sending, return_exceptions=True), 10)

    run(main(), loop_kind=loop_kind, timeout=60)


@both_loops
def test_a_revoke_mid_download_on_a_slow_link_is_read_as_the_users_stop(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    async def main() -> None:
        async with _session(tmp_path, slow=True) as s:
            peer = s.host.viewers[0]
            sending = asyncio.ensure_future(s.host.send_file(_big(tmp_path), peer))
            transport = s.link.channel._writer.transport  # type: ignore[attr-defined]
            await _until("the download under way, a backlog queued",
                         lambda: (s.viewer.files.receiving()
                                  and s.viewer.files.receiving()[0][1] > 0
                                  and transport.get_write_buffer_size() >= 100_000))  # fmt: skip
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.wait_for(s.host.revoke(VIEW, peer), CLOSE_CAP + 5)
            took = loop.time() - began
            reason = await asyncio.wait_for(s.running, 30)
            assert (reason, s.viewer.link_lost, s.viewer.level) == (
                "host said bye: the local user stopped sharing", False, Permission()), took
            assert took <= CLOSE_CAP + 1.5, took
            # The host's words are its close's reason too (found before: "closed locally").
            assert await asyncio.wait_for(s.serve, 10) == "the local user stopped sharing"
            await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)

    run(main(), loop_kind=loop_kind, timeout=90)


@both_loops
def test_a_revoke_mid_download_to_a_viewer_that_stopped_reading_is_not_held(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    """Found before: the revoke's PermissionRevoke waited for the send lock
    behind a chunk the viewer never took (for ever: idle None), and the
    session went on."""

    async def main() -> None:
        async with _session(tmp_path, slow=False) as s:
            peer = s.host.viewers[0]
            viewer_side = s.viewer.channel._writer.transport  # type: ignore[attr-defined]
            sending = asyncio.ensure_future(s.host.send_file(_big(tmp_path), peer))
            await _until("the download under way", s.viewer.files.receiving)
            viewer_side.pause_reading()
            transport = s.link.channel._writer.transport  # type: ignore[attr-defined]
            await _until("a backlog queued", lambda: transport.get_write_buffer_size() >= 100_000)
            loop = asyncio.get_running_loop()
            began = loop.time()
            await asyncio.wait_for(s.host.revoke(VIEW, peer), 10)
            took = loop.time() - began
            assert took <= _GIVEN_UP, took
            assert s.link.channel.closed
            viewer_side.resume_reading()
            await asyncio.wait_for(asyncio.gather(s.running, sending, return_exceptions=True), 10)

    run(main(), loop_kind=loop_kind, timeout=60)


@both_loops
def test_the_time_limit_mid_download_to_a_viewer_that_stopped_reading_ends_the_session(
        loop_kind: str, tmp_path: Path) -> None:  # fmt: skip
    """HostConfig.max_duration passes while a file is stuck on a viewer that
    stopped reading. Found before: Host.serve's Bye waited for the send lock
    behind the stuck chunk, and the session never ended (idle None)."""
    limit = 4.0

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with _session(tmp_path, slow=False, max_duration=limit) as s:
            began = loop.time()  # the serve began before: its limit passes sooner
            peer = s.host.viewers[0]
            viewer_side = s.viewer.channel._writer.transport  # type: ignore[attr-defined]
            sending = asyncio.ensure_future(s.host.send_file(_big(tmp_path), peer))
            await _until("the download under way", s.viewer.files.receiving)
            viewer_side.pause_reading()
            transport = s.link.channel._writer.transport  # type: ignore[attr-defined]
            await _until("a backlog queued", lambda: transport.get_write_buffer_size() >= 100_000)
            assert loop.time() - began < limit, "the limit passed before the file was stuck"
            reason = await asyncio.wait_for(s.serve, limit + 10)
            took = loop.time() - began
            assert reason == "maximum session duration reached"
            assert took <= limit + _GIVEN_UP, took
            viewer_side.resume_reading()
            await asyncio.wait_for(asyncio.gather(s.running, sending, return_exceptions=True), 10)

    run(main(), loop_kind=loop_kind, timeout=60)
