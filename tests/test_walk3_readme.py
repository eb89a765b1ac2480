"""The README followed from a fresh clone (walk3): after its two commands,
the commands of its "Command line" section must be reachable as written."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_walk3_readme_says_how_to_run_the_command_its_make_installed() -> None:
    text = README.read_text()
    assert "make demo" in text and "screencodec host" in text
    # Expected: the way to the installed command, somewhere a reader finds it.
    assert ".venv/bin/activate" in text or ".venv/bin/screencodec" in text
