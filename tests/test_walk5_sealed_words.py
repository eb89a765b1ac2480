"""The words of ``recordings verify --hosts`` for a sealed recording signed by a
pinned host, checked without the auditor's key (walk5: an auditor's walk
through verify, play and export of a recorded host)."""

from __future__ import annotations

from pathlib import Path

from recording.test_attack_craft import cli, no_traceback
from recording.test_signed_host import signed_sealed


def test_walk5_a_pinned_signed_sealed_recording_without_key_is_not_called_unchecked(
    tmp_path: Path,
) -> None:
    """walk5: verify --hosts of a sealed recording signed to its last chunk by the pinned
    host, without --key, said 'unverified: sealed, and its seal was NOT checked (...), so a
    changed byte would not show; checked without it: the layout only (...); signed by
    pinned host K: every chunk' (exit 3). Both halves cannot be true: the signatures were
    checked over every byte, and one byte changed makes the same command say 'damaged: ...
    the chain breaks at SIGNATURE chunk N' (exit 1). Expected: still exit 3 (the pictures
    and the log were not opened), in words that say what the signatures did check."""
    path, kid = signed_sealed(tmp_path)
    done = cli("verify", path, "--hosts", tmp_path / "desk.pub")
    no_traceback(done)
    assert done.returncode == 3, done.stdout
    line = done.stdout.strip()
    assert line.startswith(f"{path}: unverified: sealed, and its seal was NOT checked"), line
    assert "a changed byte would not show" not in line and "layout only" not in line, line
    assert "its pictures and log were not opened" in line, line
    assert line.endswith(f"and the host's signatures over its bytes; signed by pinned host "
                         f"{kid}: every chunk"), line  # fmt: skip
    # What those words promise: one byte changed is damage, without the key too.
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    changed = tmp_path / "changed.screc"
    changed.write_bytes(bytes(data))
    broken = cli("verify", changed, "--hosts", tmp_path / "desk.pub")
    assert broken.returncode == 1 and ": damaged: " in broken.stdout, broken.stdout
    # Not pinned, the key is not judged: the old words stay (a re-signed file passes them).
    other = cli("verify", path)
    assert other.returncode == 3 and "so a changed byte would not show" in other.stdout
