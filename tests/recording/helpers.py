"""Shared by the recording tests: a viewer decoder that remembers what it
showed, a polling wait bounded by a deadline, and the real command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from screencodec.decoder import ScreenDecoder
from screencodec.frames import framebuffer_hash
from warm_start import warm_run


class RememberingDecoder(ScreenDecoder):
    """A viewer's decoder that keeps the framebuffer hash after every update
    (in order), and full copies of the first ``keep`` framebuffers."""

    def __init__(self, keep: int = 0) -> None:
        super().__init__()
        self.hashes: list[int] = []
        self.copies: list[npt.NDArray[np.uint8]] = []
        self._keep = keep

    def decode(self, data: bytes | bytearray | memoryview, /) -> npt.NDArray[np.uint8]:
        fb = super().decode(data)
        self.hashes.append(framebuffer_hash(fb))
        if len(self.copies) < self._keep:
            self.copies.append(np.array(fb))
        return fb


async def until(cond: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.01)


def recordings_cli(*args: object) -> subprocess.CompletedProcess[str]:
    """``screencodec recordings ARGS...`` in a process of its own, as a user
    runs it (forked warm: tests/warm_start.py; 0.5 s of CPU an exec)."""
    return warm_run(
        [sys.executable, "-m", "screencodec", "recordings", *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
