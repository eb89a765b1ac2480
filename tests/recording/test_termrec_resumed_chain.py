"""A resumed link's recording names the recording of the link it resumes
(termrec). Each link of a session is its own file; the second one's log
said ``resumed: true`` and nothing more, so nothing tied it to the file
before it. Now its consent event names that file (name, session id, size,
SHA-256) and ``verify`` checks the file of that name beside it. A real Host
and Viewers over loopback through a proxy the test cuts (test_resume's
set-up), recorded by the real Recorder; verify through the real CLI."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.reader import UNSIGNED_CHAIN
from transport.helpers import ended_lost, run
from transport.test_resume import _granted, _lose, _Setup
from transport.test_resume_kept import _join

from .test_attack_craft import cli, no_traceback


@pytest.mark.parametrize("loss", ["reset", "silent"])
def test_a_resumed_links_recording_names_the_earlier_file_and_verify_checks_it(
    tmp_path: Path, loss: str,
) -> None:
    """``silent``: the host had not noticed the loss; the ticket presented
    ends the old link (its file completed then) and moves the session."""
    async def main() -> Any:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _Setup(recorder=recorder) as s:
            viewer, task, _ = await _join(s)
            await _granted(viewer)
            if loss == "reset":
                await _lose(s, viewer, task)
            else:
                s.proxy.abandon()
                await ended_lost(viewer, task)
            again, task2, _ = await _join(s, resume=viewer.resume_ticket,
                                          picture=viewer.kept_picture)  # fmt: skip
            await _granted(again)
            await again.bye()
            await task2
        sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        await asyncio.to_thread(recorder.close)
        return sessions

    first, second = sorted(run(main(), 60), key=lambda x: x.start_unix)
    with RecordingReader(second.path) as reader:
        (consent,) = [e for e in reader.events() if e["type"] == "consent"]
        session_id = reader.meta()["session_id"]
    assert consent["resumed"] is True
    whole = first.path.read_bytes()
    assert consent["earlier"] == {
        "file": first.path.name, "session_id": first.session_id,
        "sha256": hashlib.sha256(whole).hexdigest(), "bytes": len(whole)}
    with RecordingReader(first.path) as reader:  # the first link's file: nothing to name
        assert all("earlier" not in e for e in reader.events())
        assert reader.meta()["session_id"] == first.session_id != session_id
    if loss == "silent":  # the API's verify says what the command's line says
        with RecordingReader(second.path) as reader:
            report = reader.verify()
        assert report.status == "complete", report.describe()
        assert report.resumes == (f"resumes the session of {first.path.name}: the file here"
                                  f" is the one it names (SHA-256); {UNSIGNED_CHAIN}")  # fmt: skip
        return
    done = cli("verify", second.path, first.path, timeout=60)
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    said = {line.split(": ", 1)[0]: line for line in done.stdout.splitlines()}
    assert said[str(second.path)].startswith(f"{second.path}: complete: "), said
    assert said[str(second.path)].endswith(
        f"; resumes the session of {first.path.name}: the file here is the one it names"
        f" (SHA-256); {UNSIGNED_CHAIN}"), said  # fmt: skip
    assert "resumes" not in said[str(first.path)], said
    # The earlier file changed (or another of its name): the chain is said broken.
    first.path.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))
    with RecordingReader(second.path) as reader:
        report = reader.verify()
    assert report.status == "complete"
    assert report.resumes == (f"resumes the session of {first.path.name}, but the file of that"
                              " name here is NOT the one it names (SHA-256 differs)")  # fmt: skip
