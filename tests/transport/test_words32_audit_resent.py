"""words32: a chat line sent again after a resume is logged once in the
audit log (recording/audit.py), in the recording of the link that first
carried it, not a second time as ``chat`` in the resumed link's: a host
line the agent had (its ack lost), which the agent drops when it comes
again, and a host line lost on the way, which reaches the agent only after
the resume. A line that first goes on the resumed link (the host's, kept
while the agent was away; the agent's, lost on the way) is logged there.
Real host with a recorder, viewer on loopback, a real resume through a
proxy that mutes one side and then cuts the link."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader

from .helpers import run, until
from .test_chatack_session import _link
from .test_resume import _granted, _lose, _Setup


def _logged(tmp_path: Path, muted: str) -> tuple[list[Any], list[Any]]:
    """With ``muted``'s sending dead: the host says "first", the agent
    "agent line"; the link is cut, the host says "while away", the agent
    resumes and every line is confirmed. Each recording's ``chat`` events
    (from, text): the lost link's, the resumed link's."""

    async def main() -> list[list[Any]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            s.proxy.mute(muted)
            await s.host.send_chat("first")
            await viewer.chat("agent line")
            await until(lambda: _link(s).chats._written == 1, 10, "the host's line written")
            if muted == "viewer":
                await until(lambda: viewer.chats.received == 1, 10, "the host's line")
            else:
                await until(lambda: _link(s).chats.received == 1, 10, "the agent's line")
            s.proxy.muted = None
            await _lose(s, viewer, task)
            await s.host.send_chat("while away")  # kept: it goes on the resumed link only
            again, task2 = await s.join(resume=ticket)
            await until(lambda: again.chats.received == 2 and _link(s).chats.received == 1
                        and again.chats.waiting == 0 and _link(s).chats.waiting == 0,
                        10, "every line had and confirmed")  # fmt: skip
            await again.bye()
            await task2
        out = []
        for session in await asyncio.to_thread(recorder.wait, 2, timeout=10.0):
            with RecordingReader(session.path) as reader:
                events = reader.events()
            resumed = any(e["type"] == "consent" and e.get("resumed") for e in events)
            out.append([resumed] + [(e["from"], e["text"]) for e in events
                                    if e["type"] == "chat"])  # fmt: skip
        return sorted(out, key=lambda x: bool(x[0]))

    first, second = run(main(), 60)
    return first[1:], second[1:]


def test_a_host_line_the_agent_had_is_logged_once(tmp_path: Path) -> None:
    """The agent's acks are lost: it has "first", which the host sends again
    after the resume (the agent drops it); its own line is lost and goes
    first on the resumed link."""
    lost_link, resumed_link = _logged(tmp_path, "viewer")
    assert lost_link == [("host", "first")]
    assert sorted(resumed_link) == [("host", "while away"), ("viewer", "agent line")]


def test_a_host_line_lost_on_the_way_is_logged_once(tmp_path: Path) -> None:
    """The host's sending is lost: "first" went on the lost link and reaches
    the agent only after the resume; the agent's line reached the host
    (whose ack was lost) and is not sent again: the host's hello says so."""
    lost_link, resumed_link = _logged(tmp_path, "host")
    assert sorted(lost_link) == [("host", "first"), ("viewer", "agent line")]
    assert resumed_link == [("host", "while away")]
