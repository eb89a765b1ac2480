"""A private X server and the processes the recorder starts on it.

Every process is started in its own session (so its whole process group can
be ended by its id) and remembered; :meth:`XSession.stop_all` ends them
newest first, SIGTERM then SIGKILL, and the session ends Xvfb last. Used as a
context manager, it cleans up on every exit path, errors and Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["XSession"]


def _end_group(proc: subprocess.Popen[Any], grace: float) -> None:
    """End ``proc`` and everything in its process group (it leads its own)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    # Children may outlive a leader that exited on SIGTERM: kill what is left.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)


class XSession:
    """Xvfb on a free display (``-displayfd``) plus the apps started on it.

    ``env`` is the environment for apps: DISPLAY, a private HOME under
    ``workdir``, C.UTF-8. Not thread-safe.
    """

    def __init__(self, width: int, height: int, workdir: Path) -> None:
        self.width, self.height = width, height
        self.workdir = workdir
        self.home = workdir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.display = ""
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._procs: list[subprocess.Popen[Any]] = []
        self.env: dict[str, str] = {}

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self._xvfb = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0",
                 f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,), start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            os.close(write_fd)
            write_fd = -1
            number = b""
            while not number.endswith(b"\n"):
                chunk = os.read(read_fd, 64)  # Xvfb writes the number once it is ready
                if not chunk:
                    raise RuntimeError("Xvfb exited before it reported a display number")
                number += chunk
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        self.display = f":{int(number)}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DISPLAY": self.display,
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "xterm-256color",
            "USER": "support",
            "XDG_RUNTIME_DIR": str(self.workdir),
        }

    @property
    def server_pid(self) -> int:
        assert self._xvfb is not None
        return self._xvfb.pid

    def spawn(self, argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
        """Start an app on the display; it is ended by :meth:`stop_all`."""
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        kw.setdefault("stdin", subprocess.DEVNULL)
        env = dict(self.env, **kw.pop("env", {}))
        proc = subprocess.Popen(list(argv), env=env, start_new_session=True, **kw)
        self._procs.append(proc)
        return proc

    def run(self, *argv: str, timeout: float = 30) -> str:
        """Run a short command on the display (xdotool, xwininfo); return its stdout."""
        out = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=True
        )
        return out.stdout

    def xdotool(self, *args: str) -> str:
        return self.run("xdotool", *args)

    def wait_window(self, name: str, timeout: float = 60) -> str:
        """The id of the first visible window whose name matches ``name`` (a regex)."""
        out = self.run(
            "xdotool", "search", "--sync", "--onlyvisible", "--name", name, timeout=timeout
        )
        return out.split()[0]

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float = 60) -> None:
        """Poll ``ready`` every 0.1 s until it holds; RuntimeError after ``timeout``."""
        end = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > end:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def wait_still(
        self,
        grab: Callable[[], np.ndarray],
        quiet: float = 1.0,
        timeout: float = 60,
        ignore: tuple[int, int, int, int] | None = None,
    ) -> None:
        """Wait until the screen stops changing for ``quiet`` seconds (an app has
        finished drawing); ``ignore`` is an (x, y, w, h) area allowed to change."""
        prev = grab().copy()
        since = time.monotonic()
        end = since + timeout
        while time.monotonic() - since < quiet:
            if time.monotonic() > end:
                raise RuntimeError("timed out waiting for the screen to settle")
            time.sleep(0.1)
            cur = grab()
            a, b = prev[..., :3], cur[..., :3]
            if ignore is not None:
                x, y, w, h = ignore
                a, b = a.copy(), b.copy()
                a[y : y + h, x : x + w] = 0
                b[y : y + h, x : x + w] = 0
            if not np.array_equal(a, b):
                prev = cur.copy()
                since = time.monotonic()

    def stop_all(self) -> None:
        """End every app started so far, newest first."""
        while self._procs:
            _end_group(self._procs.pop(), grace=3)

    def close(self) -> None:
        self.stop_all()
        if self._xvfb is not None:
            _end_group(self._xvfb, grace=5)
            self._xvfb = None

    def __enter__(self) -> XSession:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
