"""attack36: a hostile viewer's STOPPED withdrawals (files36: file-results
payload 0x03 + transfer u32 + STOPPED) against a real host over sealed
channels on loopback: of a file the host already saved (repeated), and of
a transfer number another agent's file is arriving under.

Expected: the saved file stays and nothing is told of it (the file was
whole: the withdrawal came after its end); a withdrawal of a number this
agent never offered ends its own session (ProtocolError), and the other
agent's file arrives whole, no ``.part`` left in the folder.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from screencodec.transport import VIEW, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileReceived, FileRefused, SessionEnded
from screencodec.transport.session.files.wire import STOPPED
from screencodec.transport.session.sidechannels import FILE_RESULTS_CHANNEL

from .secure_fixtures import run
from .test_file_offer_given_up import _in_order, _Seen
from .test_fileresult_session import _alive, _dirs, _pair


def _stopped(transfer: int) -> m.Extension:
    return m.Extension(FILE_RESULTS_CHANNEL, bytes([3]) + transfer.to_bytes(4, "big")
                       + bytes([STOPPED]))  # fmt: skip


def test_stopped_withdrawals_of_a_saved_file_change_nothing(tmp_path: Path) -> None:
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "a.bin"
    body = os.urandom(200_000)
    src.write_bytes(body)

    async def main() -> list[object]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            seen = _Seen(host.events())
            assert (await viewer.sender.send(src)).outcome == "delivered"
            await seen.first((FileReceived,))
            for _ in range(3):
                await viewer._send(_stopped(1))
            await _in_order(viewer.chat, seen)
            await _alive(host, viewer)
            return seen.of(FileRefused)

    assert run(main()) == []
    assert [p.name for p in host_dir.iterdir()] == ["a.bin"]
    assert (host_dir / "a.bin").read_bytes() == body


def test_a_stopped_withdrawal_of_another_agents_transfer_ends_only_the_withdrawer(
        tmp_path: Path) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    body = os.urandom(3_000_000)
    src.write_bytes(body)

    async def main() -> tuple[str, object]:
        async with _pair(host_dir, viewer_dir) as (host, alice):
            seen = _Seen(host.events())
            # A second agent on the same host (a listener of its own).
            listener = await listen_direct("127.0.0.1", 0, _CREDS, host.serve)
            async with listener:
                channel = await connect_direct("127.0.0.1", listener.port, _CREDS.code,
                                               _CREDS.password)  # fmt: skip
                mallory = Viewer(channel, who="Mallory")
                await mallory.start(VIEW)
                running = asyncio.ensure_future(mallory.run())
                sending = asyncio.ensure_future(alice.sender.send(src))  # transfer 1
                await asyncio.sleep(0)
                await mallory._send(_stopped(1))
                ended = await seen.first((SessionEnded,))
                outcome = (await sending).outcome
                await _alive(host, alice)
                running.cancel()
                return outcome, ended

    outcome, ended = run(main())
    assert outcome == "delivered"
    assert isinstance(ended, SessionEnded) and ended.who == "Mallory", ended
    assert "withdrawal" in ended.reason, ended
    assert [p.name for p in host_dir.iterdir()] == ["big.bin"]
    assert (host_dir / "big.bin").read_bytes() == body


_CREDS = SessionCredentials()
