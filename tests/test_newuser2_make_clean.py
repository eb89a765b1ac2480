"""``make clean`` (README: "Other targets: ... make clean") must remove build
products only. It ran ``find src/screencodec -name '*.html' -delete`` to drop
Cython's annotation files, which also deleted the tracked web viewer page
``src/screencodec/web/static/index.html``: after ``make clean; make build``
in a fresh clone (measured by a walkthrough), ``view --web`` served HTTP 500
for its page. It now deletes only the ``.html`` beside a ``.pyx``. Run on a
copy of the tracked tree (``git archive``)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_make_clean_keeps_tracked_files(tmp_path: Path) -> None:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.fail("git and make are needed (scripts/bootstrap.sh installs them)")
    tree = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True,
                          check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tree)) as tar:
        tar.extractall(tmp_path, filter="data")
    tracked = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    subprocess.run(["make", "-s", "clean"], cwd=tmp_path, check=True, capture_output=True)
    left = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert sorted(map(str, tracked - left)) == []
