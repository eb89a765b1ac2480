"""Shared fixtures: a real X server (Xvfb) and a painter that draws known pixels on it.

Hypothesis runs derandomized by default, so `make test` is the same test on
every run and machine (main must not turn red on a new random draw); the
fuzzers in fuzz/ and `HYPOTHESIS_PROFILE=explore` search for new cases.

The `python -m screencodec` hosts and viewers the helpers start (PtyHost,
test_cli's start_host, ...: warm_start.warm_popen) are forked from a warm
starter, one per test process, that has imported the commands already: a
host's start costs 0.035 s of CPU instead of 0.265 (warm51). A start that is
not plainly the same (another PYTHONPATH, a limit read at import set
otherwise) is a real exec; `SCREENCODEC_TESTS_EXEC=1 make test` runs every
start the old way (to tell a warm starter's difference from a product bug).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

# Hypothesis runs its installed plugins at import: trio's (a dependency of
# Selenium) imports trio and trio.testing, 0.2 s of CPU in each test process
# (and the two collecting ones of `make test`) for strategies nothing here uses.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")
from hypothesis import settings

# The processes the tests start import NumPy, whose OpenBLAS would start a
# spinning thread a core in each (0.15 s of CPU; nothing here uses BLAS).
# `screencodec` itself sets this; snippets run with `python -c` do not.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from screencodec.capture.xvfb import private_xvfb
from screencodec.geometry import Rect
from slow_first import file_order

# --leak-log FILE (leak_check.py): which test left a socket to the collector;
# --file-times FILE (file_times.py): each file's wall and CPU seconds.
pytest_plugins = ("leak_check", "file_times")

# A suite started as a background job of a non-interactive shell (`make test &`,
# nohup) inherits SIGINT ignored, and so would every host it starts: Python
# then installs no Ctrl-C handler, and the tests that stop a host with SIGINT
# (its user's Ctrl-C) would wait on a host that never hears it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# Likewise SIGHUP under nohup (a detached `make test`, some CI runners): the
# hosts and viewers the tests close a terminal on would inherit the ignore
# and rightly outlive it (cli.terminal.ending_signals). A handler that does
# nothing keeps this process deaf to it, as nohup meant, while the children
# start with the default (exec keeps an ignore, never a handler).
if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
    signal.signal(signal.SIGHUP, lambda _sig, _frame: None)

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

XVFB_SIZE = (1280, 720)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb (1280x720x24) on a free display number, e.g. ``":7"``.

    Fails (never skips) when Xvfb is missing: the capture tests must run for
    real wherever the suite runs (scripts/bootstrap.sh installs it).
    """
    with private_xvfb(*XVFB_SIZE) as display:
        yield display


class Painter:
    """Draws solid rectangles straight onto the root window of an X display."""

    def __init__(self, display: str) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._X = X
        self.display = display
        self._d: Any = xdisplay.Display(display)
        self.root: Any = self._d.screen().root
        self._gc: Any = self.root.create_gc(subwindow_mode=X.IncludeInferiors)

    def fill(self, rect: Rect, rgb: tuple[int, int, int]) -> None:
        r, g, b = rgb
        # A 24-bit TrueColor visual: the pixel value is 0xRRGGBB.
        self._gc.change(foreground=(r << 16) | (g << 8) | b)
        self.root.fill_rectangle(self._gc, rect.x, rect.y, rect.w, rect.h)
        self._d.sync()

    def clear(self, rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.fill(Rect(0, 0, *XVFB_SIZE), rgb)

    def warp_pointer(self, x: int, y: int) -> None:
        self.root.warp_pointer(x, y)
        self._d.sync()

    def has_extension(self, name: str) -> bool:
        return bool(self._d.has_extension(name))

    def close(self) -> None:
        self._d.close()


@pytest.fixture(scope="session")
def _painter(xvfb_display: str) -> Iterator[Painter]:
    painter = Painter(xvfb_display)
    yield painter
    painter.close()


@pytest.fixture
def x_painter(_painter: Painter) -> Painter:
    """The session's painter, over a screen cleared to black for each test."""
    _painter.clear()
    return _painter


@pytest.fixture(scope="session")
def _shared_chromium() -> Iterator[list[Any]]:
    """This process's Chromium, for tests/web/conftest.py's ``browser`` (a
    list: empty until a module asks for it). Here, not there: modules outside
    tests/web import that fixture, and pytest finds a session fixture they
    depend on only in a conftest above them."""
    held: list[Any] = []
    yield held
    for drv in held:
        drv.quit()


def pytest_configure(config: pytest.Config) -> None:
    """The package's sources compiled once, by the run's first process: where
    PYTHONDONTWRITEBYTECODE is set (this project's machines set it) each
    host, viewer and relay the tests start compiled them again, 0.2 s of CPU
    of a host's 0.45 to its password line (startup39); ``make test`` does
    the same before its run. Sources not changed since are not compiled again;
    a folder that cannot be written (an installed wheel) is left as it is."""
    if hasattr(config, "workerinput"):  # an xdist worker: its controller did it
        return
    import compileall
    from pathlib import Path

    import screencodec

    compileall.compile_dir(Path(screencodec.__file__).parent, quiet=2)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files in slow_first.py's order (xdist hands them out in this
    order), each file's tests in their own order."""
    root = config.rootpath

    def where(item: pytest.Item) -> str:
        try:
            return item.path.relative_to(root).as_posix()
        except ValueError:
            return ""

    rank = {path: n for n, path in enumerate(file_order(map(where, items)))}
    items[:] = [
        item for _, item in sorted(enumerate(items), key=lambda i: (rank[where(i[1])], i[0]))
    ]
