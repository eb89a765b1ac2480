"""The agent uploads a file from the page while the disk that holds the
viewer's temporary directory fills up (or the process's file size limit is
reached). A write that straddles the limit writes part of its frame and says
how much; the next one fails. Real PageFiles over real files; the limit is
RLIMIT_FSIZE (Python ignores SIGXFSZ, so the write fails with EFBIG as it
would with ENOSPC). Expected outcome: the upload is reported failed, nothing
truncated is ever offered to the host, later frames of it are no protocol
error, and the next upload that fits goes through."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from tests.transport.test_attack3_file_space import _file_size_limit

from screencodec.web.files import PageFiles

KiB = 1024


def _frames(tid: int, data: bytes, size: int = 256 * KiB) -> list[bytes]:
    return [struct.pack(">I", tid) + data[at:at + size] for at in range(0, len(data), size)]


def test_an_upload_cut_short_by_a_full_disk_is_never_offered_truncated() -> None:
    sent: list[dict[str, Any]] = []
    files = PageFiles(sent.append, {})
    try:
        data = os.urandom(968 * KiB)
        files.offer({"id": 1, "name": "big.bin", "size": len(data)})
        with _file_size_limit(900 * KiB):
            for frame in _frames(1, data):
                files.chunk(frame)  # no exception: the upload fails, the page stays
        assert files.done(1) is None  # nothing to offer
        failed = [x for x in sent if x.get("state") == "failed"]
        assert len(failed) == 1 and "could not be stored" in failed[0]["text"]
        assert list(Path(files._tmp.name).iterdir()) == []
        # The next upload, which fits, is whole.
        small = os.urandom(10 * KiB)
        files.offer({"id": 2, "name": "small.bin", "size": len(small)})
        for frame in _frames(2, small):
            files.chunk(frame)
        done = files.done(2)
        assert done is not None and done[0].read_bytes() == small
    finally:
        files.close()
