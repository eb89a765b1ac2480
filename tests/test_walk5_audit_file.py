"""The audit log of a session whose file transfer the end of the session cut
short (walk5: a recorded host through a relay, the agent's link cut while its
file came in)."""

from __future__ import annotations

from screencodec.recording.audit import AuditTracker
from screencodec.transport.session import messages as m


def test_walk5_a_transfer_cut_short_by_the_end_of_the_session_is_logged() -> None:
    """walk5: the agent sent report.bin (20 MB), the host's user said yes, 6.6 MB came,
    then the link was cut: the host said 'could not be saved: the connection ended before
    all of it came (6610944 of 20000000 bytes)', but the recording's audit log had no
    file event at all (only hello, consent, grant): the tracker logged a transfer at its
    FileEnd or its refusal, and forgot those open at the end. An offer never answered
    was forgotten too. Expected: both are logged when the session ends, with what
    crossed and that they were cut short."""
    tr = AuditTracker()
    out = tr.from_viewer(0.0, m.PermissionRequest(1, "Alice"))
    out += tr.from_viewer(1.0, m.FileOffer(1, "report.bin", 20_000_000))
    out += tr.from_host(2.0, m.FileAccept(1, True))
    out += tr.from_viewer(2.5, m.FileChunk(1, 0, b"x" * 1000))
    out += tr.from_viewer(2.6, m.FileChunk(1, 1000, b"y" * 500))
    out += tr.from_host(3.0, m.FileOffer(9, "fix.sh", 40))  # the agent never answered
    assert [e for e in out if e["type"] == "file"] == []
    files = [e for e in tr.finish() if e["type"] == "file"]
    assert files == [
        {"type": "file", "name": "report.bin", "size": 20_000_000, "direction": "to-host",
         "answer": "accepted", "transferred": 1500, "cut_short": True},
        {"type": "file", "name": "fix.sh", "size": 40, "direction": "to-viewer",
         "answer": "pending", "transferred": 0, "cut_short": True},
    ]  # fmt: skip
    assert tr.finish() == []  # once
