"""review3: attacks on the chain of a resumed session's recordings (termrec's
56e1abf): the resumed link's consent event names, in ``earlier``, the file
of the link whose resume ticket the viewer presented.

The host takes the ticket a viewer presents in its hello only (link.py
``_hello``); an Extension on the resume channel later in the link is an
unknown extension to it. The recorder took every one the viewer sent, the
last one winning, and read it when its worker came to the consent event:
a worker behind the loop (it runs below the encoders) saw whatever the
viewer sent after its grant. A viewer that sent the ticket of another of
its sessions made the host's recording name that session's file; one that
echoed the ticket the host had just given it made the recording name
itself, after its worker had stalled EARLIER_WAIT (10 s) waiting for its
own end. The real Recorder, fed as its RecordingChannel feeds it."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest

from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.recorder import SessionRecorder
from screencodec.transport.session import messages as m
from screencodec.transport.session.resume import RESUME_CHANNEL


def _passes(session: SessionRecorder, kind: str, message: m.Message) -> None:
    """What RecordingChannel does with a message going by (``kind``: "out"
    the host's, "in" the viewer's)."""
    raw = m.encode(message)
    session.ticket(kind, raw)
    session.put(kind, raw)


def _ticket(t: bytes) -> m.Extension:
    return m.Extension(RESUME_CHANNEL, t)


@pytest.mark.parametrize("later", ["another session's ticket", "its own new ticket"])
def test_a_resume_ticket_sent_after_the_hello_does_not_change_the_file_named(
    tmp_path: Path, later: str,
) -> None:
    recorder = Recorder(tmp_path, host_id="test-host")
    t_a, t_b, t_c = (secrets.token_bytes(32) for _ in range(3))
    earlier, other = recorder.start("a"), recorder.start("c")
    _passes(earlier, "out", _ticket(t_a))  # the link the viewer resumes
    _passes(other, "out", _ticket(t_c))  # another session of the same agent
    for s in (earlier, other):
        s.end("lost")
    assert recorder.wait(2, 10.0)
    resumed = recorder.start("b")
    _passes(resumed, "in", _ticket(t_a))  # presented in its hello: the one the host takes
    resumed.put("consent", {"type": "consent", "who": "Alice", "peer": "b", "asked": "VIEW",
                            "upgrade": False, "answer": "VIEW", "resumed": True})  # fmt: skip
    _passes(resumed, "out", _ticket(t_b))  # the host's new ticket for this link
    # After its grant the viewer sends one more on the resume channel.
    _passes(resumed, "in", _ticket(t_c if later == "another session's ticket" else t_b))
    resumed.end("bye")
    assert resumed.join(30.0)
    with RecordingReader(resumed.path) as reader:
        (consent,) = [e for e in reader.events() if e["type"] == "consent"]
    whole = earlier.path.read_bytes()
    assert consent["earlier"] == {
        "file": earlier.path.name, "session_id": earlier.session_id,
        "sha256": hashlib.sha256(whole).hexdigest(), "bytes": len(whole)}
    recorder.close()
    for path in tmp_path.iterdir():  # the tickets are secrets: in no file
        data = path.read_bytes()
        assert not any(t in data for t in (t_a, t_b, t_c)), path
