"""review41a: the host's ``/stop`` (cancel36) once all of a file has gone
to the agent, whose save of it is not done yet (the same send as the view's
``/stop``, tests/test_review41a_view_stop_all_gone.py).

Found: the host said "you stopped sending notes.bin to 'Alice' (...) (100 kB
of 100 kB had gone); their viewer keeps nothing of it", and the agent's
viewer saved it; its answer, come after the cancel, was a protocol error at
the host ("file result for transfer 1, which is not awaited"): Alice's
session ended. Expected: the words true (all of it had gone: their viewer
may have kept it), the late answer ends nothing.

A real ``screencodec host`` on a pty; the agent a viewer in this process
with a download folder whose save of a whole file waits (a slow disk)
until the host's user has typed /stop."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from screencodec.transport.session.sidechannels import FileOfferInfo

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import AGENT, Where, goes_on, join, leave, run_to_bye, wait


async def _yes(info: FileOfferInfo) -> bool:
    return True


def _slow_save(viewer: Any) -> tuple[asyncio.Event, asyncio.Event]:
    """The viewer's saves of whole files wait for the second event; the
    first is set as one's FileEnd came (checked at once, as ever)."""
    receiver = viewer.files
    real = receiver.end
    came, go = asyncio.Event(), asyncio.Event()

    def end(msg: Any, peer: str, send: Any) -> Any:
        saving = real(msg, peer, send)

        async def later() -> None:
            came.set()
            await go.wait()
            await saving

        return later()

    receiver.end = end
    return came, go


def test_host_stop_after_all_went_says_their_viewer_may_have_kept_it(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(100_000))
    host = PtyHost()

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Alice", download_dir=inbox, file_consent=_yes)
        came, go = _slow_save(viewer)
        mark = len(host.text)
        host.type(f"/send {notes}")
        await asyncio.wait_for(came.wait(), 30)  # all of it went: the save waits
        host.type("/stop")
        said = await wait(host, r"you stopped [^\n]*notes\.bin[^\n]*\n", mark)
        go.set()
        for _ in range(500):
            if (inbox / "notes.bin").exists():
                break
            await asyncio.sleep(0.02)
        assert (inbox / "notes.bin").read_bytes() == notes.read_bytes()
        assert re.fullmatch(r"you stopped waiting for the word of notes\.bin from "
                            + AGENT.format(who="Alice") + r": all of it \(100 kB\) had gone,"
                            r" so their viewer may have kept it\n", said.group(0)), said.group(0)
        await goes_on(host, viewer, mark)  # the late answer ended nothing
        assert "error" not in host.text[mark:], host.text[mark:]
        await leave(viewer, task)

    run_to_bye(host, body)
