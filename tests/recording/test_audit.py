"""The audit tracker alone: keystroke text only when enabled, input intervals
split by gaps, a refused file logged with its answer."""

from __future__ import annotations

from screencodec.recording.audit import INPUT_GAP, AuditTracker
from screencodec.transport.session import messages as m


def test_keys_only_when_enabled() -> None:
    for include in (False, True):
        tr = AuditTracker(include_keys=include)
        out = tr.from_viewer(0.0, m.Key(0x70, True, "p")) + tr.from_viewer(
            0.1, m.Key(0x70, False, "p"))  # fmt: skip
        keys = [e for e in out if e["type"] == "key"]
        assert keys == ([{"type": "key", "keysym": 0x70, "text": "p"}] if include else [])


def test_intervals_and_refused_file() -> None:
    tr = AuditTracker()
    out = []
    for t in (0.0, 0.5, 1.0):
        out += tr.from_viewer(t, m.PointerMove(1, 1))
    out += tr.local_input(1.2)
    out += tr.from_viewer(1.0 + INPUT_GAP + 0.5, m.PointerMove(2, 2))  # a new interval
    out += tr.from_host(5.0, m.FileOffer(7, "setup.exe", 99))
    out += tr.from_viewer(5.5, m.FileAccept(7, False))
    out += tr.finish()
    spans = [(e["who"], e["start"], e["end"]) for e in out if e["type"] == "input"]
    assert ("agent", 0.0, 1.0) in spans and ("local", 1.2, 1.2) in spans
    assert ("agent", 2.5, 2.5) in spans and len(spans) == 3
    (f,) = [e for e in out if e["type"] == "file"]
    assert f == {"type": "file", "name": "setup.exe", "size": 99, "direction": "to-viewer",
                 "answer": "refused"}  # fmt: skip
