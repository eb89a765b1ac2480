"""odds40: the audit log's reason for a first grant without CONTROL on a
resumed link, "the session it took up held no control" (words39, untested
until now). An agent whose link was lost comes back with its ticket and
asks for VIEW and CONTROL, as ``view`` and ``view --web`` ask for what
they held; the host takes the session up without asking its user and
grants what it held: VIEW alone when the host's user took CONTROL back
while the agent was away, or when it never held CONTROL. The resumed
link's file says so on its grant row, from the host's own facts; a
session that held CONTROL gets it back, and its row has no such reason.
Real host with a recorder, viewers on loopback through a cutting proxy
(tests/transport/test_resume.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport import CONTROL, VIEW, Permission

from .helpers import run
from .test_resume import _granted, _lose, _Setup

HELD_NO_CONTROL = "the session it took up held no control"


def _grants(session: SessionRecorder) -> list[dict[str, Any]]:
    with RecordingReader(session.path) as reader:
        return [{k: v for k, v in e.items() if k != "t"}
                for e in reader.events() if e["type"] == "grant"]  # fmt: skip


@pytest.mark.parametrize("how", ["control taken back while away", "held view only",
                                 "held control"])  # fmt: skip
def test_the_grant_of_a_resumed_link_says_why_it_holds_no_control(
    tmp_path: Path, how: str
) -> None:
    first = VIEW if how == "held view only" else VIEW | CONTROL

    async def main() -> tuple[SessionRecorder, Permission, int]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join(first)
            assert viewer.level == first
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            if how == "control taken back while away":
                await s.host.revoke(CONTROL)
            again, task2 = await s.join(VIEW | CONTROL, resume=ticket)
            level = again.level
            await again.bye()
            await task2
            _lost, resumed = sorted(await asyncio.to_thread(recorder.wait, 2, timeout=10.0),
                                    key=lambda r: r.start_unix)  # fmt: skip
        return resumed, level, len(s.asked)

    resumed, level, asked = run(main(), 60)
    assert asked == 1  # the host's user was asked once, at the first link only
    if how == "held control":
        assert level == VIEW | CONTROL
        assert _grants(resumed) == [{"type": "grant", "level": str(VIEW | CONTROL)}]
    else:
        assert level == VIEW
        assert _grants(resumed) == [{"type": "grant", "level": str(VIEW),
                                     "no_control": HELD_NO_CONTROL}]  # fmt: skip
