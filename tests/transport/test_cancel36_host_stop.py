"""cancel36: the host's user stops a file they are sending. ``screencodec
host`` had no command for it: a ``/send`` under way went on until it was
all sent, or the session ended. Now ``/stop`` stops every file being sent
(``/stop NAME`` only those of that name), through the send's cancellation:
the agent's side (files36's STOPPED withdrawal) removes what it has of the
file and says so; the host's line says what was stopped and how much had
gone. ``/help`` lists it; ``/stop`` with nothing under way says so.

A real ``screencodec host`` on a pty; the agent is a viewer in this
process with a download folder, whose receiving is slowed (each chunk waits
50 ms before it is taken), so that ``/stop`` lands mid-file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.transport import Viewer
from screencodec.transport.session.events import FileRefused
from screencodec.transport.session.sidechannels import WITHDRAWN_STOPPED, FileOfferInfo

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import AGENT, Where, goes_on, inbox_big, join, leave, run_to_bye, wait


async def _yes(info: FileOfferInfo) -> bool:
    return True


def _slowed(viewer: Any) -> None:
    """Each chunk the viewer receives waits 50 ms first (its link then holds the host)."""
    receiver = viewer.files
    real = receiver.chunk

    async def chunk(msg: Any, send: Any) -> None:
        await asyncio.sleep(0.05)
        await real(msg, send)

    receiver.chunk = chunk


async def _join_receiving_slowly(
    host: PtyHost, at: Where, inbox: Path
) -> tuple[Viewer, asyncio.Task[str]]:
    """Alice joins, saving every file offered her in *inbox*, :func:`_slowed`."""
    viewer, task = await join(host, at, "Alice", download_dir=inbox, file_consent=_yes)
    _slowed(viewer)
    return viewer, task


def test_stop_mid_send_withdraws_the_file_at_the_agent(tmp_path: Path) -> None:
    inbox, big = inbox_big(tmp_path)
    host = PtyHost()

    async def body(at: Where) -> None:
        viewer, task = await _join_receiving_slowly(host, at, inbox)
        seen: list[FileRefused] = []

        async def collect() -> None:
            async for ev in viewer.events():
                if isinstance(ev, FileRefused):
                    seen.append(ev)

        collecting = asyncio.ensure_future(collect())
        mark = len(host.text)
        host.type(f"/send {big}")
        await wait(host, r"offering .*big\.bin \(4\.2 MB\) to ", mark)
        for _ in range(500):  # its first bytes are written, the rest comes slowly
            if any(p.name.startswith(".big.bin.part-") for p in inbox.iterdir()):
                break
            await asyncio.sleep(0.01)
        assert [n > 0 for _, n in viewer.files.receiving()] == [True]
        mark = len(host.text)
        host.type("/stop")
        said = await wait(host, r"you stopped sending big\.bin to " + AGENT.format(who="Alice")
                          + r" \([\d.]+ [kM]?B of 4\.2 MB had gone\); their viewer keeps"
                          r" nothing of it\n", mark)  # fmt: skip
        for _ in range(500):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert [(ev.name, ev.why) for ev in seen] == [("big.bin", WITHDRAWN_STOPPED)]
        assert 0 < seen[0].received < 4 << 20
        assert list(inbox.iterdir()) == []
        # Nothing more under way; the session goes on.
        host.type("/stop")
        await wait(host, r"\(no file is being sent or received: nothing to stop\)\n",
                   said.end())  # fmt: skip
        host.type("/help")
        await wait(host, r"  /stop \[NAME\] +stop the files being sent \(/send\) or received",
                   said.end())  # fmt: skip
        await goes_on(host, viewer, said.end())
        collecting.cancel()
        await leave(viewer, task)

    run_to_bye(host, body)
    assert list(inbox.iterdir()) == []
