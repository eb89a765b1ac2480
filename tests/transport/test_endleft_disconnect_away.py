"""endleft: Host.disconnect waits for the recordings of the sessions it
ends while their agent is away (parked after a lost link), as it waits for
the live ones' (test_endbye_disconnect.py), within the same CLEANUP_WAIT.
Found before: it ended them (END written by the recording's worker later)
and returned at once, with the files still open.

Real host with a recorder, a viewer on loopback through the cutting proxy
(tests/transport/test_resume.py); a slow disk is the recording's last
write (SessionRecorder._finish, in its worker thread) made slow or stuck."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from screencodec.recording import Recorder
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport.session.host import CLEANUP_WAIT

from .helpers import run
from .test_auditleft_away import _log
from .test_resume import _granted, _lose, _Setup


def _slow_finish(monkeypatch: pytest.MonkeyPatch, hold: threading.Event | None) -> None:
    """The recording's END is written 0.5 s late (``hold`` None) or once
    ``hold`` is set (a disk that stopped answering)."""
    finish = SessionRecorder._finish

    def slowly(self: SessionRecorder, rel: float, reason: str, closed_by: str | None) -> None:
        if hold is None:
            time.sleep(0.5)
        else:
            hold.wait(30)
        finish(self, rel, reason, closed_by)

    monkeypatch.setattr(SessionRecorder, "_finish", slowly)


def test_disconnect_returns_once_an_away_sessions_recording_has_ended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _slow_finish(monkeypatch, None)

    async def main() -> SessionRecorder:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            await _lose(s, viewer, task)
            (kept,) = recorder.sessions
            assert not kept.done.is_set()  # kept open: the agent may come back
            await asyncio.wait_for(s.host.disconnect(reason="done for today"), 15)
            assert kept.done.is_set(), "disconnect returned with the away session's file open"
        return kept

    _, end = _log(run(main(), 60))
    assert end["reason"] == "ended by the host: done for today", end


def test_disconnect_waits_for_an_away_sessions_stuck_disk_no_longer_than_its_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    hold = threading.Event()
    _slow_finish(monkeypatch, hold)

    async def main() -> float:
        recorder = Recorder(tmp_path, host_id="test-host")
        try:
            async with _Setup(recorder=recorder, resume_window=60.0) as s:
                viewer, task = await s.join()
                await _granted(viewer)
                await _lose(s, viewer, task)
                (kept,) = recorder.sessions
                began = time.monotonic()
                await asyncio.wait_for(s.host.disconnect(), CLEANUP_WAIT + 10)
                took = time.monotonic() - began
                assert not kept.done.is_set()
                hold.set()
        finally:
            hold.set()
        return took

    took = run(main(), 60)
    assert CLEANUP_WAIT - 0.1 <= took <= CLEANUP_WAIT + 1.0, took
