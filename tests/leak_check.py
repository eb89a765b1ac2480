"""``--leak-log FILE``: after each test, collect garbage and log what it brings
out, named by the test that left it (off unless asked; conftest loads it).

A socket or transport a test leaves in a reference cycle is closed by the
garbage collector whenever it next runs, in whatever test is running then:
``filterwarnings = error`` makes its ResourceWarning (or a ``__del__`` that
raises, such as StreamWriter's "loop is closed") an unraisable-exception
failure of that innocent test. Collecting after every test puts the blame on
the right one. Findings are logged, not raised, so that one leak does not
fail the rest of the run; an empty (absent) file means none was found. With
``PYTHONTRACEMALLOC=20`` where each leaked object was made is logged too
(innermost call first).
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["collect_leaks"]


def collect_leaks() -> list[str]:
    """One line per ResourceWarning and unraisable exception that a full
    garbage collection produces now."""
    found: list[str] = []
    prev = sys.unraisablehook

    def hook(args: sys.UnraisableHookArgs) -> None:
        found.append(f"{args.err_msg or 'Exception ignored in'}: {args.object!r}: "
                     f"{args.exc_type.__name__}: {args.exc_value}")  # fmt: skip

    sys.unraisablehook = hook
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
            gc.collect()  # what the first collection's finalizers let go
    finally:
        sys.unraisablehook = prev
    for w in caught:
        line = f"{w.category.__name__}: {w.message}"
        where = tracemalloc.get_object_traceback(w.source) if w.source is not None else None
        if where is not None:
            made = where.format(most_recent_first=True)
            line += "\n    allocated at:\n      " + "\n      ".join(made)
        found.append(line)
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--leak-log", metavar="FILE", default=None,
        help="after each test, collect garbage and append any ResourceWarning or "
             "unraisable exception it brings out to FILE, with the test's id",
    )  # fmt: skip


def _log(config: pytest.Config, where: str, found: list[str]) -> None:
    name = config.getoption("--leak-log")
    if not found or not name:
        return
    # xdist's worker id from its config: the environment's is inherited by a
    # pytest that a test runs (test_leak_check).
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    with Path(name).open("a", encoding="utf-8") as log:
        log.writelines(f"[{worker}] {where}: {line}\n" for line in found)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        if item.config.getoption("--leak-log"):
            _log(item.config, item.nodeid, collect_leaks())


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("--leak-log"):
        _log(session.config, "(session end)", collect_leaks())
