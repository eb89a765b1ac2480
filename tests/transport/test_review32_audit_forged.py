"""review32 of words32's audit log (49e5d09): the agent is the untrusted
side, and the host's audit log is what an auditor reads of the session. A
hostile viewer that resumes a session numbered its chat lines from 1 again
in its hello: the host's program took each of them for one it had (sent
again after a resume), dropped it and never showed it to its user, but the
audit log recorded it as ``chat`` from the viewer, like any line the user
read. So the agent could place words in the log ("as agreed, I am deleting
the backups now") that the customer never saw (before words32 too: a line
sent again was logged again; words32's docs say a viewer's line the host
had is not sent again, which holds only for a correct viewer). Now the
host's session tells its recording how it numbers the viewer's lines
(ChatLedger.numbering) and such a line is logged with ``"duplicate":
true``. Real host with a recorder, a real viewer on loopback whose ledger
numbers its lines from 1 again, a real resume."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.recording import Recorder, RecordingReader

from .helpers import run, until
from .test_chatack_session import _link, _Seen
from .test_resume import _granted, _lose, _Setup

FORGED = "as agreed, I am deleting the backups now"


def test_a_line_the_host_dropped_unshown_is_not_logged_as_shown(tmp_path: Path) -> None:
    async def main() -> tuple[list[str], list[dict[str, Any]]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            await viewer.chat("hello, I am here to help")
            await until(lambda: _link(s).chats.received == 1, 10, "the agent's line")
            await until(lambda: viewer.chats.waiting == 0, 10, "its ack")
            await _lose(s, viewer, task)
            # The hostile program: its hello on the resumed link says its
            # next line is number 1 (the host had line 1).
            viewer.chats._base = viewer.chats._acked
            again, task2 = await s.join(resume=ticket)
            await until(lambda: again.chats.peer_acks is True, 10, "the host's hello")
            await again.chat(FORGED)
            await until(lambda: _link(s).chats.duplicates == 1, 10, "the host's drop")
            await again.bye()
            await task2
            shown = list(host_seen.received)
        sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        logged: list[dict[str, Any]] = []
        for session in sessions:
            with RecordingReader(session.path) as reader:
                logged += [e for e in reader.events() if e["type"] == "chat"]
        return shown, logged

    shown, logged = run(main(), 60)
    assert FORGED not in shown  # the host's user never saw it
    as_shown = [e["text"] for e in logged if e["from"] == "viewer" and not e.get("duplicate")]
    assert as_shown == ["hello, I am here to help"], logged
    # Nothing the viewer sent is hidden: the dropped line is logged, marked.
    assert [e["text"] for e in logged if e.get("duplicate")] == [FORGED], logged
