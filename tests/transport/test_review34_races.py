"""review34: the host's user ending a session at an awkward moment.

* ``Host.disconnect`` while a lost link is still cleaning up (a received
  file being saved, the encoder winding down): its ticket was not parked
  yet, so ``_end`` did not forget it, and the serve parked it afterwards.
  Found: the agent came back within the window and resumed unasked, after
  the host's user had ended the session.
* ``Host.disconnect`` from an extension handler of the session it ends,
  with a time limit (``HostConfig.max_duration``): ``asyncio.wait_for``
  (Python 3.11) runs the link in a task of its own, not ``serve``'s, so
  the disconnect waited for that session's own cleanup, which comes only
  once the handler returns. Found: 5.0 s (CLEANUP_WAIT), not at once.
* ``Host.revoke`` while a lost link is still cleaning up: the agent came
  back without the level, but no log said who took it.
* A host's reason beginning as an idle close does ("nothing received for
  "): its close record made a viewer that read it (not the Bye) take the
  end for a lost link.

Real host and viewers on loopback (tests/transport/test_resume.py's
setup, a cutting proxy); a slow cleanup is the encoder's shutdown held in
its worker thread."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from screencodec.errors import ConsentDeniedError
from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport import CONTROL, VIEW, Permission
from screencodec.transport.channel.sealed import SILENCE
from screencodec.transport.session.events import SessionEnded

from .helpers import ended_lost, run, until
from .test_auditleft_away import _held_layout
from .test_chatack_session import _link
from .test_endbye_disconnect import _DeafToBye, _session
from .test_resume import _granted, _lose, _Setup


def _slow_shutdown(link: Any, hold: threading.Event, entered: threading.Event) -> None:
    """``link``'s encoder shutdown (its cleanup's, in a worker thread) waits
    for ``hold``: a cleanup still under way when the host's user acts."""
    shutdown = link.stream.shutdown_encoder

    def slowly() -> None:
        entered.set()
        hold.wait(20)
        shutdown()

    link.stream.shutdown_encoder = slowly


def test_disconnect_while_a_lost_link_cleans_up_does_not_let_it_resume() -> None:
    async def main() -> tuple[float, int, list[Any]]:
        async with _Setup(resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            link = _link(s)
            hold, entered = threading.Event(), threading.Event()
            _slow_shutdown(link, hold, entered)
            s.proxy.cut()
            await ended_lost(viewer, task)
            await until(entered.is_set, 10, "the lost link's cleanup under way")
            try:
                ending = asyncio.ensure_future(s.host.disconnect(reason="done for today"))
                await until(lambda: link.ended_here is not None, 10, "disconnect began")
            finally:
                hold.set()
            await asyncio.wait_for(ending, 10)
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded)
            parked = s.host._runtime.tickets.parked()
            again, task2 = await s.join(resume=ticket)
            await until(lambda: again.resumed is not None, 10, "told of the session it left")
            resumed = again.resumed
            await again.bye()
            await task2
        return ended.resumable, len(s.asked), [parked, resumed]

    resumable, asked, (parked, resumed) = run(main(), 60)
    # Found: resumable 60.0, a parked ticket, asked 1, resumed True.
    assert (resumable, parked, asked, resumed) == (0.0, [], 2, False)


def test_disconnect_from_a_handler_with_a_time_limit_is_not_held() -> None:
    async def main() -> tuple[float, str]:
        async with _Setup(max_duration=120.0) as s:
            viewer, task = await s.join(VIEW)
            await _granted(viewer)
            took: list[float] = []

            async def hang_up(peer: str, _: bytes) -> bytes | None:
                began = time.monotonic()
                await s.host.disconnect(peer, reason="the agent hung up")
                took.append(time.monotonic() - began)
                return None

            s.host.register_channel("hangup", hang_up)
            await viewer.send_extension("hangup", b"")
            reason = await asyncio.wait_for(task, 15)
            await until(lambda: bool(took), 10, "the handler's disconnect returned")
        return took[0], reason

    took, reason = run(main(), 60)
    assert reason == "host said bye: the agent hung up"
    assert took < 4.0, took  # found: 5.0 s (CLEANUP_WAIT); 4: a loaded machine


def test_a_hosts_reason_that_reads_like_silence_is_not_a_lost_link() -> None:
    """The close record carries the host's reason since endbye; one that
    begins "nothing received for " (sealed.SILENCE, how an idle close
    begins) made a viewer that read the close record rather than the Bye
    take the end for a lost link (found: link_lost True: it would reconnect
    and present its ticket); a viewer that reads the Bye never did."""

    async def main() -> list[tuple[str, bool]]:
        got = []
        for wrap in (None, _DeafToBye):
            async with _session(None, wrap=wrap) as (host, viewer, running):
                await asyncio.wait_for(host.disconnect(reason=SILENCE + "a while"), 15)
                got.append((await asyncio.wait_for(running, 15), viewer.link_lost))
        return got

    (read, deaf) = run(main(), 60)
    assert read == (f"host said bye: {SILENCE}a while", False), read
    assert deaf[1] is False, deaf


def test_control_taken_back_while_a_lost_link_cleans_up_is_logged(tmp_path: Path) -> None:
    """Host.revoke(CONTROL) while the lost link is still cleaning up (its
    ticket not parked yet): the agent comes back without CONTROL, and the
    lost link's file says the host took it, as for a parked one (found: no
    row, its revoke went nowhere and its send failed quietly)."""

    async def main() -> tuple[Permission, list[dict[str, Any]]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join(VIEW | CONTROL)
            ticket = await _granted(viewer)
            link = _link(s)
            hold, entered = threading.Event(), threading.Event()
            _slow_shutdown(link, hold, entered)
            s.proxy.cut()
            await ended_lost(viewer, task)
            await until(entered.is_set, 10, "the lost link's cleanup under way")
            try:
                await asyncio.wait_for(s.host.revoke(CONTROL), 10)
            finally:
                hold.set()
            await s.event(SessionEnded)
            again, task2 = await s.join(VIEW | CONTROL, resume=ticket)
            level = again.level
            await again.bye()
            await task2
            lost, _ = sorted(await asyncio.to_thread(recorder.wait, 2, timeout=10.0),
                             key=lambda r: r.start_unix)  # fmt: skip
        with RecordingReader(lost.path) as reader:
            rows = [e for e in reader.events() if e["type"] == "revoke"]
        return level, rows

    level, rows = run(main(), 60)
    assert level == VIEW, level
    assert [{k: v for k, v in row.items() if k != "t"} for row in rows] == [{
        "type": "revoke", "level": str(CONTROL), "remaining": str(VIEW), "by": "host",
        "away": True}], rows  # fmt: skip


def test_the_limit_timer_of_a_session_whose_agent_came_back_ends_only_the_resumed_link(
        tmp_path: Path) -> None:  # fmt: skip
    """max_duration 3 s, the agent away and back before it: the away timer
    (Host._limit_away) finds its ticket claimed and does nothing; the
    resumed link ends at the limit of the first start, once; the lost
    link's file has no row of the host's and ends at the link's end."""

    async def main() -> tuple[str, float, list[SessionRecorder]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, max_duration=3.0, resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            started = _link(s).started
            await _lose(s, viewer, task)
            assert s.host._limits, "no limit timer while the agent is away"
            _, task2 = await s.join(resume=ticket)
            assert len(s.asked) == 1
            reason = await asyncio.wait_for(task2, 10)
            at = time.monotonic() - started
            sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
            await until(lambda: not s.host._limits, 5, "the away timer fired")
        return reason, at, sorted(sessions, key=lambda r: r.start_unix)

    reason, at, (lost, resumed) = run(main(), 60)
    assert reason == "host said bye: maximum session duration reached", reason
    assert 2.9 <= at <= 4.5, at
    with RecordingReader(lost.path) as reader:
        events, end = reader.events(), reader.meta()
    assert [e for e in events if e.get("away")] == [], events
    assert end["reason"].startswith("viewer gone"), end
    with RecordingReader(resumed.path) as reader:
        byes = [e for e in reader.events() if e["type"] == "bye"]
        assert reader.meta()["reason"] == "maximum session duration reached"
    assert [(b["from"], b["reason"]) for b in byes] == [
        ("host", "maximum session duration reached")], byes


def test_host_close_with_a_limit_timer_pending_ends_the_kept_file_once(tmp_path: Path) -> None:
    async def main() -> SessionRecorder:
        recorder = Recorder(tmp_path, host_id="test-host")
        s = _Setup(recorder=recorder, max_duration=30.0, resume_window=60.0)
        async with s:
            viewer, task = await s.join()
            await _granted(viewer)
            await _lose(s, viewer, task)
            assert s.host._limits
            (kept,) = recorder.sessions
        assert not s.host._limits and s.host._runtime.tickets.parked() == []
        return kept

    kept = run(main(), 60)
    assert kept.done.is_set()
    with RecordingReader(kept.path) as reader:
        rows = [e for e in reader.events() if e["type"] in ("bye", "revoke")]
        end = reader.meta()
    assert [(r["from"], r["reason"], r["away"]) for r in rows] == [
        ("host", "host ended", True)], rows  # fmt: skip
    assert end["reason"] == "ended by the host: host ended", end


def test_disconnect_while_the_agent_is_being_taken_up(tmp_path: Path) -> None:
    """The host's user ends the session while the agent's new link takes it
    up (its ticket claimed, the grant not sent): the agent is refused, its
    new link's file says the host ended it, and nothing may resume."""

    async def main() -> tuple[str, list[SessionRecorder], int]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            reading, release = _held_layout(s)
            joining = asyncio.ensure_future(s.join(resume=ticket))
            await asyncio.wait_for(reading.wait(), 10)
            ending = asyncio.ensure_future(s.host.disconnect(reason="done for today"))
            await until(lambda: all(x.ended_here for x in s.host._runtime.serving), 10)
            release.set()
            try:
                await asyncio.wait_for(joining, 10)
                refused = "joined"
            except ConsentDeniedError as exc:
                refused = str(exc)
            await asyncio.wait_for(ending, 10)
            sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
            held = len(s.host._runtime.tickets)
        return refused, sorted(sessions, key=lambda r: r.start_unix), held

    refused, (_, resumed), held = run(main(), 60)
    assert refused.endswith("(done for today)"), refused
    assert held == 0
    with RecordingReader(resumed.path) as reader:
        byes = [(e["from"], e["reason"]) for e in reader.events() if e["type"] == "bye"]
        assert reader.meta()["reason"] == "ended by the host: done for today"
    assert byes == [("host", "done for today")], byes


def test_the_time_limit_passing_while_the_agent_is_being_taken_up(tmp_path: Path) -> None:
    """max_duration 3 s passes while the agent's new link takes the session
    up (the ticket claimed before it, the grant not sent): the away timer
    finds the ticket claimed; the new link ends at the limit, the agent told
    why, its file saying it once."""

    async def main() -> tuple[str, list[SessionRecorder]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, max_duration=3.0, resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            started = _link(s).started
            await _lose(s, viewer, task)
            reading, release = _held_layout(s)
            joining = asyncio.ensure_future(s.join(resume=ticket))
            await asyncio.wait_for(reading.wait(), 10)
            await until(lambda: time.monotonic() > started + 3.2, 10, "the limit")
            release.set()
            try:
                await asyncio.wait_for(joining, 10)
                refused = "joined"
            except ConsentDeniedError as exc:
                refused = str(exc)
            sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        return refused, sorted(sessions, key=lambda r: r.start_unix)

    refused, (lost, resumed) = run(main(), 60)
    assert refused.endswith("(maximum session duration reached)"), refused
    with RecordingReader(lost.path) as reader:
        assert [e for e in reader.events() if e.get("away")] == []
    with RecordingReader(resumed.path) as reader:
        byes = [(e["from"], e["reason"]) for e in reader.events() if e["type"] == "bye"]
        assert reader.meta()["reason"] == "maximum session duration reached"
    assert byes == [("host", "maximum session duration reached")], byes


def test_disconnect_while_a_lost_link_cleans_up_is_logged_as_for_an_agent_away(
        tmp_path: Path) -> None:  # fmt: skip
    """The lost link's file says the host ended the session, as a parked
    one's does (an away bye, END 'ended by the host: R'); found: no bye row
    (the Bye could not go, the channel was closed), END 'viewer gone: ...'
    before the fix above, then no row."""

    async def main() -> SessionRecorder:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            link = _link(s)
            hold, entered = threading.Event(), threading.Event()
            _slow_shutdown(link, hold, entered)
            s.proxy.cut()
            await ended_lost(viewer, task)
            await until(entered.is_set, 10, "the lost link's cleanup under way")
            (kept,) = recorder.sessions
            try:
                ending = asyncio.ensure_future(s.host.disconnect(reason="done for today"))
                await until(lambda: link.ended_here is not None, 10, "disconnect began")
            finally:
                hold.set()
            await asyncio.wait_for(ending, 10)
            assert await asyncio.to_thread(kept.done.wait, 5.0), "the file stayed open"
        return kept

    kept = run(main(), 60)
    with RecordingReader(kept.path) as reader:
        rows = [e for e in reader.events() if e["type"] in ("bye", "revoke")]
        end = reader.meta()
    assert [(r["from"], r["reason"], r.get("away")) for r in rows] == [
        ("host", "done for today", True)], rows  # fmt: skip
    assert end["reason"] == "ended by the host: done for today", end
