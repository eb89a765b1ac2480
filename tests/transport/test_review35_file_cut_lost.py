"""review35: what a host's FileCut (smallleft35, ab49959) says of a file
cut because the agent's link went, not because the session ended.

* The link reset mid-file (the agent may resume): ``CUT_LOST``.
* The link dead but not yet noticed, and the agent back on a new
  connection with its ticket (a take-over, ``SessionEnded.moved``): the
  session goes on, so ``CUT_LOST`` too ("the file is not resumed: send it
  again"), not ``CUT_ENDED`` ("the session ended"), which a program
  reading the events takes for the session's end.

Real Host and Viewer, sealed channels over loopback TCP through a proxy
whose connections the test resets (cut) or abandons (the host's side open
and silent)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport import VIEW, FileCut, Viewer
from screencodec.transport.session.events import CUT_LOST, SessionEnded
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import ended_lost
from .secure_fixtures import FAST, run
from .test_resume import _granted, _Setup

MiB = 1 << 20


async def _yes(_offer: FileOfferInfo) -> bool:
    return True


@pytest.mark.parametrize("how", ["reset", "taken over"])
def test_a_file_cut_by_the_agents_link_going_is_told_lost(tmp_path: Path, how: str) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 * MiB))
    inbox = tmp_path / "agent-in"
    inbox.mkdir()

    async def main() -> tuple[list[FileCut], list[SessionEnded]]:
        async with _Setup(resume_window=60.0) as s:
            viewer = Viewer(await s.connect(FAST), who="Alice (support)", download_dir=inbox,
                            file_consent=_yes)  # fmt: skip
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            ticket = await _granted(viewer)
            going = asyncio.Event()

            def sending(sent: int, _size: int) -> None:
                if sent:
                    going.set()

            sent = asyncio.ensure_future(s.host.send(big, s.host.viewers[0], on_sending=sending))
            await asyncio.wait_for(going.wait(), 10)
            if how == "reset":
                s.proxy.cut()
            else:
                s.proxy.abandon()  # the agent's side gone, the host's open and silent
            await ended_lost(viewer, task)
            back = None
            if how == "taken over":
                back = await s.join(VIEW, resume=ticket)
            with pytest.raises(SessionClosedError):
                await asyncio.wait_for(sent, 20)
            cuts: list[FileCut] = []
            while True:
                ev = await s.event(SessionEnded)
                cuts += [e for e in s.seen if isinstance(e, FileCut)]
                assert isinstance(ev, SessionEnded)
                if back is not None:
                    await back[0].bye("done")
                    await asyncio.wait_for(back[1], 10)
                return cuts, [ev]

    cuts, ends = run(main(), timeout=60)
    if how == "taken over":
        assert ends[0].moved, ends
    else:
        assert ends[0].resumable > 0, ends
    assert len(cuts) == 1, cuts
    # Found (taken over): 'ended', 'the session ended'.
    assert (cuts[0].cause, cuts[0].why) == (CUT_LOST, "the connection was lost"), cuts
