"""walk32: a resumed session's ``input`` intervals on the session's clock.

``play --events`` and ``export --log`` of a resumed session give every
part's events "in order on the session's clock" (docs/recording.md, "A
resumed link"): each event's ``t`` is moved by its part's offset, but an
``input`` event's ``start`` and ``end`` were left on its own file's clock.
Walked by hand: the host's user typed 4 s into the second link of a session
resumed twice; the log said ``"start": 4.31, "end": 4.47, "t": 33.9`` (the
part began at 24.3 s), and ``play --web``'s "Go to this moment" for that row
(web/playback.event_time: the interval's ``start``) went to 4.31 s of the
session, in the first link. Real Host and Viewers over loopback through a
proxy the test cuts (test_resume's set-up), the real Recorder, the real CLI.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from recording.helpers import until
from recording.test_attack_craft import cli, no_traceback
from screencodec.recording import Recorder
from transport.helpers import run
from transport.test_resume import _granted, _lose, _Setup
from transport.test_resume_kept import _join


def _typed_in_the_second_link(directory: Path) -> list[Path]:
    """A session of two links; the host's user types in the second, which
    begins two seconds or more into the session. Its recordings in order."""

    async def main() -> Any:
        rec = Recorder(directory, host_id="test-host")
        async with _Setup(recorder=rec) as s:
            viewer, task, tap = await _join(s)
            await _granted(viewer)
            await asyncio.sleep(2.0)  # the second link's own clock is 2 s behind the session's
            await _lose(s, viewer, task)
            viewer, task, tap = await _join(s, resume=viewer.resume_ticket,
                                            picture=viewer.kept_picture)  # fmt: skip
            await _granted(viewer)
            s.host.local_input_activity("keyboard")
            await asyncio.sleep(1.5)  # the interval ends (1 s without input) ...
            seen = len(tap.updates)
            await until(lambda: len(tap.updates) > seen + 2, 10, "updates")  # ... and is logged
            await viewer.bye()
            await task
        sessions = await asyncio.to_thread(rec.wait, 2, timeout=20.0)
        await asyncio.to_thread(rec.close)
        return sessions

    paths = [x.path for x in sorted(run(main(), 120), key=lambda x: x.start_unix)]
    assert len(paths) == 2
    return paths


def test_an_input_interval_of_a_resumed_link_is_on_the_sessions_clock(tmp_path: Path) -> None:
    _, second = _typed_in_the_second_link(tmp_path / "rec")
    log = tmp_path / "s.jsonl"
    done = cli("export", second, "--log", log)
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    offset = next(e["offset"] for e in lines if e["type"] == "session" and e["file"] == second.name)
    assert offset >= 2.0
    hello = next(e for e in lines if e["type"] == "hello" and e["file"] == second.name)
    typed = [e for e in lines if e["type"] == "input" and e["who"] == "local"]
    assert len(typed) == 1, lines
    ev = typed[0]
    assert ev["file"] == second.name
    # On the session's clock: after the second link began, before it was logged.
    assert hello["t"] <= ev["start"] <= ev["end"] <= ev["t"], ev
