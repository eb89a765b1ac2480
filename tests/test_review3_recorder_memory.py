"""review3: what a finished recording keeps. ``Recorder.finished`` holds
every session's recorder for the host's life (termrec's 56e1abf makes it
what ``Recorder.issuer`` matches a resume ticket against), and each kept
the decoders that checked its stream: a 1080p session's framebuffer, about
9 MB, for good (30 sessions of one 1080p keyframe each: +268 MiB RSS,
measured). A host that serves a support desk for weeks, each resumed link
a session of its own, grew without end. The real Recorder and encoder; the
memory counted by tracemalloc (numpy's buffers included)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np

from screencodec.encoder import ScreenEncoder
from screencodec.recording import Recorder
from screencodec.transport.session import messages as m

W, H = 640, 480


def test_a_finished_recording_lets_go_of_its_decoders(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = np.zeros((H, W, 4), np.uint8)
    frame[..., :3] = rng.integers(0, 4, (H, W, 3), np.uint8) * 64
    enc = ScreenEncoder(W, H)
    update = m.encode(m.Update(0, enc.encode(frame)))
    enc.close()
    recorder = Recorder(tmp_path, host_id="test-host")
    sessions = 8

    def record_one(i: int) -> None:
        s = recorder.start(f"p{i}")
        s.put("out", update)
        s.end("bye")
        assert s.join(30.0)

    record_one(-1)  # imports, caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(sessions):
            record_one(i)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    recorder.close()
    assert all(s.error is None and s.updates == 1 for s in recorder.finished)
    # A framebuffer is W*H*4 = 1.2 MB: the old recorder kept one a session.
    assert grown < sessions * W * H * 4 // 4, grown
