"""review37: the receiver's stop (files37) in the moment after its decision
and before its FileAccept has gone: ``decide`` returned the yes, and the
answer waits for the channel (another send holds it: a file of the
viewer's own going, a full TCP window). The file is not "being decided"
any more, so the stop took it for one stopped mid-way and sent its reason
code and FileResult at once, ahead of the FileAccept (its first yes
announces file results first, which waits too): the host read a result for
a transfer it had not seen accepted and ended the session ("protocol
error: ... file result for transfer 1, which is not awaited").

Expected: the stop is held for the yes, as a stop while the folder is
looked at is (files37): FileAccept, then the code and the FileResult; the
host says its peer's user stopped receiving it; nothing on disk; the
session goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileRefused, FileSent
from screencodec.transport.session.files.wire import (
    STOPPED_HERE,
    STOPPED_THERE_WHY,
    file_results_announcement,
)

from .helpers import until
from .secure_fixtures import run
from .test_filecut35_unread_stopped import _dirs
from .test_fileresult_session import _alive, _pair
from .test_files37_stop_at_the_edges import _big, _hold_the_folder_look
from .test_rstop36_receiver_stop import _first


@pytest.mark.parametrize("holder", ["channel", "announcing"])
def test_a_stop_while_the_yes_waits_follows_the_yes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder: str) -> None:
    """``holder``: what the answer waits for. "channel": the channel's send
    lock (another message going); found on main: the code went ahead of the
    FileAccept (the host dropped it), the FileResult after, and the host's
    user read "failed: in its words: its user stopped receiving it...".
    "announcing": the announcement of file results (the viewer's own first
    file announcing it); found on main: the code and the FileResult went
    ahead of the FileAccept, and the host ended the session (a result for a
    transfer not awaited)."""
    held = _hold_the_folder_look(monkeypatch)
    big = _big(tmp_path)
    host_dir, viewer_dir = _dirs(tmp_path)
    announcement = m.encode(file_results_announcement())

    async def main() -> tuple[FileSent, bool, FileRefused, list[str]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            told = viewer.events()
            entered: list[bytes] = []
            real_send = viewer.channel.send

            async def send(message: bytes) -> None:
                entered.append(message)
                await real_send(message)

            viewer.channel.send = send  # type: ignore[method-assign]
            lock = (viewer.channel._send_lock if holder == "channel"  # type: ignore[attr-defined]
                    else viewer.sender._announcing)
            sending = asyncio.ensure_future(host.send(big, host.viewers[0]))
            await held.reached()
            await lock.acquire()  # another send holds the channel
            try:
                held.release()  # the yes is decided; its answer waits
                await until(lambda: announcement in entered if holder == "channel"
                            else bool(lock._waiters), 10, "the answer waiting")
                stopping = asyncio.ensure_future(viewer.stop_receiving(1))
                await until(lambda: stopping.done() or len(entered) >= 3, 10,
                            "the stop's sends")
            finally:
                lock.release()
            found = await asyncio.wait_for(stopping, 10)
            outcome = await asyncio.wait_for(sending, 20)
            refused = await asyncio.wait_for(_first(told, FileRefused), 10)
            assert isinstance(refused, FileRefused)
            await asyncio.wait_for(_alive(host, viewer), 10)
            return outcome, found, refused, sorted(p.name for p in viewer_dir.iterdir())

    outcome, found, refused, left = run(main(), timeout=60)
    assert found is True
    assert (outcome.outcome, outcome.why) == ("failed", STOPPED_THERE_WHY), outcome
    assert (refused.why, refused.received) == (STOPPED_HERE, 0)
    assert left == []


@pytest.mark.parametrize("holder", ["channel", "announcing"])
def test_the_hosts_stop_while_its_yes_waits_follows_the_yes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder: str) -> None:
    """The same on the host, receiving the viewer's file (link.py answers
    it): its user's stop (Host.stop_receiving) goes after the FileAccept.
    Found on 2c553f5: "channel", the viewer's user read "failed: in its
    words: ..."; "announcing", the viewer ended the session ("a host may
    not send FileResult")."""
    held = _hold_the_folder_look(monkeypatch)
    big = _big(tmp_path)
    host_dir, viewer_dir = _dirs(tmp_path)
    announcement = m.encode(file_results_announcement())

    async def main() -> tuple[FileSent, bool, FileRefused, list[str]]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            told = host.events()
            link = next(iter(host._runtime.links))
            entered: list[bytes] = []
            real_send = link.channel.send

            async def send(message: bytes) -> None:
                entered.append(message)
                await real_send(message)

            link.channel.send = send  # type: ignore[method-assign]
            lock = (link.channel._send_lock if holder == "channel"  # type: ignore[attr-defined]
                    else host._runtime.sender_for(link)._announcing)
            sending = asyncio.ensure_future(viewer.sender.send(big))
            await held.reached()
            await lock.acquire()  # another send holds the channel
            try:
                held.release()  # the yes is decided; its answer waits
                await until(lambda: announcement in entered if holder == "channel"
                            else bool(lock._waiters), 10, "the answer waiting")
                stopping = asyncio.ensure_future(host.stop_receiving(host.viewers[0], 1))
                await until(lambda: stopping.done() or len(entered) >= 3, 10,
                            "the stop's sends")
            finally:
                lock.release()
            found = await asyncio.wait_for(stopping, 10)
            outcome = await asyncio.wait_for(sending, 20)
            refused = await asyncio.wait_for(_first(told, FileRefused), 10)
            assert isinstance(refused, FileRefused)
            await asyncio.wait_for(_alive(host, viewer), 10)
            return outcome, found, refused, sorted(p.name for p in host_dir.iterdir())

    outcome, found, refused, left = run(main(), timeout=60)
    assert found is True
    assert (outcome.outcome, outcome.why) == ("failed", STOPPED_THERE_WHY), outcome
    assert (refused.why, refused.received) == (STOPPED_HERE, 0)
    assert left == []
