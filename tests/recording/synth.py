"""Recordings made without a session: a synthetic desktop encoded as a host
would, fed to a recorder at chosen times (fast: no sockets, no waiting)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.recording import CheckpointPolicy, Recorder
from screencodec.transport.session import messages as m


def synth(directory: Path, *, frames: int = 30, fps: float = 10.0, size: tuple[int, int] = (
        160, 100), scenario: str = "typing", checkpoints: CheckpointPolicy | None = None,
        **recorder: Any) -> tuple[Path, list[Any]]:  # fmt: skip
    """One recording of ``frames`` updates at ``fps``; returns its path and the
    framebuffers a viewer would have shown after each update."""
    rec = Recorder(directory, host_id="synth", checkpoints=checkpoints or CheckpointPolicy(
        budget=0.0, min_interval=1.0), **recorder)  # fmt: skip
    session = rec.start("synthetic")
    src = open_source("synthetic", width=size[0], height=size[1], scenario=scenario, seed=2)
    enc = ScreenEncoder(size[0], size[1])
    shown = []
    from screencodec.decoder import ScreenDecoder

    dec = ScreenDecoder()
    from screencodec.capture.base import CursorState
    from screencodec.motion.cursor import CursorEncoder

    pointer = CursorEncoder()
    arrow = np.zeros((8, 8, 4), np.uint8)
    arrow[..., 2] = arrow[..., 3] = 255  # opaque red
    for i in range(frames):
        data = enc.encode(src.grab())
        session.put("out", m.encode(m.Update(i + 1, data)), at=session.t0 + i / fps)
        for msg in pointer.update(CursorState(10 + 4 * i, 20, shape=arrow, hotspot=(1, 1))):
            session.put("out", m.encode(m.Cursor(msg)), at=session.t0 + i / fps)
        shown.append(dec.decode(data).copy())
    session.put("out", m.encode(m.Chat("bye now")), at=session.t0 + frames / fps)
    session.end("synthetic end", at=session.t0 + frames / fps)
    rec.wait(1)
    enc.close()
    return session.path, shown
