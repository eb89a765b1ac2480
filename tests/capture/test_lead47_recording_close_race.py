"""lead47 (found once in stop 46's bench, not reproduced then): a
``Recording`` closed while another thread reads a frame (a host's capture
thread mid-grab as the session's owner closes the clip) crashed the reader
with a TypeError or ValueError (``_step`` given the decoder and mapping
close() had just dropped) instead of the CaptureError a closed recording
raises. Expected: a read racing a close returns its frame or raises
CaptureError; nothing else, in every trial. The committed real-screen clip
(vim under Xvfb), real threads."""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

from screencodec.capture.recording import Recording
from screencodec.errors import CaptureError

DATA = Path(__file__).resolve().parent.parent / "data" / "recording"


def _read_until_closed(rec: Recording, started: threading.Event, seen: list[BaseException]) -> None:
    try:
        while True:
            # Every 4th frame (a replay skipping frames: several decoded a
            # read), to the end, then from frame 0 again: a new decoder.
            for i in range(0, len(rec), 4):
                rec.frame(i)
                started.set()
    except BaseException as exc:  # what the reader got: judged by the test
        seen.append(exc)
        started.set()


def test_lead47_a_read_racing_a_close_raises_capture_error_or_returns_a_frame() -> None:
    wrong: list[BaseException] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often: the close lands anywhere in a read
    try:
        _trials(wrong)
    finally:
        sys.setswitchinterval(switch)
    assert not wrong, [f"{type(e).__name__}: {e}" for e in wrong[:3]]


def _trials(wrong: list[BaseException]) -> None:
    for _ in range(100):
        rec = Recording.open(DATA / "vim-typing")
        started, seen = threading.Event(), []
        reader = threading.Thread(target=_read_until_closed, args=(rec, started, seen))
        reader.start()
        started.wait(10)
        time.sleep(random.random() * 0.005)
        rec.close()
        reader.join(10)
        assert not reader.is_alive()
        wrong += [e for e in seen if not isinstance(e, CaptureError)]
