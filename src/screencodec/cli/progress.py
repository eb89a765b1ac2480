"""How far a file has gone, for the ``host`` and ``view`` terminals alike,
sent or received: a line a person can follow without the terminal flooding.

A :class:`Progress` is fed the bytes moved so far; it gives a line when a
new quarter of the file (25, 50, 75 %) has gone since its last line and at
least :data:`EVERY` seconds have passed since it (or since the file began
to move): at most three lines a file, at most one each 5 s. A file that
takes less than 5 s gets none (its outcome's line says the rest); one of
14 s (6 MB at 4 Mbit/s) gets two, one of minutes three. Each line gives the
share, the bytes, the rate and about how long is left.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from screencodec.transport.channel.display import amount

if TYPE_CHECKING:
    from screencodec.transport.session.sidechannels import FileOfferInfo

__all__ = ["EVERY", "Progress", "Receiving", "amount", "rate"]

#: The least time between two progress lines of one file (s). The test suite
#: shortens it for the host and view it starts with
#: $SCREENCODEC_TEST_PROGRESS_EVERY (tests only), read as each file begins,
#: not at import: the tests' warm starter (tests/warm_start.py) forks its
#: processes from one that imported this without the variable, and a
#: variable read at import made each start that set it a fresh exec.
EVERY = 5.0


def rate(per_second: float) -> str:
    """A rate of bytes a second as a link's speed: "3.9 Mbit/s", "640 kbit/s"."""
    bits = per_second * 8
    if bits >= 1e6:
        return f"{bits / 1e6:.1f} Mbit/s"
    return f"{bits / 1e3:.0f} kbit/s"


class Progress:
    """The progress lines of one file moving (see the module docstring).
    ``what`` starts each line ("sending report.pdf to the host"); ``size``
    is the file's. State: when it began to move (the first :meth:`line`),
    when the last line was given and the quarter it told."""

    def __init__(self, what: str, size: int) -> None:
        self.what = what
        self.size = size
        self._start: float | None = None
        self._last = 0.0
        self._quarter = 0
        self._every = float(os.environ.get("SCREENCODEC_TEST_PROGRESS_EVERY", EVERY))

    def line(self, done: int, now: float) -> str | None:
        """The line due now that ``done`` bytes have moved, or None."""
        if self._start is None:
            self._start = self._last = now
        if self.size <= 0 or done >= self.size:
            return None  # the outcome's own line follows
        quarter = 4 * done // self.size
        if quarter <= self._quarter or now - self._last < self._every:
            return None
        self._quarter, self._last = quarter, now
        per_second = done / max(now - self._start, 1e-6)
        left = (self.size - done) / per_second if per_second > 0 else 0.0
        return (f"({self.what}: {100 * done // self.size}% ({amount(done)} of"
                f" {amount(self.size)}) at {rate(per_second)}, about {left:.0f} s left)")


class Receiving:
    """The progress lines of the files being received, looked at now and
    then (``moving``: each file's offer and the bytes of it written so far,
    :meth:`~screencodec.transport.session.sidechannels.FileReceiver.receiving`):
    one :class:`Progress` a file, ``what(info)`` starting its lines, forgotten
    once the file is no longer among them."""

    def __init__(self, what: Callable[[FileOfferInfo], str]) -> None:
        self._what = what
        self._files: dict[tuple[str, int], Progress] = {}

    def lines(self, moving: list[tuple[FileOfferInfo, int]], now: float) -> list[str]:
        files: dict[tuple[str, int], Progress] = {}
        said = []
        for info, done in moving:
            key = (info.peer, info.transfer)
            progress = self._files.get(key) or Progress(self._what(info), info.size)
            files[key] = progress
            line = progress.line(done, now)
            if line is not None:
                said.append(line)
        self._files = files
        return said
