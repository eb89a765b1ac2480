"""walkfix36 (walk36): the recording of a session whose agent's link was
lost had no event for that moment: only, at the file's end, the bye marked
``"away": true`` (or nothing, the agent back). For audit, the file of the
lost link logs ``link_lost`` (why, and how long the session was kept) when
it happens, and ``resumed`` when the agent comes back, as ``screencodec
recordings play --events`` prints them. A real Host and Recorder on a
loopback listener, a real Viewer behind a proxy that cuts its link; the
real CLI reads the files."""

from __future__ import annotations

import json
from pathlib import Path

from screencodec.recording import Recorder
from screencodec.transport import VIEW
from warm_start import warm_run

from .helpers import run
from .test_cli import CLI, ENV
from .test_resume import _granted, _lose, _Setup


def _events(path: Path, out: Path) -> list[dict[str, object]]:
    done = warm_run([*CLI, "recordings", "play", str(path), "--at", "0", "--out",
                    str(out), "--events"], capture_output=True, text=True, timeout=60,
                    env=ENV, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_file_of_a_lost_link_logs_when_it_went_and_when_it_came_back(
        tmp_path: Path) -> None:  # fmt: skip
    recorder = Recorder(tmp_path / "rec", host_id="test-host")

    async def main() -> None:
        async with _Setup(recorder=recorder) as s:
            viewer, task = await s.join(VIEW)
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            again, task2 = await s.join(VIEW, resume=ticket)
            await _granted(again)
            await again.bye()
            await task2

    run(main(), 60)
    first, second = sorted(session.path for session in recorder.wait(2, timeout=10.0))
    # The second file plays the session's chain: both files' events, in order.
    events = _events(second, tmp_path / "png")
    kinds = [(e["type"], e["file"]) for e in events]
    expected = ([(kind, first.name) for kind in ("hello", "consent", "grant", "link_lost",
                                                 "resumed")]
                + [(kind, second.name) for kind in ("hello", "consent", "grant", "bye")])
    assert kinds == expected, events
    lost = events[3]
    assert str(lost["reason"]).startswith("viewer gone"), lost
    assert lost["resumable"] == 60.0, lost
    back = events[4]  # at the file's end; how long after, in "after"
    assert float(lost["t"]) <= float(back["t"]) <= float(events[5]["t"]), events
    assert 0 < float(back["after"]) < 30, back
