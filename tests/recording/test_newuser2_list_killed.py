"""``recordings list`` names the agent of a recording whose host was killed.

The agent's name reaches END only when the session ends; a killed host
leaves no END, but the audit log's ``hello`` (recorded when the agent asked
in) holds the name. The auditor listing a directory must see who it was
(found trying the CLI as a new user: a SIGKILLed host's recording listed
its agent as ``?``), harmless as for a complete one."""

from __future__ import annotations

from pathlib import Path

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.recording import CheckpointPolicy, Recorder, RecordingReader
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import VIEW

from .helpers import recordings_cli

NAME = "Bob\x1b[2J\u202e"


def record_small(directory: Path, name: str | None, chat: str | None = None) -> Path:
    """A complete recording of one picture: the agent asks in as ``name``
    (None: no request) and says ``chat``."""
    rec = Recorder(directory, host_id="t", checkpoints=CheckpointPolicy(budget=0.0))
    session = rec.start("192.0.2.7:5000")
    enc = ScreenEncoder(160, 100)
    try:
        frame = open_source("synthetic", width=160, height=100, scenario="idle").grab()
        if name is not None:
            session.put("in", m.encode(m.PermissionRequest(VIEW.bits, name)), at=session.t0)
        session.put("out", m.encode(m.Update(1, enc.encode(frame))), at=session.t0 + 0.1)
        if chat is not None:
            session.put("in", m.encode(m.Chat(chat)), at=session.t0 + 0.2)
        session.end("ended", at=session.t0 + 0.3)
        assert rec.wait(1)
    finally:
        enc.close()
    (path,) = directory.glob("*.screc")
    return path


def _killed_recording(directory: Path, name: str | None) -> Path:
    """A recording cut where its END chunk began: what a host killed just
    before the session's end leaves on disk."""
    path = record_small(directory, name)
    with RecordingReader(path) as r:
        assert r.index.end is not None
        cut = r.index.chunks[r.index.end].offset
    with open(path, "r+b") as f:
        f.truncate(cut)
    with RecordingReader(path) as r:
        assert not r.complete
    return path


def test_list_names_the_agent_of_a_killed_hosts_recording(tmp_path: Path) -> None:
    _killed_recording(tmp_path, NAME)
    done = recordings_cli("list", tmp_path)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1]
    assert "\x1b" not in done.stdout and "\u202e" not in line
    assert " cut-short Bob?? (192.0.2.7:5000)  " in line, line


def test_list_without_a_hello_still_says_unknown(tmp_path: Path) -> None:
    _killed_recording(tmp_path, None)
    done = recordings_cli("list", tmp_path)
    assert done.returncode == 0, done.stderr
    assert " cut-short ? (192.0.2.7:5000)  " in done.stdout.splitlines()[1], done.stdout


def test_a_public_key_given_as_key_is_a_usage_error_not_damage(
    sealed_recording: tuple[Path, Path],
) -> None:
    """``verify --key AUDITOR.pub`` (the public key by mistake) said the
    recording was ``damaged`` (exit 1): evidence called damaged for the
    auditor's own typo. The key file is the argument that is wrong: exit 2,
    one line naming it, and no recording called damaged or unreadable."""
    path, key = sealed_recording
    public = key.with_suffix(".pub")
    for action, args in (("verify", [path]), ("list", [path.parent]),
                         ("play", [path, "--at", "0", "--out", path.parent / "png"])):  # fmt: skip
        done = recordings_cli(action, *args, "--key", public)
        assert done.returncode == 2, (action, done.stdout, done.stderr)
        assert "damaged" not in done.stdout and "unreadable" not in done.stdout, done.stdout
        assert f"screencodec recordings {action}: {public}: not a screencodec-auditor-private-v1 " \
            "key file" in done.stderr, done.stderr
