"""review33: a link's recording ends when its session is over.

chatleft (1eee045) ends a link's file from its chat ledger's ``on_over``
(told by ``give_up`` or ``taken_up``), so that a lost link's file stays open
while the agent may come back. A link that ended before its ledger was
bound (consent denied, the agent gone while the question was open, no
request in time) never gets there: ``ChatLedger.detach`` returns at once for
an owner it was never bound to, ``give_up`` is never called, and the file
stays open (its thread, its descriptor, no END) until the host closes, when
it ends "host closed" instead of its reason.

Real host with a recorder, viewers on loopback (tests/transport/test_resume.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from screencodec.errors import ScreencodecError
from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport import VIEW, Permission, Viewer
from screencodec.transport.session.events import SessionEnded

from .helpers import run, until
from .test_chatleft_audit import _chat
from .test_resume import _granted, _lose, _Setup


def test_a_denied_sessions_recording_ends_with_its_reason(tmp_path: Path) -> None:
    async def main() -> tuple[list[str], list[str]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, answer=Permission(0)) as s:
            viewer = Viewer(await s.connect(), who="Mallory")
            with pytest.raises(ScreencodecError):
                await viewer.start(VIEW)
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded) and ended.reason == "consent denied"
            # The session is over: its file ends now, not when the host closes.
            done = await asyncio.to_thread(recorder.wait, 1, timeout=5.0)
            live = [r.path.name for r in recorder.sessions]
        reasons = []
        for session in recorder.finished:
            with RecordingReader(session.path) as reader:
                reasons.append(reader.meta()["reason"])
        return [d.path.name for d in done] + live, reasons

    names, reasons = run(main(), 30)
    assert reasons == ["consent denied"], (names, reasons)


def test_revoking_view_from_an_agent_away_ends_its_recording_with_the_unsent_line(
        tmp_path: Path) -> None:  # fmt: skip
    """The host's user takes VIEW back from an agent whose link was lost: the
    session is over (the ticket is dropped, the agent may not come back), so
    its file ends now with the line kept for the agent logged "not
    delivered", as when the user ends it (Host.disconnect). Found: the file
    stayed open until the ticket's window ran out, and a host closed before
    then ended it "host closed" with the line in no log."""

    async def main() -> list[SessionRecorder]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            await _lose(s, viewer, task)
            await s.host.send_chat("are you back?")
            await s.host.revoke(VIEW)
            return await asyncio.to_thread(recorder.wait, 1, timeout=5.0)

    done = run(main(), 30)
    assert len(done) == 1, "the file stayed open after VIEW was revoked from the agent away"
    chat, end = _chat(done[0])
    assert [(e["text"], e.get("outcome")) for e in chat] == [("are you back?", "not delivered")]
    # How the session ended (auditleft: the link's reason, "viewer gone: ...").
    assert end["reason"] == "the local user stopped sharing", end


def test_a_lost_links_file_that_nobody_resumed_ends_at_the_links_end(tmp_path: Path) -> None:
    """The agent's link is lost and the agent does not come back, nothing
    was typed meanwhile: the file is kept open until the ticket runs out,
    but its END (time, ``duration``, ``end_unix``) is the link's, as when
    the agent comes back: nothing of the session happened after it. Found:
    END at the ticket's expiry, the away time counted in the link's
    duration (a 60 s window made every dropped link 60 s longer)."""

    async def main() -> tuple[SessionRecorder, float]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=2.0) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            await _lose(s, viewer, task)
            lost_at = time.monotonic()
            (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return session, lost_at

    session, lost_at = run(main(), 30)
    chat, end = _chat(session)
    assert chat == []
    assert end["reason"].startswith("viewer gone"), end
    # The link ended before the host's SessionEnded came (lost_at); the
    # ticket ran out 2 s after.
    assert end["duration"] <= lost_at - session.t0 + 0.05, (end["duration"], lost_at - session.t0)


def test_a_ticket_presented_after_the_sessions_time_limit_ends_the_lost_links_file(
        tmp_path: Path) -> None:  # fmt: skip
    """The agent comes back with its ticket after the session's time limit
    (HostConfig.max_duration) ran out while it was away: the ticket is spent
    and a new session is asked about, so the lost session is over: its file
    ends now, with the line kept for the agent "not delivered". Found: it
    stayed open until the ticket's window (60 s) ran out; a host closed
    before that ended it "host closed" with the line in no log."""

    async def main() -> tuple[SessionRecorder, bool]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, max_duration=2.0, resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            (lost,) = recorder.sessions
            await s.host.send_chat("are you back?")
            # The session's hour is up (not an assertion; 2 s: the line above
            # must go before the limit, which now ends the session at its time).
            await asyncio.sleep(2.1)
            _, task2 = await s.join(resume=ticket)
            assert len(s.asked) == 2  # a new session, asked about
            ended = await asyncio.to_thread(lost.done.wait, 5.0)
            await task2
        return lost, ended

    lost, ended = run(main(), 60)
    assert ended, "the lost link's file stayed open after its ticket was spent"
    chat, end = _chat(lost)
    assert [(e["text"], e.get("outcome")) for e in chat] == [("are you back?", "not delivered")]
    # The limit ended it, at its time now (auditleft: the link's reason
    # "viewer gone: ...", when the ticket came; test_auditleft_away.py).
    assert end["reason"] == "maximum session duration reached", end


def test_a_resumed_link_lost_before_its_grant_keeps_its_file_for_the_agents_return(
        tmp_path: Path) -> None:  # fmt: skip
    """The agent comes back with its ticket, and its new link is lost while
    the host reads the screen's layout for it (before the grant: the chat of
    the session not yet bound to it, no new ticket given). review33 spent the
    ticket there and ended the new link's file (it had stayed open the old
    window's 60 s); the agent, whose only ticket that was, was then asked
    about again (smallleft35). Since resumegrant35 the session is parked
    again (away as before it, for what was left of its window: attack35):
    the file stays open, the agent comes back with the same ticket unasked,
    the cut link's file ends then, and the next link's consent event names
    it as the file before (the chain is whole)."""

    async def main() -> tuple[SessionRecorder, SessionRecorder, bool, bool]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            reading, release = asyncio.Event(), asyncio.Event()
            hub = s.host._runtime.hub  # the links' (ViewerLink.host)
            layout = hub.layout

            async def held_layout(index: int) -> object:
                reading.set()
                await release.wait()
                return await layout(index)

            hub.layout = held_layout  # type: ignore[method-assign]
            joining = asyncio.ensure_future(s.join(resume=ticket))
            await asyncio.wait_for(reading.wait(), 10)
            # The newest recording is the new link's. Not "the second of two
            # live": the lost link's file ends at the claim (link.py,
            # ChatLedger.taken_up), and its writer thread may have left the
            # live list by now (fresh133 under load: one live, not two).
            cut = max(recorder.sessions, key=lambda r: r.start_unix)
            s.proxy.cut()
            release.set()
            with pytest.raises((ScreencodecError, OSError)):
                await asyncio.wait_for(joining, 10)
            ended = await s.event(SessionEnded)
            # Away as before the cut link, for what was left of its window (attack35).
            assert isinstance(ended, SessionEnded) and 55.0 < ended.resumable < 60.0
            assert ended.who == "Alice (support)"
            kept_open = not cut.done.is_set()
            hub.layout = layout  # type: ignore[method-assign]
            again, task2 = await s.join(resume=ticket)
            assert len(s.asked) == 1
            cut_ended = await asyncio.to_thread(cut.done.wait, 5.0)
            (last,) = [r for r in recorder.sessions if r is not cut]
            await again.bye()
            await task2
        return cut, last, kept_open, cut_ended

    cut, last, kept_open, cut_ended = run(main(), 60)
    assert kept_open, "the cut link's file ended while its agent could still come back"
    assert cut_ended, "the cut link's file stayed open once its agent was back"
    with RecordingReader(cut.path) as reader:
        assert reader.meta()["reason"].startswith("viewer gone")
    assert last.join(30.0)
    with RecordingReader(last.path) as reader:
        (consent,) = [e for e in reader.events() if e["type"] == "consent"]
    assert consent["resumed"] is True and consent["earlier"]["file"] == cut.path.name


def test_a_file_kept_open_for_an_agent_away_lets_go_of_its_decoders(tmp_path: Path) -> None:
    """A lost link's file stays open while its agent may come back (up to
    the ticket's window: 60 s by default, longer if the host says so), but
    nothing of the stream comes to it any more: the decoders that checked
    its pictures (a 1080p session's framebuffer, about 9 MB each: review3)
    go at the link's end, not at the window's. Found: kept the whole window."""

    async def main() -> bool:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            (lost,) = recorder.sessions
            # Its worker has decoded the first picture (on its own thread).
            await until(lambda: lost._decoder is not None, 5, "the file's decoder")
            await _lose(s, viewer, task)
            await until(lambda: lost._decoder is None and lost._pointer is None, 5,
                        "the kept file let go of its decoders")  # fmt: skip
            await s.host.send_chat("are you back?")  # it is still open
            return not lost.done.is_set()

    assert run(main(), 30), "the file kept open for the agent"


def test_local_input_while_one_agent_is_away_goes_to_the_other_agents_file(
        tmp_path: Path) -> None:  # fmt: skip
    """Two agents; one's link is lost (its file kept open for it), the other's
    is up. The local user types: the audit log of the link that is up has
    it, the kept file does not (it ends at its link's end when its agent comes
    back: recording.md "A resumed link"). Pins chatleft's Recorder.local_input,
    untested before."""

    async def main() -> tuple[SessionRecorder, SessionRecorder]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            away, away_task = await s.join(who="Alice (support)")
            ticket = await _granted(away)
            up, up_task = await s.join(who="Bob (support)")
            await _granted(up)
            kept = min(recorder.sessions, key=lambda r: r.start_unix)  # Alice's
            s.proxy.cut()  # both links go through the proxy: Bob joins anew below
            await asyncio.wait_for(asyncio.gather(away_task, up_task), 10)
            up, up_task = await s.join(who="Bob (support)")
            await _granted(up)
            live = max(recorder.sessions, key=lambda r: r.start_unix)  # Bob's new link
            s.host.local_input_activity("keyboard")
            await until(lambda: live.audit.open_intervals, 5, "the local input logged")
            again, again_task = await s.join(resume=ticket)
            await _granted(again)
            await again.bye()
            await up.bye()
            await asyncio.gather(again_task, up_task)
        return kept, live

    kept, live = run(main(), 60)
    with RecordingReader(kept.path) as reader:
        assert [e for e in reader.events() if e["type"] == "input"] == []
    with RecordingReader(live.path) as reader:
        local = [e for e in reader.events() if e["type"] == "input" and e["who"] == "local"]
    assert [e["device"] for e in local] == ["keyboard"]
