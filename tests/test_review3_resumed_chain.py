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
import os
import secrets
import threading
from pathlib import Path

import pytest

from screencodec.recording import Recorder, RecordingReader
from screencodec.recording.reader import file_digest
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
    assert recorder.wait(2, timeout=10.0)
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


def _chain(tmp_path: Path, earlier: dict[str, object] | None = None) -> tuple[Path, Path]:
    """Two recordings of one session made by the real Recorder: the first
    link's, and the resumed link's naming it (or, given ``earlier``, a
    consent event that says that instead: what a crafted file may say)."""
    recorder = Recorder(tmp_path, host_id="test-host")
    ticket = secrets.token_bytes(32)
    first = recorder.start("a")
    _passes(first, "out", _ticket(ticket))
    first.end("lost")
    assert recorder.wait(1, timeout=10.0)
    second = recorder.start("b")
    _passes(second, "in", _ticket(ticket))
    event: dict[str, object] = {"type": "consent", "who": "Alice", "peer": "b",
                                "asked": "VIEW", "upgrade": False, "answer": "VIEW"}  # fmt: skip
    second.put("consent", {**event, "resumed": True} if earlier is None
               else {**event, "earlier": earlier})  # fmt: skip
    second.end("bye")
    recorder.close()
    return first.path, second.path


def test_verify_fails_a_complete_file_whose_earlier_file_is_not_the_one_it_names(
    tmp_path: Path,
) -> None:
    """An auditor checks a directory with ``verify *.screc`` and its exit
    status: a first link's file swapped for another (each complete in
    itself) showed only in a line's end, with exit 0. Now exit 10 (a file's
    own failure still wins); an earlier file that is not there (pruned,
    or not copied along) is said, and is no failure."""
    from recording.test_attack_craft import cli, no_traceback

    first, second = _chain(tmp_path)
    whole = first.read_bytes()
    done = cli("verify", first, second)
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the file here is the one it names (SHA-256)" in done.stdout
    first.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))  # damaged: its own exit 1 wins
    done = cli("verify", first, second)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "is NOT the one it names" in done.stdout
    done = cli("verify", second)  # the resumed link's file alone: the chain is broken
    assert done.returncode == 10, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(
        "the file of that name here is NOT the one it names (SHA-256 differs)"), done.stdout
    first.unlink()
    done = cli("verify", second)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("which is not in this directory"), done.stdout


@pytest.mark.parametrize("name", ["../outside.screc", "/etc/passwd.screc",
                                  "\x1b]0;owned\x07\x1b[2J.screc", "a\u202egnp.screc",
                                  "a\u3164.screc", 7])  # fmt: skip
def test_a_crafted_earlier_name_is_refused_and_never_reaches_the_terminal(
    tmp_path: Path, name: object,
) -> None:
    """A file that names its earlier one by a path, or with escape, bidi or
    blank-looking characters (anyone can write a file that CRCs check):
    verify says the name is wrong without opening anything, and prints no
    control character; exit 10, as for any chain that does not hold."""
    from recording.test_attack_craft import cli, no_traceback

    (tmp_path / "outside.screc").write_bytes(b"")
    _, second = _chain(tmp_path / "d", {"file": name, "sha256": "0" * 64, "bytes": 0})
    done = cli("verify", second)
    no_traceback(done)
    assert done.returncode == 10, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(
        "resumes a session, and names its earlier recording wrongly (damage)"), done.stdout
    assert not any(c in done.stdout for c in "\x1b\x07\u202e\u3164"), repr(done.stdout)


def test_the_earlier_files_digest_never_waits_on_a_fifo(tmp_path: Path) -> None:
    """verify reads the file a resumed recording names by hash; a FIFO put
    under that name (or swapped in after a look at the name) is refused at
    once: the old digest opened it for reading and waited for a writer."""
    fifo = tmp_path / "earlier.screc"
    os.mkfifo(fifo)
    result: list[object] = []

    def digest() -> None:
        try:
            result.append(file_digest(fifo))
        except OSError as e:
            result.append(e)

    worker = threading.Thread(target=digest, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # free the old code's open, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
    assert len(result) == 1 and isinstance(result[0], OSError), result
    assert file_digest(Path(__file__))["bytes"] == Path(__file__).stat().st_size
