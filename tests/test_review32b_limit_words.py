"""review32b: a size limit is said as it is, on both sides.

limit_amount (the host's own refusal since e669951, and the words of a
TOO_LARGE / OVER_TOTAL reason code the peer reads) stripped the zeros of a
whole number: a host run with a 250 MB limit told its user "larger than this
host takes (25 MB)" and the agent "it takes none larger than 25 MB"; 100 kB
read "1 kB". Its floor, in floats, put an exact limit under itself: a limit
of 1.15 GB read "1.14 GB", 1130 bytes "1.12 kB". The real FileReceiver and
refusal_words."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from screencodec.transport.channel.display import limit_amount
from screencodec.transport.session import messages as m
from screencodec.transport.session.files.wire import TOO_LARGE, refusal_words
from screencodec.transport.session.sidechannels import FileReceiver


async def _yes(*_: object) -> bool:
    return True


@pytest.mark.parametrize(("limit", "said"), [
    (250 * 10**6, "250 MB"), (100_000, "100 kB"), (500 * 10**6, "500 MB"), (10**12, "1000 GB"),
    (1_150_000_000, "1.15 GB"), (1130, "1.13 kB"), (1 << 30, "1.07 GB"), (20 * 10**6, "20 MB"),
    (999, "999 bytes"), (99_999, "99.9 kB"), (1000, "1 kB"),
])  # fmt: skip
def test_a_limit_reads_as_itself(limit: int, said: str, tmp_path: Path) -> None:
    rx = FileReceiver(tmp_path, _yes, max_file=limit, max_total=limit * 4)
    offer = m.FileOffer(1, "big.bin", limit + 1)
    assert rx.admit(offer, "127.0.0.1:1") is None
    assert rx.refusal_event(offer, "127.0.0.1:1").why == f"larger than this host takes ({said})"
    assert refusal_words(TOO_LARGE, limit) == f"it takes none larger than {said}"


def test_a_limit_is_never_said_above_itself_and_to_three_figures() -> None:
    scales = {"byte": 1, "bytes": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9}  # walk46: "1 byte"
    for e in range(13):
        for k in range(1, 1000):
            for n in (k * 10**e - 1, k * 10**e, k * 10**e + 1):
                if n <= 0:
                    continue
                figure, unit = limit_amount(n).split()
                shown = Decimal(figure) * scales[unit]
                # Floored to three figures: under the limit by less than a unit of the third.
                assert 0 <= n - shown < max(1, 10 ** (len(str(n)) - 3)), (n, limit_amount(n))
