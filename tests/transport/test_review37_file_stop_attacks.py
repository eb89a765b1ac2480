"""review37: files37's receiver stop attacked by a hostile peer. A real
host and viewer over sealed channels on loopback; the hostile side is
scripted (its sends made by hand, or its handling of results taken away).
Expected outcome, each test naming its own: the session survives (what is
sent is dropped) or ends with a clear protocol error (that session only);
nothing that should not be is left on disk; no crash, no hang; what the
receiver keeps of a stopped file is let go once its end came."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from screencodec.errors import ProtocolError
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileReceived, FileRefused
from screencodec.transport.session.files.wire import (
    STOPPED_HERE,
    STOPPED_THERE,
    STOPPED_THERE_WHY,
    file_result_reason,
)
from screencodec.transport.session.sidechannels import FileOfferInfo, FileReceiver, FileSender

from .helpers import until
from .secure_fixtures import run
from .test_attack5_fileresult import _ended, _inbox, _pair, _src
from .test_fileresult_session import _alive
from .test_files37_stop_at_the_edges import MiB, _hold_the_save

KiB = 1024


def _left_of(files: FileReceiver) -> dict[str, object]:
    """What the receiver still keeps of files (all empty once each ended)."""
    return {name: getattr(files, name) for name in (
        "_active", "_failed", "_stopped", "_unsent", "_deciding", "_stop_wanted",
        "_answering", "_finishing", "_saving", "_infos") if getattr(files, name)}


def test_a_host_that_sends_on_after_a_stop_as_the_file_is_saved_ends_that_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The viewer stopped big.bin while it was saved (its end had come);
    the host sends a chunk of it all the same: a protocol error ends the
    session, and big.bin is not in the folder once it ended."""
    held = _hold_the_save(monkeypatch, after_naming=True)
    inbox = _inbox(tmp_path)
    big = _src(tmp_path, MiB)

    async def main() -> tuple[str, list[str]]:
        async with _pair(inbox) as (host, viewer, sender, task):
            sending = asyncio.ensure_future(host.send(big, host.viewers[0]))
            await held.reached()
            assert await viewer.stop_receiving(1) is True
            await sender._send(m.FileChunk(1, MiB, b"more"))
            held.release()
            with pytest.raises(ProtocolError) as error:
                await asyncio.wait_for(task, 20)
            await asyncio.wait_for(sending, 20)
            return str(error.value), sorted(p.name for p in inbox.iterdir())

    reason, left = run(main(), timeout=60)
    assert reason == "chunk for transfer 1, which is not accepted"
    assert left == []


def test_a_host_deaf_to_the_stop_as_the_yes_goes_sends_it_all_for_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The viewer's user stopped the file during its question and said yes
    (stopped as the yes goes); a host that reads no results sends the whole
    file and its FileEnd: dropped, nothing on disk, the user told once (0
    bytes had come, never "received"), the session goes on, and nothing of
    the file is kept by the receiver once its end came."""
    monkeypatch.setattr(FileSender, "on_result", lambda self, msg: None)
    monkeypatch.setattr(FileSender, "on_result_reason", lambda self, t, c: None)
    inbox = _inbox(tmp_path)
    viewers: list[object] = []

    async def stop_then_yes(info: FileOfferInfo) -> bool:
        assert await viewers[0].stop_receiving(info.transfer) is True  # type: ignore[attr-defined]
        return True

    async def main() -> tuple[list[object], list[str], dict[str, object]]:
        async with _pair(inbox, consent=stop_then_yes) as (host, viewer, sender, _task):
            viewers.append(viewer)
            told = viewer.events()
            # (16 KiB: within the host's first window, it needs no confirmation)
            sending = asyncio.ensure_future(host.send(_src(tmp_path, 16 * KiB), host.viewers[0]))
            await until(lambda: 1 in sender._ended or sending.done(), 20, "the host's FileEnd")
            assert not sending.done(), sending.result()
            await until(lambda: not _left_of(viewer.files), 10, "the FileEnd taken")
            await asyncio.wait_for(_alive(host, viewer), 10)
            left = _left_of(viewer.files)
            sending.cancel()
            events: list[object] = []
            while (ev := await asyncio.wait_for(told.__anext__(), 10)) is not None:
                if isinstance(ev, (FileReceived, FileRefused)):
                    events.append(ev)
                    break
            return events, sorted(p.name for p in inbox.iterdir()), left

    events, left, kept = run(main(), timeout=60)
    assert [(type(ev).__name__, ev.why, ev.received) for ev in events] == [  # type: ignore[attr-defined]
        ("FileRefused", STOPPED_HERE, 0)]
    assert left == []
    assert kept == {}


def test_a_stop_for_no_file_in_flight_finds_nothing_and_sends_nothing(tmp_path: Path) -> None:
    """Never offered, refused, received whole: stop_receiving is False and
    the host hears nothing of it (the session goes on)."""
    inbox = _inbox(tmp_path)
    answers = iter([True, False])

    async def yes_then_no(info: FileOfferInfo) -> bool:
        return next(answers)

    async def main() -> tuple[list[bool], list[str], list[object]]:
        async with _pair(inbox, consent=yes_then_no) as (host, viewer, _sender, _task):
            received = await host.send(_src(tmp_path), host.viewers[0])
            declined = await host.send(_src(tmp_path), host.viewers[0])
            sent: list[object] = []
            real = viewer._send

            async def send(msg: m.Message) -> None:
                sent.append(msg)
                await real(msg)

            viewer._send = send  # type: ignore[method-assign]
            found = [await viewer.stop_receiving(t)
                     for t in (received.transfer, declined.transfer, 99, -1, 1 << 40)]
            viewer._send = real  # type: ignore[method-assign]
            await asyncio.wait_for(_alive(host, viewer), 10)
            return found, [received.outcome, declined.outcome], sent

    found, outcomes, sent = run(main(), timeout=60)
    assert outcomes == ["delivered", "declined"]
    assert found == [False] * 5
    assert sent == []


def test_stopped_there_codes_for_files_never_accepted_are_dropped_not_kept(
        tmp_path: Path) -> None:
    """A viewer sends the reason code "stopped there" (0x06) for 5,000
    transfers it never accepted: each is dropped (the host keeps none), the
    session goes on, and the host's next file is delivered, not told
    stopped."""
    inbox = _inbox(tmp_path)

    async def main() -> tuple[dict[int, int], str]:
        async with _pair(inbox) as (host, viewer, sender, _task):
            await viewer.sender.announce()
            for transfer in range(5000):
                await viewer._send(file_result_reason(transfer, STOPPED_THERE))
            await asyncio.wait_for(_alive(host, viewer), 10)
            codes = dict(sender._result_codes)
            sent = await asyncio.wait_for(host.send(_src(tmp_path), host.viewers[0]), 20)
            return codes, sent.outcome

    codes, outcome = run(main(), timeout=60)
    assert codes == {}
    assert outcome == "delivered"


def test_stopped_there_before_the_yes_ends_the_session_never_stopped_there(
        tmp_path: Path) -> None:
    """A viewer sends a file's stop words (the code, then the FileResult
    "not saved") while its question is open, before any FileAccept (what
    files37 sent during the folder's tidy): a protocol error ends the
    session; the host's user reads the file as not answered, not as
    stopped by the viewer's user."""
    inbox = _inbox(tmp_path)
    asked = asyncio.Event()

    async def never(info: FileOfferInfo) -> bool:
        asked.set()
        await asyncio.Event().wait()
        return False

    async def main() -> tuple[str, str, str]:
        async with _pair(inbox, consent=never) as (host, viewer, _sender, _task):
            events = host.events()
            sending = asyncio.ensure_future(host.send(_src(tmp_path), host.viewers[0]))
            await asyncio.wait_for(asked.wait(), 10)
            await viewer.sender.announce()
            await viewer._send(file_result_reason(1, STOPPED_THERE))
            await viewer._send(m.FileResult(1, False, STOPPED_THERE_WHY))
            reason = await asyncio.wait_for(_ended(events), 10)
            sent = await asyncio.wait_for(sending, 10)
            return reason, sent.outcome, sent.why

    reason, outcome, why = run(main(), timeout=60)
    assert "file result for transfer 1, which is not awaited" in reason
    assert (outcome, why) == ("declined", "the session ended before an answer")


def test_thirty_files_accepted_and_stopped_leave_nothing_kept(tmp_path: Path) -> None:
    """The viewer's user stops each of 30 files during its question and says
    yes (a flood of accept/stop pairs): each is "failed: stopped there" at
    the host, nothing is on disk, the session goes on, and the receiver
    keeps nothing of any once their ends came."""
    inbox = _inbox(tmp_path)
    viewers: list[object] = []
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(64 * KiB))

    async def stop_then_yes(info: FileOfferInfo) -> bool:
        assert await viewers[0].stop_receiving(info.transfer) is True  # type: ignore[attr-defined]
        return True

    async def main() -> tuple[set[tuple[str, str]], list[str], dict[str, object]]:
        async with _pair(inbox, consent=stop_then_yes) as (host, viewer, _sender, _task):
            viewers.append(viewer)
            outcomes = [await asyncio.wait_for(host.send(src, host.viewers[0]), 10)
                        for _ in range(30)]  # (3 questions at most are open at once)
            await until(lambda: not _left_of(viewer.files), 10, "every FileEnd taken")
            await asyncio.wait_for(_alive(host, viewer), 10)
            return ({(s.outcome, s.why) for s in outcomes},
                    sorted(p.name for p in inbox.iterdir()), _left_of(viewer.files))

    outcomes, left, kept = run(main(), timeout=90)
    assert outcomes == {("failed", STOPPED_THERE_WHY)}
    assert left == []
    assert kept == {}
