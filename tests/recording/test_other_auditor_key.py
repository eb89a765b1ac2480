"""``verify --key`` with another auditor's private key: the recording is not
verified (exit 3, the line names both key ids), not called damaged, which an
auditor would read as tampering. Found by the new-user trial (newuser2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from screencodec.recording import generate_keypair, load_public_key
from warm_start import warm_run

from .synth import synth


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return warm_run([sys.executable, "-m", "screencodec", "recordings", *args],
                    check=False, capture_output=True, text=True, timeout=60)  # fmt: skip


def test_another_auditors_key_is_unverified_not_damaged(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    generate_keypair(Path(f"{ours}.key"), Path(f"{ours}.pub"))
    generate_keypair(Path(f"{theirs}.key"), Path(f"{theirs}.pub"))
    path, _ = synth(tmp_path / "rec", auditor=load_public_key(Path(f"{ours}.pub")))
    good = _cli("verify", str(path), "--key", f"{ours}.key")
    assert good.returncode == 0, good.stdout + good.stderr
    wrong = _cli("verify", str(path), "--key", f"{theirs}.key")
    assert wrong.returncode == 3, wrong.stdout + wrong.stderr
    assert "unverified: sealed for auditor key" in wrong.stdout
    assert "damaged" not in wrong.stdout


def test_a_key_id_changed_in_the_header_never_verifies(tmp_path: Path) -> None:
    # The id is not authenticated: the right auditor must not read "complete".
    ours = tmp_path / "ours"
    generate_keypair(Path(f"{ours}.key"), Path(f"{ours}.pub"))
    path, _ = synth(tmp_path / "rec", auditor=load_public_key(Path(f"{ours}.pub")))
    data = path.read_bytes()
    from screencodec.recording.crypto import key_id

    kid = key_id(load_public_key(Path(f"{ours}.pub"))).encode()
    assert data.count(kid) == 1
    path.write_bytes(data.replace(kid, b"0" * len(kid)))
    out = _cli("verify", str(path), "--key", f"{ours}.key")
    assert out.returncode != 0, out.stdout
    assert "complete" not in out.stdout
