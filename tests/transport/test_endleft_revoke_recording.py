"""endleft: a live revoke of VIEW ends its recording with the host user's
words, "the local user stopped sharing", as the revoke of an agent away
does (test_auditleft_away.py), not the link's "closed locally".

Real host with a recorder, a viewer on loopback (tests/transport/test_resume.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.recording import Recorder
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport import CONTROL, VIEW
from screencodec.transport.session.events import SessionEnded

from .helpers import run
from .test_auditleft_away import _log
from .test_resume import _granted, _Setup


def test_a_live_revoke_of_view_ends_the_recording_as_the_users_stop(tmp_path: Path) -> None:
    async def main() -> tuple[SessionRecorder, SessionEnded, str]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task = await s.join(VIEW | CONTROL)
            await _granted(viewer)
            await s.host.revoke(VIEW)
            ended = await s.event(SessionEnded)
            told = await asyncio.wait_for(task, 10)
            (kept,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        assert isinstance(ended, SessionEnded)
        return kept, ended, told

    kept, ended, told = run(main(), 60)
    assert told == "host said bye: the local user stopped sharing"
    assert ended.reason == "the local user stopped sharing", ended
    events, end = _log(kept)
    # Found before: END reason "closed locally" (the link's own close).
    assert end["reason"] == "the local user stopped sharing", end
    rows = [(e["type"], e.get("level"), e.get("remaining"), e.get("by"), e.get("reason"),
             e.get("from")) for e in events if e["type"] in ("revoke", "bye")]  # fmt: skip
    # Nothing outlives the view: the whole level is taken (found before stop
    # 34's Permission.taking: level "view", remaining "control").
    assert rows == [("revoke", str(VIEW | CONTROL), "none", "host", None, None),
                    ("bye", None, None, None, "the local user stopped sharing", "host")], rows
