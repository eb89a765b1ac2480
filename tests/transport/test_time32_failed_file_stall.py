"""time32: a file the receiver could not save is not waited for (a strict xfail
until fixed: the sender waited out its stall).

The receiver that cannot write a file (its disk full) says so at once with
a FileResult and confirms no more chunks. The sender, its window full, was
waiting for room (pacing.BulkWindow.wait_room) and goes on waiting for its
``stall`` (5 s) before it looks at the result: the sending side is told
"failed" 5 s late, and one more chunk goes for nothing. Seen as 4.6 s of
waiting in tests/web/test_fileresult_page.py and test_small_page_not_saved.py
and 5.1 s in test_fileresult_session.py's 2 MiB upload. Real host and viewer
over sealed channels on loopback; the host's file size limit (RLIMIT_FSIZE,
4 KiB) fails its first write, as a full disk would: the viewer's sender has
sent its first window by then (nothing confirmed it), and waits for room."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screencodec.transport.session.pacing import BulkWindow
from screencodec.transport.session.sidechannels import FileSender

from .test_attack3_file_space import _file_size_limit
from .test_fileresult_session import KiB, _dirs, _upload


def test_a_file_the_receiver_could_not_save_stops_without_waiting_out_a_stall(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(1 << 20))  # more than a window
    windows: list[BulkWindow] = []
    pace = FileSender.pace

    def kept(sender: FileSender) -> None:
        pace(sender)
        assert sender.window is not None
        # The stall shortened to 2 s (the waiting the bug costs a run): on
        # loopback in one process a 2 s gap in confirmations is no stall.
        sender.window.stall = 2.0
        windows.append(sender.window)

    monkeypatch.setattr(FileSender, "pace", kept)
    with _file_size_limit(4 * KiB):
        ok, last, _ = _upload(host_dir, viewer_dir, src)
    assert not ok and last is not None and last.outcome == "failed", last
    # Expected: the failure ends the wait for room; no chunk waits out a stall.
    assert [w.stalls for w in windows if w.stalls] == [], [w.stalls for w in windows]
