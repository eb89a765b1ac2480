"""A file withdrawn mid-way leaves nothing once its session has ended
(docs/transport.md, "A file under its own name only when whole"). The
sender could not read the rest of a file after the yes (it became shorter):
it withdraws it, and the receiver removes what it had written, on its disk
thread, behind the chunks queued there. Before, that removal was not waited
for at the session's end (only the removals of the session's own end were):
with a disk slow to remove (1 s here), the host's ``SessionEnded`` and
``Host.close``, or the viewer's ``run``, returned while the temporary
``.NAME.part-XXXXXXXX`` file was still in the download folder, where a
program that looked right after found it.

Real host and viewer over sealed channels on loopback, each saying yes to
every file; the slow disk is the receiver's removal of a temporary file made
to take 1 s on the disk thread."""

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
from screencodec.transport import VIEW, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.events import FileRefused, SessionEnded
from screencodec.transport.session.files import incoming
from screencodec.transport.session.sidechannels import WITHDRAWN_UNREAD

from .secure_fixtures import run
from .test_file_offer_given_up import _Seen
from .test_fileresult_session import _dirs, _grant, _yes

SIZE = 4 << 20
#: How long the disk takes to remove a temporary file (on the disk thread only).
SLOW_REMOVAL = 1.0


@pytest.fixture(autouse=True)
def _slow_removal(monkeypatch: pytest.MonkeyPatch) -> None:
    real = incoming.Incoming.remove

    def remove(self: incoming.Incoming) -> None:
        if threading.current_thread() is not threading.main_thread():
            time.sleep(SLOW_REMOVAL)  # the slow disk, not an assertion
        real(self)

    monkeypatch.setattr(incoming.Incoming, "remove", remove)


@contextlib.asynccontextmanager
async def _session(host_dir: Path, viewer_dir: Path
                   ) -> AsyncIterator[tuple[Host, Viewer, asyncio.Task[str]]]:  # fmt: skip
    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=_grant,
                file_consent=_yes, config=HostConfig(download_dir=host_dir))  # fmt: skip
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel, who="Alice", download_dir=viewer_dir, file_consent=_yes)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        try:
            yield host, viewer, task
        finally:
            await viewer.bye("done")
            await task


def _shorter_after_the_first_chunk(src: Path) -> tuple[list[int], object]:
    """``on_sending`` that cuts ``src`` to what was sent once its first
    chunk went: its sender then cannot read the rest and withdraws it."""
    sent: list[int] = []

    def on_sending(done: int, size: int) -> None:
        if done and not sent:
            sent.append(done)
            os.truncate(src, done)

    return sent, on_sending


def test_filesleft_the_hosts_session_ends_once_a_withdrawn_file_is_removed(
        tmp_path: Path) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(SIZE))
    sent, on_sending = _shorter_after_the_first_chunk(src)

    async def main() -> tuple[str, list[str], list[str], list[str]]:
        async with _session(host_dir, viewer_dir) as (host, viewer, _task):
            seen = _Seen(host.events())
            outcome = await viewer.sender.send(src, on_sending=on_sending)  # type: ignore[arg-type]
            told = await seen.first((FileRefused,))
            assert isinstance(told, FileRefused) and told.why == WITHDRAWN_UNREAD, told
            await viewer.bye("done")
            await seen.first((SessionEnded,))
            at_end = sorted(p.name for p in host_dir.iterdir())
        after_close = sorted(p.name for p in host_dir.iterdir())
        return outcome.outcome, at_end, after_close, sorted(p.name for p in viewer_dir.iterdir())

    outcome, at_end, after_close, viewer_has = run(main())
    assert sent and outcome == "failed"
    assert at_end == [], at_end  # found: ['.big.bin.part-XXXXXXXX'] while it was being removed
    assert after_close == []
    assert viewer_has == []


def test_filesleft_the_viewers_run_ends_once_a_withdrawn_file_is_removed(
        tmp_path: Path) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(SIZE))
    sent, on_sending = _shorter_after_the_first_chunk(src)

    async def main() -> tuple[str, list[str]]:
        async with _session(host_dir, viewer_dir) as (host, viewer, task):
            seen = _Seen(viewer.events())
            (peer,) = host.viewers
            outcome = await host.send(src, peer, on_sending=on_sending)  # type: ignore[arg-type]
            told = await seen.first((FileRefused,))
            assert isinstance(told, FileRefused) and told.why == WITHDRAWN_UNREAD, told
            await viewer.bye("done")
            await task
            left = sorted(p.name for p in viewer_dir.iterdir())
        return outcome.outcome, left

    outcome, left = run(main())
    assert sent and outcome == "failed"
    assert left == [], left  # found: ['.big.bin.part-XXXXXXXX'] while it was being removed
