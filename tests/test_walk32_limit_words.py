"""walk32: the host's user reads a file's size limit as the agent does.

Walked by hand: the agent sent a 1.3 GB file; the agent's terminal said
"the host did not accept huge.bin: it takes none larger than 1.07 GB" (the
reason code's words, refusal_words: limit_amount), the host's terminal
"refused a file from 'Alice' (...): 'huge.bin' (1.3 GB): larger than this
host takes (1073741824 bytes)", a ten-digit count where everything else it
prints is in kB/MB/GB (a strict xfail until fixed: FileReceiver._refusal
now says limit_amount's words). The real FileReceiver on a real folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.transport.channel.display import limit_amount
from screencodec.transport.session import messages as m
from screencodec.transport.session.sidechannels import FileReceiver


async def _yes(*_: object) -> bool:
    return True


@pytest.mark.parametrize(("size", "words"), [
    ((1 << 30) + 1, "larger than this host takes ({})"),
    ((4 << 30) + 1, "over what this host takes in one session ({})"),
])  # fmt: skip
def test_the_hosts_refusal_says_the_limit_as_the_agent_reads_it(
    size: int, words: str, tmp_path: Path,
) -> None:
    # Over the session's total: one file within the per-file limit (8 GB here).
    max_file = 1 << 30 if "larger" in words else 8 << 30
    rx = FileReceiver(tmp_path, _yes, max_file=max_file, max_total=4 << 30)
    offer = m.FileOffer(1, "huge.bin", size)
    assert rx.admit(offer, "127.0.0.1:1") is None
    limit = rx.max_file if "larger" in words else rx.max_total
    assert rx.refusal_event(offer, "127.0.0.1:1").why == words.format(limit_amount(limit))
