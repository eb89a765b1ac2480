"""chatleft: the audit log has what the host's user typed, when it was typed.

* A line typed while the agent was away (held during the cut) is logged
  once, in the resumed link's file it first went on, with ``typed`` (the
  time of the call, on that file's timeline: before it began) and
  ``resent`` true. Before, it carried only the time it was sent again.
* A line that never went (the agent did not come back) is logged in the
  file of the link it was kept for, with ``typed`` and ``outcome`` "not
  delivered". Before, it was in no audit log at all.

Real host with a recorder, viewer on loopback through a proxy that cuts the
link (recording/audit.py, docs/recording.md "The audit log")."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder

from .helpers import run, until
from .test_chatack_session import _link
from .test_resume import _granted, _lose, _Setup


def _chat(session: SessionRecorder) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A finished recording's host ``chat`` events, and its END."""
    with RecordingReader(session.path) as reader:
        events = reader.events()
        end = reader.meta()
    return [e for e in events if e["type"] == "chat" and e["from"] == "host"], end


def test_a_line_held_during_a_cut_is_logged_with_when_it_was_typed(tmp_path: Path) -> None:
    async def main() -> list[SessionRecorder]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            await s.host.send_chat("before the cut")
            await until(lambda: viewer.chats.received == 1 and _link(s).chats.waiting == 0,
                        10, "the first line confirmed")  # fmt: skip
            await _lose(s, viewer, task)
            typing = time.monotonic()
            await s.host.send_chat("while away")  # held: nobody to send it to
            typed = (typing, time.monotonic())
            again, task2 = await s.join(resume=ticket)
            await until(lambda: again.chats.received == 2 and _link(s).chats.waiting == 0,
                        10, "the held line had and confirmed")  # fmt: skip
            await again.bye()
            await task2
        sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        held[:] = typed
        return sessions

    held: list[float] = []
    lost, resumed = sorted(run(main(), 60), key=lambda x: x.start_unix)
    lost_chat, _ = _chat(lost)
    resumed_chat, _ = _chat(resumed)
    assert [(e["text"], "typed" in e, "resent" in e) for e in lost_chat] == [
        ("before the cut", False, False)]
    (line,) = resumed_chat
    assert line["text"] == "while away" and line["resent"] is True
    # Typed before the resumed link's file began, during the call; logged as it went.
    at = resumed.t0 + line["typed"]
    assert held[0] - 1e-3 <= at <= held[1] + 1e-3, (at, held)
    assert line["typed"] < 0 <= line["t"]


Logged = tuple[list[dict[str, Any]], dict[str, Any], tuple[float, float], SessionRecorder]


def _never_went(tmp_path: Path, *, ends: str) -> Logged:
    """The agent's link is cut and it does not come back; the host's user
    says one line meanwhile. ``ends``: "end" (the host's user ends the
    session) or "expiry" (the agent's ticket runs out). The lost link's
    recording's host chat events and END, when the line was typed, and the
    recording."""

    async def main() -> tuple[tuple[float, float], SessionRecorder]:
        recorder = Recorder(tmp_path, host_id="test-host")
        window = 1.0 if ends == "expiry" else 60.0
        async with _Setup(recorder=recorder, resume_window=window) as s:
            viewer, task = await s.join()
            await _granted(viewer)
            await s.host.send_chat("on the link")
            await until(lambda: _link(s).chats.waiting == 0, 10, "the first line confirmed")
            await _lose(s, viewer, task)
            typing = time.monotonic()
            await s.host.send_chat("are you back?")
            typed = (typing, time.monotonic())
            # Kept for the agent: its recording is not over yet.
            assert recorder.wait(1, timeout=0.0) == []
            if ends == "end":
                await s.host.disconnect()
            (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return typed, session

    typed, session = run(main(), 30)
    chat, end = _chat(session)
    return chat, end, typed, session


def _check_never_went(chat: list[dict[str, Any]], typed: tuple[float, float],
                      session: SessionRecorder) -> dict[str, Any]:  # fmt: skip
    first, never = chat
    assert (first["text"], "outcome" in first) == ("on the link", False)
    assert (never["text"], never["outcome"]) == ("are you back?", "not delivered")
    at = session.t0 + never["typed"]
    assert typed[0] - 1e-3 <= at <= typed[1] + 1e-3, (at, typed)
    assert never["t"] >= never["typed"]
    return never


def test_a_line_that_never_went_is_logged_when_the_host_ends_the_session(
        tmp_path: Path) -> None:  # fmt: skip
    chat, end, typed, session = _never_went(tmp_path, ends="end")
    never = _check_never_went(chat, typed, session)
    # The file ends with the session, and says who ended it (auditleft: it
    # kept the link's reason, "viewer gone: ...").
    assert end["reason"] == "ended by the host: host ended", end
    assert never["t"] <= end["duration"]


def test_a_line_that_never_went_is_logged_when_the_ticket_runs_out(tmp_path: Path) -> None:
    chat, end, typed, session = _never_went(tmp_path, ends="expiry")
    never = _check_never_went(chat, typed, session)
    # Logged as the ticket ran out (1 s after the cut), not before.
    assert never["t"] >= never["typed"] + 0.5
    assert end["reason"].startswith("viewer gone"), end
    assert never["t"] <= end["duration"]
