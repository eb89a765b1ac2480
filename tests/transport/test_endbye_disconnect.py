"""Host.disconnect's end as the viewer reads it without the Bye (the close
record says the host's reason, not "closed locally"), and what it waits
for: a half-received file is gone from the disk when it returns.

Real host and viewer, sealed channels over loopback TCP; the upload's link
is linkbench's ShapingProxy at 50 kB/s (a file still crossing whenever the
test acts); a slow disk is Incoming.remove made slow (or stuck) in the
receiver's disk thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.cli.view import ended_words
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.base import Channel, ChannelTap
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.files.incoming import Incoming
from screencodec.transport.session.host import CLEANUP_WAIT

from .helpers import until
from .secure_fixtures import FAST, both_loops, run
from .test_resume import _granted, _Setup

#: 50 kB/s: a file of megabytes is mid-way whenever the test acts.
TRICKLE = Link.symmetric(50_000, 0.01)


async def _yes(_: object) -> bool:
    return True


class _DeafToBye(ChannelTap):
    """A viewer's channel that never hands its viewer a Bye: what the viewer
    then reads is the close record's reason."""

    async def recv(self) -> bytes:
        while True:
            data = await super().recv()
            if not isinstance(m.decode(data), m.Bye):
                return data


_Joined = tuple[Host, Viewer, "asyncio.Future[str]"]


@contextlib.asynccontextmanager
async def _session(host_dir: Path | None, wrap: type[ChannelTap] | None = None,
                   link: Link | None = None) -> AsyncIterator[_Joined]:  # fmt: skip
    """A host (taking files into ``host_dir``) and a joined viewer running."""
    creds = SessionCredentials()
    host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                file_consent=_yes, config=HostConfig(download_dir=host_dir))  # fmt: skip
    listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)
    proxy = ShapingProxy(listener.port, link) if link is not None else None
    port = await proxy.start() if proxy is not None else listener.port
    try:
        channel: Channel = await connect_direct("127.0.0.1", port, creds.code, creds.password,
                                                timeouts=FAST)  # fmt: skip
        if wrap is not None:
            channel = wrap(channel)
        viewer = Viewer(channel)
        await viewer.start(VIEW)
        running = asyncio.ensure_future(viewer.run())
        try:
            yield host, viewer, running
        finally:
            await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 30)
    finally:
        if proxy is not None:
            await proxy.close()
        await listener.close()
        await host.close()


@pytest.mark.parametrize(("given", "words"), [
    (None, "the host ended the session"),  # disconnect's default, "host ended"
    ("time for lunch", "time for lunch"),
])  # fmt: skip
@both_loops
def test_the_close_record_of_disconnect_says_the_hosts_reason(
        loop_kind: str, given: str | None, words: str) -> None:  # fmt: skip
    """Found before: 'channel closed: closed by peer: closed locally', which
    the viewer's terminal words as 'the host closed the connection'."""

    async def main() -> None:
        async with _session(None, wrap=_DeafToBye) as (host, viewer, running):
            await asyncio.wait_for(
                host.disconnect() if given is None else host.disconnect(reason=given), 15)
            reason = await asyncio.wait_for(running, 15)
            said = "host ended" if given is None else given
            assert (reason, viewer.link_lost) == (f"channel closed: closed by peer: {said}", False)
            assert ended_words(reason) == f"session ended: {words}"

    run(main(), loop_kind=loop_kind, timeout=40)


def _slow_removal(monkeypatch: pytest.MonkeyPatch, hold: threading.Event | None) -> None:
    """The disk thread's removal of a half file waits 0.5 s first (a large
    file unlinked on a loaded disk), or until ``hold`` is set (a disk that
    stopped answering)."""
    remove = Incoming.remove

    def slowly(self: Incoming) -> None:
        if hold is None:
            time.sleep(0.5)
        else:
            hold.wait(30)
        remove(self)

    monkeypatch.setattr(Incoming, "remove", slowly)


async def _half_file(host: Host, viewer: Viewer, tmp: Path) -> asyncio.Future[bool]:
    """The viewer sends a file of 4 MB; returns once some of it is on the host's disk."""
    big = tmp / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    sending = asyncio.ensure_future(viewer.send_file(big))
    loop = asyncio.get_running_loop()
    end = loop.time() + 10
    while not (host.receiving() and host.receiving()[0][1] > 0):
        assert loop.time() < end, "no file under way"
        await asyncio.sleep(0.01)
    return sending


@both_loops
def test_disconnect_returns_once_the_half_received_file_is_gone(
        loop_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Found before: disconnect returned with the part file still there (the
    sessions' cleanup ran after it)."""
    _slow_removal(monkeypatch, None)
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    async def main() -> None:
        async with _session(inbox, link=TRICKLE) as (host, viewer, _):
            sending = await _half_file(host, viewer, tmp_path)
            # The part file is made by the receiver's disk thread, maybe
            # after the first bytes were counted (review34: a flake at load 8).
            await until(lambda: any(inbox.iterdir()), 10, "the part file on the disk")
            await asyncio.wait_for(host.disconnect(), 15)
            assert list(inbox.iterdir()) == []
            assert host.viewers == ()
            await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)

    run(main(), loop_kind=loop_kind, timeout=60)


@both_loops
def test_disconnect_waits_for_a_stuck_disk_no_longer_than_its_bound(
        loop_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    hold = threading.Event()
    _slow_removal(monkeypatch, hold)
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    async def main() -> None:
        try:
            async with _session(inbox, link=TRICKLE) as (host, viewer, _):
                sending = await _half_file(host, viewer, tmp_path)
                loop = asyncio.get_running_loop()
                began = loop.time()
                await asyncio.wait_for(host.disconnect(), CLEANUP_WAIT + 10)
                took = loop.time() - began
                assert CLEANUP_WAIT - 0.5 <= took <= CLEANUP_WAIT + 3.0, took
                hold.set()
                await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)
        finally:
            hold.set()
        assert list(inbox.iterdir()) == []

    run(main(), loop_kind=loop_kind, timeout=60)


def test_disconnect_returns_once_the_sessions_recording_has_ended(tmp_path: Path) -> None:
    """Found before: disconnect returned with the recording still open (its
    worker had not written its end)."""

    async def main() -> None:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            await asyncio.wait_for(s.host.disconnect(), 15)
            finished = [(r.path.name, r.done.is_set()) for r in recorder.finished]
            live = [r.path.name for r in recorder.sessions]
            assert (len(finished), live) == (1, []), (finished, live)
            await asyncio.wait_for(task, 10)
        with RecordingReader(recorder.finished[0].path) as reader:
            assert reader.meta()["reason"] == "ended by the host: host ended"

    run(main(), timeout=40)


@both_loops
def test_a_session_ending_itself_from_its_receive_loop_is_not_held(loop_kind: str) -> None:
    """An extension handler (run by the session's receive loop) that ends its
    own session: disconnect cannot wait for that session's cleanup, which
    comes once the handler returns; it returns once the channel closed."""

    async def main() -> None:
        async with _session(None) as (host, viewer, running):
            took: list[float] = []
            returned = asyncio.Event()

            async def hang_up(peer: str, _: bytes) -> bytes | None:
                began = time.monotonic()
                await host.disconnect(peer, reason="the agent hung up")
                took.append(time.monotonic() - began)
                returned.set()
                return None

            host.register_channel("hangup", hang_up)
            await viewer.send_extension("hangup", b"")
            assert await asyncio.wait_for(running, 15) == "host said bye: the agent hung up"
            await asyncio.wait_for(returned.wait(), 10)
            assert took[0] < 2.0, took

    run(main(), loop_kind=loop_kind, timeout=40)
