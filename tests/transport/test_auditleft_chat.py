"""auditleft: what the host's audit log missed of chat and local input.

* A host line that went, and whose acknowledgement never came before the
  session ended, is told "not confirmed" to the host's user; the log had
  its ``chat`` row and nothing else (only a ``chat_delivered`` missing
  said it). Now a ``chat_outcome`` row says "not confirmed".
* A host line given while the agent's session is being taken up (its
  ticket claimed, the new link not joined yet: review33 keeps it for the
  new link) went first there, and was logged as if typed on a live link:
  no ``typed``, no ``resent``. Now as any line held while the link was down.
* The local user's input after a link's channel closed, before its file's
  END (the link's cleanup: its encoder, a file being saved), was dropped.

Real host with a recorder, viewers on loopback through a proxy
(tests/transport/test_resume.py); recording/audit.py, docs/recording.md."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder

from .helpers import run, until
from .test_chatack_session import _link, _Seen
from .test_resume import _granted, _lose, _Setup


def _log(session: SessionRecorder) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with RecordingReader(session.path) as reader:
        return reader.events(), reader.meta()


def test_a_line_not_confirmed_has_an_outcome_row(tmp_path: Path) -> None:
    """The agent's acknowledgements are lost (its uplink dies), a host line
    reaches it, the link is cut and the host's user ends the session: the
    user is told "not confirmed", and so is the audit log."""

    async def main() -> tuple[SessionRecorder, dict[int, str]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            told = _Seen(s.host)
            viewer, task = await s.join()
            await _granted(viewer)
            await s.host.send_chat("seen")
            await until(lambda: _link(s).chats.waiting == 0, 10, "the first line confirmed")
            s.proxy.mute("viewer")  # its acknowledgement never comes
            await s.host.send_chat("did you get this?")
            await until(lambda: viewer.chats.received == 2, 10, "the agent read it")
            await _lose(s, viewer, task)
            await s.host.disconnect()
            (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
            await until(lambda: 2 in told.states(), 5, "the host's user told")
            return session, told.states()

    session, states = run(main(), 60)
    assert states == {1: "delivered", 2: "not confirmed"}, states
    events, end = _log(session)
    chat = [e for e in events if e["type"] == "chat" and e["from"] == "host"]
    assert [(e["text"], "outcome" in e) for e in chat] == [("seen", False),
                                                         ("did you get this?", False)]
    outcome = [e for e in events if e["type"] == "chat_outcome"]
    assert [(e["from"], e["number"], e["text"], e["outcome"]) for e in outcome] == [
        ("host", 2, "did you get this?", "not confirmed")], outcome
    # Typed on the live link, before the outcome was known (the session's end).
    assert chat[1]["t"] - 0.5 <= outcome[0]["typed"] <= chat[1]["t"] <= outcome[0]["t"]
    assert outcome[0]["t"] <= end["duration"]


def test_a_line_given_while_the_agent_resumes_is_logged_as_held(tmp_path: Path) -> None:
    """The line review33 keeps for the new link (test_review33_chat_resuming)
    is logged there with when it was typed and ``resent``, as a line held
    while the link was down."""

    async def main() -> tuple[list[SessionRecorder], tuple[float, float]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder, resume_window=60.0) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            hub = s.host._runtime.hub  # the links' (ViewerLink.host)
            layout = hub.layout
            reading, release = asyncio.Event(), asyncio.Event()

            async def held_layout(index: int) -> object:
                reading.set()
                await release.wait()
                return await layout(index)

            hub.layout = held_layout  # type: ignore[method-assign]
            joining = asyncio.ensure_future(s.join(resume=ticket))
            await asyncio.wait_for(reading.wait(), 10)
            typing = time.monotonic()
            await s.host.send_chat("in between")
            typed = (typing, time.monotonic())
            release.set()
            again, task2 = await asyncio.wait_for(joining, 10)
            await until(lambda: again.chats.received == 1 and _link(s).chats.waiting == 0,
                        10, "the line read and confirmed")  # fmt: skip
            await again.bye()
            await task2
            sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        return sorted(sessions, key=lambda r: r.start_unix), typed

    (lost, resumed), typed = run(main(), 60)
    assert [e for e in _log(lost)[0] if e["type"] == "chat"] == []
    (line,) = [e for e in _log(resumed)[0] if e["type"] == "chat"]
    assert line["text"] == "in between"
    assert line.get("resent") is True and "typed" in line, line
    at = resumed.t0 + line["typed"]
    assert typed[0] - 1e-3 <= at <= typed[1] + 1e-3, (at, typed)
    assert line["typed"] <= line["t"]


def test_local_input_after_the_links_channel_closed_is_logged(tmp_path: Path) -> None:
    """The agent says bye; while the host winds its link down (its encoder
    shut down in a thread, held here), the channel closed already, the local
    user types: the file, whose END comes after, logs it."""

    async def main() -> tuple[SessionRecorder, bool]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            link = _link(s)
            entered, release = threading.Event(), threading.Event()
            shutdown = link.stream.shutdown_encoder

            def held_shutdown() -> None:  # on a worker thread (asyncio.to_thread)
                entered.set()
                release.wait(10)
                shutdown()

            link.stream.shutdown_encoder = held_shutdown
            await viewer.bye()
            await task
            await until(entered.is_set, 10, "the link winding down")
            closed = bool(link.channel.closed)
            s.host.local_input_activity("keyboard")
            release.set()
            (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return session, closed

    session, closed = run(main(), 60)
    assert closed, "the channel was not closed yet: nothing measured"
    events, end = _log(session)
    local = [e for e in events if e["type"] == "input" and e["who"] == "local"]
    assert [e["device"] for e in local] == ["keyboard"], events
    assert local[0]["end"] <= end["duration"]
