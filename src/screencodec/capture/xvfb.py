"""A private X server (Xvfb) on a free display number, for tests, benchmarks
and recording the real-screen corpus without a physical display.

``-noreset`` matters: without it the server resets when its last client
leaves, and a client connecting during that reset is dropped (ECONNRESET).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from screencodec.errors import CaptureError

__all__ = ["private_xvfb", "xvfb_xterm"]


@contextlib.contextmanager
def private_xvfb(
    width: int, height: int, *, args: Sequence[str] = (), timeout: float = 15.0
) -> Iterator[str]:
    """Start Xvfb at ``width`` x ``height`` x 24 and yield its display (``":7"``)
    once it accepts connections; stop it on exit. ``args`` go to Xvfb as
    they are (``"-br"`` for a black root). Raises CaptureError if Xvfb is
    missing or does not come up within ``timeout`` seconds."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise CaptureError("Xvfb is not installed: run scripts/bootstrap.sh (Debian 'xvfb')")
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryDirectory(prefix="xvfb-") as tmp:
        log = Path(tmp) / "xvfb.log"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [exe, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                 "-nolisten", "tcp", "-noreset", *args],
                pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        os.close(write_fd)
        try:
            deadline = time.monotonic() + timeout
            number = _read_display_number(read_fd, proc, log, deadline)
            _wait_accepting(number, deadline)
            yield f":{number}"
        finally:
            os.close(read_fd)
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _read_display_number(
    fd: int, proc: subprocess.Popen[bytes], log: Path, deadline: float
) -> int:
    """Xvfb writes the display number it chose to ``-displayfd`` once it is ready."""
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise CaptureError(
                f"Xvfb did not start (exit {proc.poll()}): {log.read_text()[-2000:]}"
            )
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise CaptureError(f"Xvfb gave no display number: {log.read_text()[-2000:]}")
            data += chunk
    return int(data.strip())


def _wait_accepting(number: int, deadline: float) -> None:
    """Belt and braces: the server's socket really accepts a connection."""
    path = f"/tmp/.X11-unix/X{number}"
    while True:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise CaptureError(f"Xvfb :{number} does not accept on {path}") from None
        time.sleep(0.05)


@contextlib.contextmanager
def xvfb_xterm(
    width: int, height: int, *, cols: int = 60, rows: int = 12, at: tuple[int, int] = (20, 20)
) -> Iterator[str]:
    """A private Xvfb (black root) with an xterm of ``cols`` x ``rows`` at
    ``at`` echoing what is typed (``cat``), the pointer over it (so that it has
    the keyboard focus: there is no window manager); yields the display once
    the xterm has drawn its window and its focused (filled) cursor. For
    xdotool typing in tests and benchmarks."""
    from .screen import ScreenSource

    with private_xvfb(width, height, args=["-br"]) as display:
        env = {**os.environ, "DISPLAY": display}
        geometry = f"{cols}x{rows}+{at[0]}+{at[1]}"
        term = subprocess.Popen(
            ["xterm", "-geometry", geometry, "-e", "sh", "-c", "cat; sleep 3600"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            x, y = at[0] + 10, at[1] + 10
            with ScreenSource(display=display) as src:
                deadline = time.monotonic() + 20
                while not src.grab()[y : y + 10, x : x + 10, :3].any():  # a black root
                    if time.monotonic() > deadline or term.poll() is not None:
                        raise CaptureError(f"the xterm did not show (exit {term.poll()})")
                    time.sleep(0.05)
                subprocess.run(["xdotool", "mousemove", str(x + 70), str(y + 30)], env=env,
                               check=True)  # fmt: skip
                # The background above is the X server's, painted as the
                # window maps: the xterm may not have handled its exposure
                # yet, nor the focus. Its block cursor (the top-left cell,
                # after a 1 px border and a 2 px inner one) is drawn filled
                # once it has handled both, in order. flake48a: under load it
                # redrew its whole window after this returned, in a test
                # that judges the damage of what it then typed.
                cx, cy = at[0] + 5, at[1] + 8
                deadline = time.monotonic() + 20
                while src.grab()[cy, cx, :3].max() >= 128:
                    if time.monotonic() > deadline or term.poll() is not None:
                        raise CaptureError(f"the xterm did not take the focus (exit {term.poll()})")
                    time.sleep(0.02)
            yield display
        finally:
            term.kill()
            term.wait(5)
