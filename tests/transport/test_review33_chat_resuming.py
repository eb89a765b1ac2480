"""review33: a chat line the host's user sends while the agent's session is
being taken up (its ticket claimed, the new link not joined yet) is kept for
the new link, which sends it first, and is in its audit log.

``Host.send_chat`` sent to the joined links and kept lines for the parked
tickets only: in between (the new link reading the screen's layout, sending
its grant: milliseconds, or seconds behind an X server slow to answer) the
agent was neither, and the line went to nobody: no id, no delivery, never
read by the agent, in no audit log (chatleft's promise: what the host's
user typed is in the log whether or not it reached anybody).

Real host with a recorder, viewers on loopback through a cutting proxy;
the new link's layout read is held by the test (tests/transport/test_resume.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader

from .helpers import run, until
from .test_resume import _granted, _lose, _Setup


def test_a_line_sent_while_the_agent_resumes_is_kept_for_its_new_link(tmp_path: Path) -> None:
    async def main() -> tuple[dict[str, int], str, int, list[list[dict[str, Any]]]]:
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
            ids = await s.host.send_chat("in between")
            release.set()
            again, task2 = await asyncio.wait_for(joining, 10)
            await _granted(again)
            await until(lambda: again.chats.received >= 1, 5, "the line read by the agent")
            peer = next(iter(s.host._runtime.links)).peer
            received = again.chats.received
            await again.bye()
            await task2
        logged = []
        for session in sorted(recorder.finished, key=lambda r: r.start_unix):
            with RecordingReader(session.path) as reader:
                logged.append([e for e in reader.events() if e["type"] == "chat"])
        return ids, peer, received, logged

    ids, peer, received, (lost, resumed) = run(main(), 60)
    assert list(ids) == [peer] and received == 1
    assert lost == [] and [e["text"] for e in resumed] == ["in between"]
