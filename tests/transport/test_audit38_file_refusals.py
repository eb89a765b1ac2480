"""audit38: what the audit log says of a refusal its receiver's user was
never asked about, and of two ways a sender ends a file of its own.

Found: a file offer refused without asking the receiver's user (it was
larger than the receiver takes, too many questions waited: the reason
code that goes on the ``screencodec.file-results`` channel, payload 0x05,
docs/protocol.md) was logged ``answer refused`` alone, as a file the user
said no to; a permission refused unasked (the host cannot give CONTROL:
its Notice before the PermissionDeny) was logged ``deny`` alone. Expected:
the row says ``unasked`` true and ``why``, in words made here from the
reason code (never the peer's text), or the host's own Notice through
``safe_text``, bounded.

And the doc's promise for a file its sender ended before its FileEnd
(docs/recording.md, the ``file`` row: ``outcome`` and ``why`` logged when
it ended, with ``transferred``), which no test held for the host's own
cancel of a file it sends nor for a file withdrawn because it could not
be read any more.

Real Host with a Recorder and a Viewer over sealed channels on loopback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session.files.wire import (
    REASON_SHOWN,
    WITHDRAWN_STOPPED,
    WITHDRAWN_UNREAD,
    refusal_words,
)
from screencodec.transport.session.refusal import NO_INJECTOR
from screencodec.transport.session.sidechannels import FileOfferInfo

from .recorded_files import Rows, recorded
from .secure_fixtures import run
from .test_fileresult_session import _alive

MiB = 1 << 20


_recorded = recorded


def _of(rows: list[Rows], *types: str) -> Rows:
    [events] = rows
    return [e for e in events if e["type"] in types]


def test_a_file_the_host_refuses_unasked_logs_why(tmp_path: Path) -> None:
    """Larger than the host takes: refused without asking its user."""
    small = tmp_path / "notes.bin"
    small.write_bytes(os.urandom(4096))

    async def main() -> list[Rows]:
        async with _recorded(tmp_path, max_file=1000) as (host, viewer, rows):
            sent = await viewer.sender.send(small)
            assert sent.outcome == "declined", sent
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    assert _of(rows, "file") == [
        {"type": "file", "name": "notes.bin", "size": 4096, "direction": "to-host",
         "answer": "refused", "unasked": True, "why": refusal_words(3, 1000)},
    ]  # fmt: skip
    assert refusal_words(3, 1000).startswith("it takes none larger than")


def test_a_file_the_viewer_refuses_unasked_logs_why(tmp_path: Path) -> None:
    """Four offers while the agent's program asks about none: the fourth is
    refused unasked, three questions waiting already."""
    asked: list[FileOfferInfo] = []

    async def waits(info: FileOfferInfo) -> bool:
        asked.append(info)
        await asyncio.Event().wait()
        return False

    paths = []
    for n in range(4):
        path = tmp_path / f"f{n}.txt"
        path.write_bytes(b"x" * 100)
        paths.append(path)

    async def main() -> list[Rows]:
        async with _recorded(tmp_path, viewer_asks=waits) as (host, viewer, rows):
            sends = []
            for path in paths:
                sends.append(asyncio.ensure_future(host.send(path, host.viewers[0])))
                await asyncio.sleep(0.05)  # in this order
            fourth = await asyncio.wait_for(sends[3], 10)
            assert fourth.outcome == "declined", fourth
            for send in sends[:3]:
                send.cancel()
            await asyncio.gather(*sends[:3], return_exceptions=True)
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    refused = [e for e in _of(rows, "file") if e["answer"] == "refused"]
    assert refused == [
        {"type": "file", "name": "f3.txt", "size": 100, "direction": "to-viewer",
         "answer": "refused", "unasked": True, "why": refusal_words(2, 3)},
    ]  # fmt: skip
    assert "3 questions open already" in refusal_words(2, 3)


def test_a_permission_the_host_refuses_unasked_logs_why(tmp_path: Path) -> None:
    """No injector: CONTROL is refused without asking the host's user."""

    async def main() -> list[Rows]:
        async with _recorded(tmp_path) as (host, viewer, rows):
            assert await viewer.request(CONTROL, timeout=10) is False
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    assert _of(rows, "deny") == [
        {"type": "deny", "level": str(CONTROL), "unasked": True, "why": NO_INJECTOR},
    ]  # fmt: skip
    assert len(NO_INJECTOR) <= REASON_SHOWN


def test_the_hosts_own_cancel_of_a_file_it_sends_logs_stopped_by_the_sender(
        tmp_path: Path) -> None:  # fmt: skip
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))

    async def main() -> list[Rows]:
        async with _recorded(tmp_path) as (host, viewer, rows):
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and len(went) == 2:  # the first chunk went: the host stops it
                    first.cancel()

            first = asyncio.ensure_future(host.send(big, host.viewers[0], on_sending=sending))
            with pytest.raises(asyncio.CancelledError):
                await first
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    [row] = _of(rows, "file", "file_outcome")
    transferred = row.pop("transferred")
    assert 0 < transferred < 4 * MiB, transferred
    assert row == {"type": "file", "name": "big.bin", "size": 4 * MiB, "direction": "to-viewer",
                   "answer": "accepted", "outcome": "stopped by the sender",
                   "why": WITHDRAWN_STOPPED}  # fmt: skip


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_a_file_withdrawn_as_unreadable_logs_withdrawn_by_the_sender(
        tmp_path: Path, side: str) -> None:  # fmt: skip
    """Truncated on the sender's disk after its first chunk went."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * MiB))

    async def main() -> list[Rows]:
        async with _recorded(tmp_path) as (host, viewer, rows):
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and len(went) == 2:  # the rest goes from disk: gone
                    os.truncate(big, sent)

            sent = await (host.send(big, host.viewers[0], on_sending=sending) if side == "host"
                          else viewer.sender.send(big, on_sending=sending))  # fmt: skip
            assert sent.outcome == "failed", sent
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    [row] = _of(rows, "file", "file_outcome")
    transferred = row.pop("transferred")
    assert 0 < transferred < 4 * MiB, transferred
    assert row == {"type": "file", "name": "big.bin", "size": 4 * MiB,
                   "direction": "to-viewer" if side == "host" else "to-host",
                   "answer": "accepted", "outcome": "withdrawn by the sender",
                   "why": WITHDRAWN_UNREAD}  # fmt: skip


def test_the_tracker_words_unasked_refusals_itself_and_bounds_what_the_peer_sends() -> None:
    """Unit (AuditTracker): a reason code of a later version reads as a
    refusal; the host's session's word alone (a viewer of a version before
    file results gets no code) says why as well; a Notice's text is cleaned
    and bounded, and explains only the deny right after it."""
    from screencodec.recording.audit import AuditTracker
    from screencodec.transport.session import messages as m
    from screencodec.transport.session.files.wire import file_refusal

    tracker = AuditTracker()
    tracker.from_host(0.0, m.FileOffer(1, "a.txt", 10))
    tracker.from_viewer(0.0, file_refusal(1, 99, (1 << 64) - 1))
    [row] = tracker.from_viewer(0.0, m.FileAccept(1, False))
    assert (row["unasked"], row["why"]) == (True, "refused without asking its user")

    tracker.from_viewer(0.0, m.FileOffer(7, "b.txt", 10))
    tracker.file_unasked(7, 1, 0)  # the host's session: it takes no files
    [row] = tracker.from_host(0.0, m.FileAccept(7, False))
    assert (row["direction"], row["why"]) == ("to-host", "it takes no files")
    tracker.from_viewer(0.0, m.FileOffer(8, "c.txt", 10))
    assert "why" not in tracker.from_host(0.0, m.FileAccept(8, False))[0]  # its user said no

    tracker.from_host(0.0, m.Notice(m.Notice.NOT_ASKED, "\x1b[2Jno\u202e" + "y" * 500))
    [deny] = tracker.from_host(0.0, m.PermissionDeny(CONTROL.bits))
    assert deny["unasked"] is True and deny["why"].startswith("?no?y")
    assert len(deny["why"]) <= REASON_SHOWN
    tracker.from_host(0.0, m.Notice(m.Notice.NOT_ASKED, "stale"))
    tracker.from_host(0.0, m.Chat("between"))
    assert tracker.from_host(0.0, m.PermissionDeny(CONTROL.bits)) == [
        {"type": "deny", "level": str(CONTROL)}]
    tracker.from_host(0.0, m.PermissionGrant(VIEW.bits))
    tracker.from_host(0.0, m.Notice(m.Notice.CONTROL_UNAVAILABLE, NO_INJECTOR))  # the grant's
    assert tracker.from_host(0.0, m.PermissionDeny(CONTROL.bits)) == [
        {"type": "deny", "level": str(CONTROL)}]
