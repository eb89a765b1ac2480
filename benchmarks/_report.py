"""Printing a benchmark module's own table after its tests, even without
``-s``; where the benchmarks find the real-screen corpus."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

__all__ = ["CORPUS", "write_lines"]

#: The real-screen corpus (docs/corpus.md): ``$SCREENCODEC_CORPUS`` (one
#: recorded elsewhere), else ``corpus/`` at the project's root.
CORPUS = Path(
    os.environ.get("SCREENCODEC_CORPUS") or Path(__file__).resolve().parent.parent / "corpus"
)


def write_lines(request: pytest.FixtureRequest, lines: Iterable[str]) -> None:
    """Write ``lines`` to pytest's terminal (nothing when it has none)."""
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
