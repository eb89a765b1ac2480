"""walk6: ``play --web --hosts`` of a resumed link's recording whose earlier
file is not the one it names.

``verify --hosts`` exits 10 for it (each file of a swapped pair may verify
alone, the set does not), but the page headed it, in its green banner,
"Verified: a pinned host's recording: ... but the file of that name here is
NOT the one it names": page_verdict said "verified" for any complete file
signed to its end by a pinned host, though its docstring gives that verdict
only to verify --hosts's exit 0. The recordings are the real Recorder's,
signed with a real host key, read by the real reader."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

from screencodec.recording import Recorder, RecordingReader, generate_host_keypair
from screencodec.recording.recorder import SessionRecorder
from screencodec.recording.sign import load_pinned_hosts
from screencodec.transport.session import messages as m
from screencodec.transport.session.resume import RESUME_CHANNEL

pytest.importorskip("aiohttp")

from screencodec.web.playback import page_verdict


def _ticket(session: SessionRecorder, kind: str, ticket: bytes) -> None:
    raw = m.encode(m.Extension(RESUME_CHANNEL, ticket))
    session.ticket(kind, raw)
    session.put(kind, raw)


def _signed_chain(directory: Path, key: Path) -> tuple[Path, Path, Path]:
    """A first link's recording, the resumed link's naming it, and another
    session's, all signed by the host key ``key``."""
    recorder = Recorder(directory, host_id="desk7", signer=key)
    ticket = secrets.token_bytes(32)
    first = recorder.start("a")
    _ticket(first, "out", ticket)
    first.end("lost")
    assert recorder.wait(1, timeout=10.0)
    second = recorder.start("b")
    _ticket(second, "in", ticket)
    second.put("consent", {"type": "consent", "who": "Alice", "peer": "b", "asked": "VIEW",
                           "upgrade": False, "answer": "VIEW", "resumed": True})  # fmt: skip
    second.end("bye")
    other = recorder.start("c")
    other.end("bye")
    recorder.close()
    return first.path, second.path, other.path


def test_a_broken_chain_is_not_headed_verified(tmp_path: Path) -> None:
    generate_host_keypair(tmp_path / "desk7.key", tmp_path / "desk7.pub")
    first, second, other = _signed_chain(tmp_path / "rec", tmp_path / "desk7.key")
    pins = load_pinned_hosts(tmp_path / "desk7.pub").values()
    with RecordingReader(second) as reader:
        report = reader.verify(hosts=pins)
    assert report.status == "complete" and report.pinned and not report.chain_broken
    assert page_verdict(report)[0] == "verified"  # the chain holds: as before
    shutil.copyfile(other, first)  # the first link's file swapped for another session's
    with RecordingReader(second) as reader:
        report = reader.verify(hosts=pins)
    assert report.status == "complete" and report.pinned and report.chain_broken
    kind, text = page_verdict(report)
    # Expected: not verified (verify --hosts exits 10), and said first ...
    assert kind == "unverified", text
    assert text.startswith("NOT verified as a whole session"), text
    # ... then verify's own words, as for every other verdict.
    assert text.endswith(report.describe().removeprefix(f"{report.path}: ")), text
