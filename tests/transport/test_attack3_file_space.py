"""An accepted file that does not fit where it goes: the disk fills up (or
the process's file size limit is reached) in the middle of it. A write that
straddles the limit writes only part of its chunk and says how much, with no
error; the next one fails. Attack: a file whose last chunk straddles the
limit, then one whose middle does. Real host and hand-written viewer over a
sealed channel on loopback; the limit is RLIMIT_FSIZE (Python ignores
SIGXFSZ, so the write fails with EFBIG as it would with ENOSPC). Expected
outcome: no truncated file is ever reported received or left behind, the
host's user is told the file could not be saved, and the session goes on."""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
from collections.abc import Iterator
from pathlib import Path

from screencodec.transport import HostConfig
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import allow
from screencodec.transport.session.events import FileReceived, FileRefused

from .secure_fixtures import run
from .test_attack3_file_names import _still_answered, _yes
from .test_attack_caps import _granted, _session

KiB = 1024
_LIMIT = 900 * KiB


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _outcome(tmp_path: Path, size: int) -> tuple[list[object], list[Path]]:
    """Send ``size`` random bytes under the limit; the host's file events and
    what is left in its download directory."""
    data = os.urandom(size)
    inbox = tmp_path / "in"
    inbox.mkdir()

    async def main() -> list[object]:
        cfg = HostConfig(download_dir=inbox)
        async with _session(allow(), file_consent=_yes, config=cfg) as (host, ch):
            events = host.events()
            assert isinstance(await _granted(ch), m.PermissionGrant)
            await ch.send(m.encode(m.FileOffer(1, "big.bin", len(data))))
            while not isinstance(msg := m.decode(await ch.recv()), m.FileAccept):
                pass
            assert msg.accepted
            # Until the outcome: the host writes on its disk thread, after
            # the chunks came (files32).
            with _file_size_limit(_LIMIT):
                for at in range(0, len(data), m.MAX_FILE_CHUNK):
                    await ch.send(m.encode(m.FileChunk(1, at, data[at:at + m.MAX_FILE_CHUNK])))
                await ch.send(m.encode(m.FileEnd(1, hashlib.sha256(data).digest())))
                await _still_answered(ch)
                got: list[object] = []
                async for ev in events:
                    if isinstance(ev, FileReceived | FileRefused):
                        got.append(ev)
                        break
            return got

    return run(main()), list(inbox.iterdir())


def test_a_last_chunk_cut_short_by_a_full_disk_is_not_a_received_file(tmp_path: Path) -> None:
    """968 KiB against a 900 KiB limit: the last chunk (bytes 768-968 KiB) is
    written in part. Before: FileReceived for 968 KiB, and a 900 KiB file on
    disk (the hash is checked on what arrived, not on what was written)."""
    events, left = _outcome(tmp_path, 968 * KiB)
    assert left == []
    (ev,) = events
    assert isinstance(ev, FileRefused) and "could not be saved" in ev.why


def test_a_full_disk_in_the_middle_of_a_file_ends_the_file_not_the_session(
        tmp_path: Path) -> None:
    """1.5 MiB against the 900 KiB limit: the fourth chunk is short, the
    fifth fails. The file goes, the session stays (before: the failed write
    ended the session)."""
    events, left = _outcome(tmp_path, 1536 * KiB)
    assert left == []
    (ev,) = events
    assert isinstance(ev, FileRefused) and "could not be saved" in ev.why
