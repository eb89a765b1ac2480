"""audit37: the recording's audit log says how each file transfer ended
(walk37's finding 2). Before, read from ``recordings play --events``:

- a file the agent stopped at the very end (all of it came, stopped while
  saved) was logged ``answer accepted, sha256_matches true`` alone: it read
  as delivered though nothing was kept;
- a file stopped mid-way by its receiver (the agent, or the host's user's
  /stop) or by its sender (the agent cancelling its upload) was logged only
  at the session's end, ``cut_short``;
- a file withdrawn by its sender before the answer was logged ``answer
  refused``, as if the receiver had said no.

Now the file row says its ``outcome`` when the transfer ended before its
FileEnd, and a ``file_outcome`` row follows the FileEnd's row when the
receiver's result came after it. Real Host with a Recorder and a Viewer
over sealed channels on loopback (test_fileresult_session's pair)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from screencodec.cli import main as cli_main
from screencodec.transport import Host, Viewer
from screencodec.transport.session.events import FileRefused
from screencodec.transport.session.files.wire import (
    STOPPED_THERE_WHY,
    WITHDRAWN,
    WITHDRAWN_STOPPED,
)
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import until
from .recorded_files import recorded
from .secure_fixtures import run
from .test_fileresult_session import _alive, _yes
from .test_files37_stop_at_the_edges import _hold_the_save
from .test_rstop36_receiver_stop import _first

MiB = 1 << 20
SIZE = 4 * MiB
#: A recording's file rows (one list per recording)
Rows = list[list[dict[str, Any]]]


@contextlib.asynccontextmanager
async def _recorded(tmp_path: Path, host_asks: Any = _yes
                    ) -> AsyncIterator[tuple[Host, Viewer, Rows]]:  # fmt: skip
    """recorded_files.recorded, with only the ``file`` and ``file_outcome``
    rows of the recording put in the list yielded."""
    rows: Rows = []
    try:
        async with recorded(tmp_path, host_asks=host_asks) as (host, viewer, recordings):
            yield host, viewer, rows
    finally:
        rows.extend([e for e in events if e["type"] in ("file", "file_outcome")]
                    for events in recordings)  # fmt: skip


def _big(tmp_path: Path, size: int = SIZE) -> tuple[Path, str]:
    big = tmp_path / "big.bin"
    data = os.urandom(size)
    big.write_bytes(data)
    return big, hashlib.sha256(data).hexdigest()


def test_a_file_the_agent_stopped_while_it_was_saved_reads_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Before: the file row alone, ``sha256_matches`` true: read as delivered."""
    held = _hold_the_save(monkeypatch, after_naming=False)
    big, digest = _big(tmp_path, MiB)

    async def main() -> Rows:
        async with _recorded(tmp_path) as (host, viewer, rows):
            told = viewer.events()
            sending = asyncio.ensure_future(host.send(big, host.viewers[0]))
            await held.reached()
            assert await viewer.stop_receiving(1) is True
            held.release()
            await asyncio.wait_for(sending, 20)
            await asyncio.wait_for(_first(told, FileRefused), 10)
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    assert rows == [[
        {"type": "file", "name": "big.bin", "size": MiB, "direction": "to-viewer",
         "answer": "accepted", "sha256": digest, "transferred": MiB, "sha256_matches": True},
        {"type": "file_outcome", "name": "big.bin", "direction": "to-viewer",
         "outcome": "stopped by the receiver", "why": STOPPED_THERE_WHY},
    ]]  # fmt: skip
    # ... and `recordings play --events` shows it
    capsys.readouterr()
    assert cli_main(["recordings", "play", "--events", (tmp_path / "played").read_text()]) == 0
    played = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "big.bin" in x]
    assert [{k: v for k, v in e.items() if k != "t"} for e in played] == rows[0]


def _stopped_mid_way(tmp_path: Path, who: str) -> Rows:
    """big.bin goes (from the host to the agent for ``who`` "agent", else
    from the agent); once 1 MiB of it went, ``who`` stops it: the agent's
    program stops receiving it, the host's user's /stop stops receiving it
    (Host.stop_receiving), or the agent cancels its upload ("uploader")."""
    big, _ = _big(tmp_path)

    async def main() -> Rows:
        async with _recorded(tmp_path) as (host, viewer, rows):
            stopping: list[asyncio.Future[Any]] = []
            receiver_events = host.events() if who != "agent" else viewer.events()
            uploading: list[asyncio.Task[Any]] = []

            def sending(sent: int, size: int) -> None:
                if sent < MiB or stopping:
                    return
                if who == "agent":
                    stopping.append(asyncio.ensure_future(viewer.stop_receiving(1)))
                elif who == "host":
                    stopping.append(asyncio.ensure_future(
                        host.stop_receiving(host.viewers[0], 1)))
                else:
                    uploading[0].cancel()
                    stopping.append(asyncio.get_running_loop().create_future())
                    stopping[0].set_result(True)

            if who == "agent":
                await host.send(big, host.viewers[0], on_sending=sending)
            else:
                uploading.append(asyncio.ensure_future(viewer.sender.send(big,
                                                                          on_sending=sending)))
                with contextlib.suppress(asyncio.CancelledError):
                    await uploading[0]
            assert await asyncio.wait_for(stopping[0], 5) is True
            await asyncio.wait_for(_first(receiver_events, FileRefused), 10)
            await _alive(host, viewer)
        return rows

    return run(main(), timeout=60)


def _mid_way_row(rows: Rows, direction: str, outcome: str,
                 why: str) -> None:  # fmt: skip
    """One file row, logged when it stopped (not ``cut_short`` at the
    end), with how much had gone: some of it, not all (the sender counts
    sent what is still on the way to the host's side)."""
    [[row]] = rows
    transferred = row.pop("transferred")
    assert 0 < transferred < SIZE, transferred
    assert row == {"type": "file", "name": "big.bin", "size": SIZE, "direction": direction,
                   "answer": "accepted", "outcome": outcome, "why": why}  # fmt: skip


def test_a_file_the_agent_stopped_mid_way_reads_stopped_by_the_receiver(
        tmp_path: Path) -> None:  # fmt: skip
    _mid_way_row(_stopped_mid_way(tmp_path, "agent"), "to-viewer",
                 "stopped by the receiver", STOPPED_THERE_WHY)


def test_the_hosts_stop_mid_file_reads_stopped_by_the_receiver(tmp_path: Path) -> None:
    _mid_way_row(_stopped_mid_way(tmp_path, "host"), "to-host",
                 "stopped by the receiver", STOPPED_THERE_WHY)


def test_the_agent_cancelling_its_upload_reads_stopped_by_the_sender(tmp_path: Path) -> None:
    _mid_way_row(_stopped_mid_way(tmp_path, "uploader"), "to-host",
                 "stopped by the sender", WITHDRAWN_STOPPED)


def test_an_offer_withdrawn_before_the_answer_is_not_read_as_refused(tmp_path: Path) -> None:
    """The agent's offer times out while the host's user is asked (its
    timeout fired by hand): before, ``answer refused``."""
    asked = asyncio.Event()

    async def host_asks(info: FileOfferInfo) -> bool:
        asked.set()
        await asyncio.Event().wait()  # never answered
        return True

    big, _ = _big(tmp_path, MiB)

    async def main() -> Rows:
        async with _recorded(tmp_path, host_asks) as (host, viewer, rows):
            told = host.events()
            sending = asyncio.ensure_future(viewer.sender.send(big))
            await until(asked.is_set, 10, "the host's user asked")
            viewer.sender._give_up(1)  # its offer timeout, by hand: withdrawn
            await asyncio.wait_for(sending, 10)
            await asyncio.wait_for(_first(told, FileRefused), 10)
            await _alive(host, viewer)
        return rows

    rows = run(main(), timeout=60)
    assert rows == [[
        {"type": "file", "name": "big.bin", "size": MiB, "direction": "to-host",
         "answer": "pending", "outcome": "withdrawn by the sender", "why": WITHDRAWN},
    ]]  # fmt: skip


def test_a_peers_not_saved_words_are_cleaned_and_what_is_kept_is_bounded() -> None:
    """The receiver's FileResult reason is the peer's text: one harmless
    line of at most REASON_SHOWN characters; a hostile peer ending transfers
    without end leaves at most MAX_OFFERS of them waiting for a result."""
    from screencodec.recording.audit import AuditTracker
    from screencodec.transport.session import messages as m
    from screencodec.transport.session.files.wire import MAX_OFFERS, REASON_SHOWN

    tracker = AuditTracker()
    for transfer in range(1, MAX_OFFERS + 10):
        tracker.from_host(0.0, m.FileOffer(transfer, "a.txt", 1))
        tracker.from_viewer(0.0, m.FileAccept(transfer, True))
        tracker.from_host(0.0, m.FileEnd(transfer, bytes(32)))
    assert len(tracker._ended) == MAX_OFFERS
    assert tracker.from_viewer(0.0, m.FileResult(1, False, "forgotten")) == []
    [row] = tracker.from_viewer(0.0, m.FileResult(MAX_OFFERS, False,
                                                  "disk\x1b[31m full\u202e" + "x" * 500))
    assert row["outcome"] == "not saved" and row["why"].startswith("disk? full?x")
    assert len(row["why"]) <= REASON_SHOWN
    assert tracker.from_viewer(0.0, m.FileResult(MAX_OFFERS, True)) == []  # told once
    assert tracker.from_viewer(0.0, m.FileResult(MAX_OFFERS - 1, True)) == [
        {"type": "file_outcome", "name": "a.txt", "direction": "to-viewer", "outcome": "saved"}]
