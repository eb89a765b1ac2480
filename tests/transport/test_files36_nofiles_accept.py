"""files36: the host's ``/send`` offers a file to an agent whose program
said up front it takes none (Capabilities NO_FILES), only so that its
terminal tells the agent the host's user tried (it refuses it unasked; the
host's user was told "not sent ...: their program takes no files"). A
viewer that said so and then accepts such an offer must get none of the
file: its yes is a ProtocolError at the host, which ends the session
before a byte of it goes. Real Host and Viewer over sealed channels on
loopback; the lying viewer is one that takes files and declares NO_FILES
all the same."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import SessionClosedError
from screencodec.transport import VIEW, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileSent, SessionEnded
from screencodec.transport.session.sidechannels import FileOfferInfo

from .secure_fixtures import run
from .test_fileresult_session import _grant


def test_a_viewer_that_said_it_takes_no_files_gets_none_by_saying_yes(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    inbox = tmp_path / "in"
    inbox.mkdir()
    asked: list[str] = []

    async def yes(info: FileOfferInfo) -> bool:
        asked.append(info.name)
        return True

    async def main() -> tuple[bool, object, str]:
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=_grant,
                    config=HostConfig(download_dir=tmp_path / "host-in"))  # fmt: skip
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            full = m.Capabilities.full()
            lying = dataclasses.replace(full, flags=full.flags | m.Capabilities.NO_FILES)
            viewer = Viewer(channel, who="Mallory", download_dir=inbox, file_consent=yes,
                            capabilities=lying)  # fmt: skip
            events = host.events()
            await viewer.start(VIEW)
            running = asyncio.ensure_future(viewer.run())
            takes = host.takes_files(host.viewers[0])
            try:
                outcome: object = await host.send(big, host.viewers[0])
            except SessionClosedError as exc:
                outcome = exc
            try:
                ended = await asyncio.wait_for(_ended(events), 10)
            except asyncio.TimeoutError:
                ended = "(it goes on)"
            await viewer.bye("done")
            await asyncio.wait_for(running, 10)
            return takes, outcome, ended

    takes, outcome, ended = run(main(), timeout=60)
    assert takes is False  # it said so up front
    assert asked == ["big.bin"]  # its user said yes
    assert list(inbox.iterdir()) == []  # none of it went
    assert isinstance(outcome, FileSent) and outcome.outcome == "declined", outcome
    assert ended == "protocol error: transfer 1 accepted by a peer that said it takes no files"


async def _ended(events: AsyncIterator[object]) -> str:
    async for ev in events:
        if isinstance(ev, SessionEnded):
            return ev.reason
    return ""
