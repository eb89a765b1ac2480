"""A malicious viewer's file-offer withdrawals with a reason (1180957:
file-results payload 0x03 + transfer u32 + code u8), against a real host
over sealed channels on loopback: for transfers never offered (the largest
number too), of the wrong length, repeated, and for an offer whose question
is still open. Expected: a withdrawal of a transfer never offered, or a
malformed one, ends the session as a ProtocolError (docs/transport.md); a
repeated one changes nothing; and the host's user is never told a
falsehood of the peer's: "the sender could not read the file after the yes"
of an offer they never said yes to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileRefused, SessionEnded
from screencodec.transport.session.sidechannels import (
    FILE_RESULTS_CHANNEL,
    UNREAD,
    WITHDRAWN_UNREAD,
    FileOfferInfo,
)

from .secure_fixtures import run
from .test_file_offer_given_up import _in_order, _Seen
from .test_fileresult_session import _alive, _dirs, _pair


def _why(transfer: int, code: int = UNREAD) -> m.Extension:
    return m.Extension(FILE_RESULTS_CHANNEL, bytes([3]) + transfer.to_bytes(4, "big")
                       + bytes([code]))  # fmt: skip


@pytest.mark.parametrize("payload", [
    bytes([3]) + (0xFFFFFFFF).to_bytes(4, "big") + bytes([UNREAD]),  # never offered
    bytes([3]) + (5).to_bytes(4, "big") + bytes([200]),  # never offered, unknown code
    bytes([3]) + (1).to_bytes(4, "big"),  # too short
    bytes([3]) + (1).to_bytes(4, "big") + bytes([UNREAD, 0]),  # too long
])
def test_a_withdrawal_of_nothing_or_malformed_ends_the_session(
        tmp_path: Path, payload: bytes) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)

    async def main() -> object:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            seen = _Seen(host.events())
            await viewer._send(m.Extension(FILE_RESULTS_CHANNEL, payload))
            return await seen.first((SessionEnded,))

    ended = run(main())
    assert isinstance(ended, SessionEnded) and "withdrawal" in ended.reason, ended
    assert not any(host_dir.iterdir())


def test_a_repeated_withdrawal_changes_nothing(tmp_path: Path) -> None:
    """An offer refused, then withdrawn with a reason three times: the
    host's user is told of the refusal only, and the session goes on."""
    host_dir, viewer_dir = _dirs(tmp_path)

    async def no(info: FileOfferInfo) -> bool:
        return False

    async def main() -> list[object]:
        async with _pair(host_dir, viewer_dir, host_says=no) as (host, viewer):
            seen = _Seen(host.events())
            src = tmp_path / "a.txt"
            src.write_bytes(b"a" * 100)
            assert (await viewer.sender.send(src)).outcome == "declined"
            for _ in range(3):
                await viewer._send(_why(1))
            await _in_order(viewer.chat, seen)
            await _alive(host, viewer)
            return seen.of(FileRefused)

    assert run(main()) == []  # asked and refused: nothing more to tell
    assert not any(host_dir.iterdir())


def test_a_reason_for_an_open_question_does_not_put_words_in_the_users_mouth(
        tmp_path: Path) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    asked = asyncio.Event()

    async def reading(info: FileOfferInfo) -> bool:
        asked.set()
        await asyncio.Event().wait()  # the user is still reading the question
        return True

    async def main() -> FileRefused:
        async with _pair(host_dir, viewer_dir, host_says=reading) as (host, viewer):
            seen = _Seen(host.events())
            src = tmp_path / "report.pdf"
            src.write_bytes(b"r" * 10)
            sending = asyncio.ensure_future(viewer.sender.send(src))  # transfer 1
            await asyncio.wait_for(asked.wait(), 10)
            await viewer._send(_why(1))  # before any yes
            told = await seen.first((FileRefused,))
            assert isinstance(told, FileRefused)
            assert (await sending).outcome == "declined"
            return told

    told = run(main())
    assert told.why != WITHDRAWN_UNREAD and "after the yes" not in told.why
    assert not any(host_dir.iterdir())
