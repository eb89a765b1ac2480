"""Shared fixtures: a real X server (Xvfb) and a painter that draws known pixels on it.

Hypothesis runs derandomized by default, so `make test` is the same test on
every run and machine (main must not turn red on a new random draw); the
fuzzers in fuzz/ and `HYPOTHESIS_PROFILE=explore` search for new cases.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from screencodec.geometry import Rect

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

XVFB_SIZE = (1280, 720)
_START_TIMEOUT_S = 15.0


def _read_display_number(fd: int, proc: subprocess.Popen[bytes], log: Path) -> int:
    """Xvfb writes the display number it chose to ``-displayfd`` once it is ready."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            pytest.fail(f"Xvfb did not start (exit {proc.poll()}): {log.read_text()[-2000:]}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                pytest.fail(f"Xvfb closed -displayfd without a number: {log.read_text()[-2000:]}")
            data += chunk
    return int(data.strip())


def _wait_accepting(number: int) -> None:
    """Belt and braces: the server's socket really accepts a connection."""
    path = f"/tmp/.X11-unix/X{number}"
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Xvfb :{number} does not accept connections on {path}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb (1280x720x24) on a free display number, e.g. ``":7"``.

    Fails (never skips) when Xvfb is missing: the capture tests must run for
    real wherever the suite runs (scripts/bootstrap.sh installs it).
    """
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail("Xvfb is not installed: run scripts/bootstrap.sh (Debian package 'xvfb')")
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryDirectory(prefix="xvfb-") as tmp:
        log = Path(tmp) / "xvfb.log"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [
                    exe,
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    f"{XVFB_SIZE[0]}x{XVFB_SIZE[1]}x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        os.close(write_fd)
        try:
            number = _read_display_number(read_fd, proc, log)
            _wait_accepting(number)
            yield f":{number}"
        finally:
            os.close(read_fd)
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


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
