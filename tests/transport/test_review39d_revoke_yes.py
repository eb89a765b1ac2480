"""review39d: a level the host's user takes back right after their yes to a
first join, in the steps before the link is let in (2af728c reaches a link
from ``let_in`` on; before it, the answer travels through the consent
callback's task, the question queue and the link's wait).

The user's yes, then their ``/view`` (or ``/stop``) handled in the loop's
next step, as the CLI does two lines read together: the revoke must reach
the agent all the same. Real host and viewer on loopback (test_resume)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport import CONTROL, VIEW, Permission
from screencodec.transport.session.consent import ConsentRequest, Grant

from .helpers import run
from .test_resume import _Setup


def _answer_then_revoke(s: _Setup, level: Permission, peer: str | None = None) -> None:
    """The user says yes to what is asked, then takes ``level`` back at once."""

    async def consent(request: ConsentRequest) -> Grant:
        s.asked.append(request)
        # Runs in the loop's next step (kept: a task is held by reference).
        s.revoking = asyncio.ensure_future(s.host.revoke(level, peer))  # type: ignore[attr-defined]
        return Grant(request.level)

    s.host._runtime.consent = consent


def test_control_taken_back_just_after_the_yes(tmp_path: Path) -> None:
    """Let in to view only; the recording says the host took control back
    before the grant (not that the user let them view only)."""

    async def main() -> tuple[Permission, int, SessionRecorder]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            _answer_then_revoke(s, CONTROL)
            viewer, task = await s.join(VIEW | CONTROL)
            granted = viewer.level
            (link,) = s.host._runtime.links
            held = link.level.bits
            await viewer.bye("done")
            await asyncio.wait_for(task, 10)
            (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
            return granted, held, session

    granted, held, session = run(main(), 60)
    assert (granted, held) == (VIEW, VIEW.bits)
    with RecordingReader(session.path) as reader:
        events = reader.events()
    (revoke,) = [e for e in events if e["type"] == "revoke"]
    assert (revoke["level"], revoke["remaining"], revoke["away"]) == (
        str(CONTROL), str(VIEW), True), revoke  # fmt: skip
    (grant,) = [e for e in events if e["type"] == "grant"]
    assert (grant["level"], grant["no_control"]) == (
        str(VIEW), "the host's user took control back before the grant"), grant  # fmt: skip


def test_view_taken_back_just_after_the_yes(tmp_path: Path) -> None:
    """Refused; its recording says the host took view back, and why the
    deny, as for a revoke while the layout is read (2af728c)."""

    async def main() -> SessionRecorder:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            _answer_then_revoke(s, VIEW)
            with pytest.raises(ConsentDeniedError):
                await s.join(VIEW | CONTROL)
            assert not s.host._runtime.links
            (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return session

    with RecordingReader(run(main(), 60).path) as reader:
        events = reader.events()
    (revoke,) = [e for e in events if e["type"] == "revoke"]
    assert (revoke["level"], revoke["remaining"], revoke["away"]) == (
        str(VIEW | CONTROL), str(Permission()), True), revoke  # fmt: skip
    assert [e for e in events if e["type"] == "grant"] == []
    (deny,) = [e for e in events if e["type"] == "deny"]
    assert deny["why"] == "the host's user took view back before the grant", deny


def test_a_revoke_naming_another_agent_leaves_this_one() -> None:
    async def main() -> Permission:
        async with _Setup(resume_window=60.0) as s:
            _answer_then_revoke(s, CONTROL, peer="someone-else")
            viewer, task = await s.join(VIEW | CONTROL)
            granted = viewer.level
            await viewer.bye("done")
            await asyncio.wait_for(task, 10)
            return granted

    assert run(main(), 60) == VIEW | CONTROL
