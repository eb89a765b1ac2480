"""The sender of a file learns what became of it (docs/transport.md, "File
results"). Before, a file the receiver accepted but could not save (its disk
full, its folder removed meanwhile) was removed there and reported to the
receiver's own user only: the sender's side said "sent". Real host and viewer
over sealed channels on loopback. Expected outcome: "delivered" only once the
receiver saved it, "failed: <why>" otherwise, and with a peer of the previous
version (which announces nothing and refuses a FileResult) the session goes
on and the file is reported sent, unconfirmed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session import viewer as viewer_module
from screencodec.transport.session.events import ChatReceived, FileRefused, FileSent
from screencodec.transport.session.sidechannels import FileConsent, FileOfferInfo, FileSender

from .helpers import until
from .secure_fixtures import run
from .test_attack3_file_space import _file_size_limit

KiB = 1024


async def _grant(request: ConsentRequest) -> Grant:
    return Grant(request.level)


async def _yes(info: FileOfferInfo) -> bool:
    return True


@contextlib.asynccontextmanager
async def _pair(host_dir: Path, viewer_dir: Path, *, host_says: FileConsent = _yes,
                viewer_says: FileConsent = _yes,
                scenario: str = "idle") -> AsyncIterator[tuple[Host, Viewer]]:  # fmt: skip
    """A host and a viewer in session, each saying yes to every file (or
    what ``host_says`` and ``viewer_says`` answer); the host's screen the
    synthetic ``scenario``."""
    host = Host(SyntheticDesktop(96, 64, scenario=scenario, seed=1), consent=_grant,
                file_consent=host_says, config=HostConfig(download_dir=host_dir))  # fmt: skip
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel, who="Alice", download_dir=viewer_dir, file_consent=viewer_says)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        try:
            yield host, viewer
        finally:
            await viewer.bye("done")
            await task


async def _alive(host: Host, viewer: Viewer) -> None:
    """The session goes on: a chat line reaches the host."""
    events = host.events()
    await viewer.chat("still here")
    async for ev in events:
        if isinstance(ev, ChatReceived):
            assert ev.text == "still here"
            return


async def _refused(events: AsyncIterator[object]) -> list[FileRefused]:
    """The first FileRefused event: what the receiver's own user is told."""
    async for ev in events:
        if isinstance(ev, FileRefused):
            return [ev]
    return []


def _dirs(tmp_path: Path) -> tuple[Path, Path]:
    host_dir, viewer_dir = tmp_path / "host-in", tmp_path / "viewer-in"
    host_dir.mkdir()
    viewer_dir.mkdir()
    return host_dir, viewer_dir


def test_a_file_the_host_saved_is_reported_delivered(tmp_path: Path) -> None:
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(os.urandom(300 * KiB))

    async def main() -> tuple[bool, list[FileSent]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            events = viewer.events()
            ok = await viewer.send_file(src)
            got = [ev async for ev in _until_sent(events)]
            await _alive(host, viewer)
            return ok, got

    ok, got = run(main())
    assert ok
    assert [(ev.outcome, ev.name, ev.size) for ev in got] == [("delivered", "notes.txt", 300 * KiB)]
    assert (host_dir / "notes.txt").read_bytes() == src.read_bytes()


async def _until_sent(events: AsyncIterator[object]) -> AsyncIterator[FileSent]:
    async for ev in events:
        if isinstance(ev, FileSent):
            yield ev
            return


def _upload(host_dir: Path, viewer_dir: Path, src: Path,
            before: Callable[[], None] = lambda: None,
            ) -> tuple[bool, FileSent | None, list[FileRefused]]:
    """The viewer sends ``src`` to the host (``before`` done once in
    session): what its send_file said, its last outcome, and the first
    FileRefused the host's user was told."""

    async def main() -> tuple[bool, FileSent | None, list[FileRefused]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            host_events = host.events()
            before()
            ok = await viewer.send_file(src)
            told = await _refused(host_events)
            await _alive(host, viewer)
            return ok, viewer.sender.last, told

    return run(main())


def test_a_file_the_host_cannot_write_is_reported_failed_to_the_viewer(tmp_path: Path) -> None:
    """2 MiB against the process's 900 KiB file size limit (RLIMIT_FSIZE; the
    write fails with EFBIG as it would with ENOSPC): the host drops it, and
    the viewer's sender is told why and stops sending the rest."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(2048 * KiB))
    with _file_size_limit(900 * KiB):
        ok, last, told = _upload(host_dir, viewer_dir, src)
    assert not ok
    assert last is not None and last.outcome == "failed"
    assert "File too large" in last.why
    assert last.describe() == f"failed: {last.why}"
    assert list(host_dir.iterdir()) == []
    assert "could not be saved" in told[0].why


def test_a_download_folder_removed_mid_transfer_is_reported_failed_to_the_host(
        tmp_path: Path) -> None:
    """The viewer's download folder is removed while the host's file comes:
    before, the viewer reported it received at a path that no longer was,
    and the host's side said sent."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "report.pdf"
    src.write_bytes(os.urandom(1024 * KiB))

    async def main() -> tuple[bool, list[FileSent], list[FileRefused]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            host_events, viewer_events = host.events(), viewer.events()
            real_chunk = viewer.files.chunk

            async def remove_then_write(chunk: m.FileChunk,
                                        send: Callable[[m.Message], Awaitable[None]]) -> None:
                if chunk.offset and viewer_dir.exists():
                    while not any(viewer_dir.iterdir()):  # its file, made on the disk thread
                        await asyncio.sleep(0.01)
                    shutil.rmtree(viewer_dir)  # the folder goes, for real
                await real_chunk(chunk, send)

            viewer.files.chunk = remove_then_write  # type: ignore[method-assign]
            ok = await host.send_file(src, host.stats()[0].peer)
            got = [ev async for ev in _until_sent(host_events)]
            told = await _refused(viewer_events)
            await _alive(host, viewer)
            return ok, got, told

    ok, got, told = run(main())
    assert not ok
    assert [ev.outcome for ev in got] == ["failed"]
    assert "removed" in got[0].why
    assert "could not be saved" in told[0].why
    assert not viewer_dir.exists()


@pytest.mark.parametrize("old", ["viewer", "host"])
def test_a_peer_of_the_previous_version_is_sent_no_result_and_the_session_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    """One side as the previous version was: it announces nothing and does
    not know the announcement's channel (dropped and counted, as an unknown
    extension is), and a FileResult would end its session (an unknown kind:
    it is not taken from a peer that did not announce). Files both ways are
    saved and reported sent, unconfirmed."""
    module = viewer_module if old == "viewer" else link_module
    monkeypatch.setattr(module, "FILE_RESULTS_CHANNEL", "not-known-then")

    def old_sender(sender: FileSender) -> FileSender:
        async def nothing() -> None:
            return None

        sender.announce = nothing  # type: ignore[method-assign]
        return sender

    host_dir, viewer_dir = _dirs(tmp_path)
    up, down = tmp_path / "up.txt", tmp_path / "down.txt"
    up.write_bytes(b"up" * 1000)
    down.write_bytes(b"down" * 1000)

    async def main() -> tuple[bool, bool, FileSent | None, list[FileSent]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            if old == "viewer":
                old_sender(viewer.sender)
            else:
                runtime = host._runtime
                new = runtime.sender_for
                monkeypatch.setattr(runtime, "sender_for", lambda link: old_sender(new(link)))
            host_events = host.events()
            ok_up = await viewer.send_file(up)
            ok_down = await host.send_file(down, host.stats()[0].peer)
            got = [ev async for ev in _until_sent(host_events)]
            await _alive(host, viewer)
            assert (viewer if old == "viewer" else host._runtime).extensions.unknown == 1
            # "Unconfirmed": the sender is not told when the receiver has
            # checked the file and named it, so wait for the names here.
            await until(lambda: (host_dir / "up.txt").exists()
                        and (viewer_dir / "down.txt").exists(), 10, "the files named")
            return ok_up, ok_down, viewer.sender.last, got

    ok_up, ok_down, last, got = run(main())
    assert ok_up and ok_down
    assert last is not None and last.outcome == "unconfirmed"
    assert [ev.outcome for ev in got] == ["unconfirmed"]
    assert (host_dir / "up.txt").read_bytes() == up.read_bytes()
    assert (viewer_dir / "down.txt").read_bytes() == down.read_bytes()


def test_a_file_whose_folder_is_gone_before_it_comes_is_reported_failed_not_declined(
        tmp_path: Path) -> None:
    """The host's user said yes, and its download folder had been removed:
    the file cannot even be created. Before, the viewer read only that the
    host did not accept it."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(os.urandom(600 * KiB))
    ok, last, told = _upload(host_dir, viewer_dir, src, before=lambda: shutil.rmtree(host_dir))
    assert not ok
    assert last is not None and (last.outcome, last.why) == ("failed", "No such file or directory")
    assert told[0].why == "could not be saved: No such file or directory"
    assert not host_dir.exists()
