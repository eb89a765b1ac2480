"""Printing a benchmark module's own table after its tests, even without ``-s``."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

__all__ = ["write_lines"]


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
