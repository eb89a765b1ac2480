"""``screencodec recordings export`` (and ``play``) of a sealed recording
without ``--key``: one line saying it is sealed and needs the key, exit 2,
nothing written; with the key the same export works."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.cli.main import main


def test_export_without_key_says_sealed(sealed_recording: tuple[Path, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = sealed_recording
    out = tmp_path / "out.mp4"
    assert main(["recordings", "export", str(path), "--mp4", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"screencodec recordings export: {path} is sealed: its content needs "
                   "the auditor's private key (--key AUDITOR.key)"]
    assert not out.exists()


def test_play_without_key_says_sealed(sealed_recording: tuple[Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = sealed_recording
    assert main(["recordings", "play", str(path), "--out", str(tmp_path / "pngs")]) == 2
    assert "is sealed: its content needs the auditor's private key" in capsys.readouterr().err
    assert not (tmp_path / "pngs").exists()


def test_export_with_key_still_works(sealed_recording: tuple[Path, Path], tmp_path: Path) -> None:
    path, key = sealed_recording
    log = tmp_path / "out.jsonl"
    assert main(["recordings", "export", str(path), "--key", str(key), "--log", str(log)]) == 0
    assert log.read_text().count("\n") >= 1
