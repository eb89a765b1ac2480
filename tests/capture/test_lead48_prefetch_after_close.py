"""CI, stop 47: review47's paced-close trials left two prefetch workers
alive after every close had returned. A ``frame`` call that had passed its
closed check fetched its frame in the caller's thread while another thread
closed the sequence (no worker to join yet, or the worker joined and
dropped), then started a worker for the next frame: a thread started after
close, never joined.

Expected: once ``close()`` has returned, a ``frame`` call still under way
starts no thread, and the frame it fetched is still returned.
"""

from __future__ import annotations

import threading

import numpy as np

from screencodec.capture.replay import PrefetchedSequence

_starts: list[str] = []
_watching = threading.Event()


def _note_start(frame: object, event: str, arg: object) -> None:
    # threading.settrace: called first thing in each thread threading starts.
    if _watching.is_set():
        _starts.append(threading.current_thread().name)


class _ClosedWhileFetching:
    """Three blank frames; the first fetch closes ``target`` from another
    thread (and waits for that close to return) before it returns."""

    width, height = 8, 4
    times = np.array([0.0, 0.1, 0.2])

    def __init__(self) -> None:
        self.target: PrefetchedSequence | None = None

    def __len__(self) -> int:
        return 3

    def frame(self, index: int) -> np.ndarray:
        if self.target is not None:
            target, self.target = self.target, None
            closer = threading.Thread(target=target.close)
            closer.start()
            closer.join(5)
            assert not closer.is_alive(), "close() hung"
            _watching.set()  # close has returned: from here no thread may start
        return np.full((4, 8, 4), index, np.uint8)


def test_lead48_a_frame_call_racing_close_starts_no_worker() -> None:
    # Threads alive before this test are not its own: another file run in
    # this process may have left an unclosed source's worker (flake48a).
    before = set(threading.enumerate())
    frames = _ClosedWhileFetching()
    seq = PrefetchedSequence(frames)  # type: ignore[arg-type]
    frames.target = seq
    _starts.clear()
    threading.settrace(_note_start)  # type: ignore[arg-type]
    try:
        got = seq.frame(0)
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
        _watching.clear()
    assert int(got[0, 0, 0]) == 0  # the frame fetched before the close
    assert _starts == [], f"threads started after close() returned: {_starts}"
    assert not [
        t for t in threading.enumerate() if t.name == "screencodec-prefetch" and t not in before
    ]
