"""Fixtures shared by the recording tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.recording import generate_keypair

from .synth import synth


@pytest.fixture(scope="module")
def sealed_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A short recording (5 updates) sealed for an auditor: (its path, the auditor's key)."""
    d = tmp_path_factory.mktemp("sealed")
    generate_keypair(d / "aud.key", d / "aud.pub")
    path, _ = synth(d / "rec", frames=5, auditor=d / "aud.pub")
    return path, d / "aud.key"
