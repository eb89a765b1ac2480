"""``Recorder.close()`` waits for the thread of a session that has already
finished its file (lead49, left open since stop 48).

A session's thread, once its file is complete, leaves the recorder's live
list and then applies retention (prune, and the ``on_pruned`` hook that tells
the host's user what was deleted). close() joined only the live sessions, so
it could return while that thread was still deleting files and calling the
hook: a host that closed its recorder and then its terminal (or removed the
directory) raced its own retention."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from screencodec.recording import Recorder
from screencodec.recording.retention import RetentionPolicy

from .test_attack_craft import START, craft, picture


def test_close_waits_for_a_finished_sessions_retention(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, retention=RetentionPolicy(days=1))
    old = craft(tmp_path / "old.screc", [picture(8, 8)])  # made after the start's prune
    os.utime(old, (START, START))
    in_hook, let_go = threading.Event(), threading.Event()
    told: list[list[Path]] = []

    def hook(paths: list[Path]) -> None:
        in_hook.set()
        let_go.wait(10)
        told.append(paths)

    recorder.on_pruned = hook
    session = recorder.start("agent")
    session.end("done")
    assert in_hook.wait(10), "the finished session's retention never ran"
    assert recorder.sessions == []  # finished: no longer live

    closer = threading.Thread(target=recorder.close, daemon=True)
    closer.start()
    closer.join(0.5)
    try:
        # Expected: close() is still waiting, the hook has not returned.
        assert closer.is_alive(), "close() returned while a finished session was still pruning"
    finally:
        let_go.set()
    closer.join(10)
    assert not closer.is_alive()
    assert told == [[old]] and not old.exists()
    assert session.join(0), "the session thread outlived close()"
