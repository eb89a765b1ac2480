"""``recordings keygen`` where a key of that name is there already: nothing
is written and the line says why, for the private half, the public half
alone (it wrote a .key that did not match the .pub left there), and a host
key pair."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import recordings_cli


@pytest.mark.parametrize("kind", ["auditor", "host"])
@pytest.mark.parametrize("left", [".key", ".pub"])
def test_keygen_over_an_existing_key_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, left: str) -> None:
    monkeypatch.chdir(tmp_path)
    host = ["--host"] if kind == "host" else []
    first = recordings_cli("keygen", *host, "k")
    assert first.returncode == 0, first.stderr
    os.remove(tmp_path / ("k.pub" if left == ".key" else "k.key"))
    kept = (tmp_path / f"k{left}").read_bytes()
    again = recordings_cli("keygen", *host, "k")
    assert again.returncode == 2, again
    assert again.stderr.startswith(
        f"screencodec recordings keygen: k{left} exists already, nothing was written ("
    ), again.stderr
    assert "give another NAME, or move the old pair away first" in again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"k{left}"]
    assert (tmp_path / f"k{left}").read_bytes() == kept
