"""flake47b: the ``[view]`` line after a resume whose first update came
before the view's tick looked.

Found (tests/relay/test_relay44_frozen_relay.py failed 1 of 4 runs of
tests/relay at load 8-9, CPU hogs beside): the view said "back in the
session" and then no ``[view]`` line for the 10 s the test waits (a log
prints its line again only after 60 s, a terminal not until something in
it changes). The resumed link had decoded before the view's 0.5 s tick
first looked at it, so "resumed: waiting for the host's first update" was
never due; the line then waited for the host's figures (STATS_WAIT), and
with them it read as the last line of the link before (same size, errors,
round trip band, the picture moving as before): not news. Expected: a
resumed link's first line is news, with its figures.

A real Host and Viewers over loopback through a proxy the test cuts
(test_resume's set-up, as test_words45_resumed_status); the lines are the
view's own function's, asked on its 0.5 s tick as its ticker does, which
does not look while the view is away (as a loaded machine's does not run).
"""

from __future__ import annotations

import asyncio
import io
import re

from screencodec.cli.terminal import StatusLines
from screencodec.cli.view import _Earlier, _status
from screencodec.cli.view_status import _SILENCE_CHECK
from screencodec.transport import VIEW, Viewer
from transport.helpers import run, until
from transport.test_resume import _granted, _lose, _Setup

#: With the host's figures (its round trip too once measured: a resumed
#: link's first figures may come before it is).
_LINE = re.compile(r"\[view\] 320x240 decoded (\d+) errors 0 \d+\.\d fps \d+ kbit/s( rtt .*)?")


async def _ticks(viewer: Viewer, status: StatusLines, earlier: _Earlier, seconds: float,
                 until_said: bool = False) -> list[str]:  # fmt: skip
    """The ``[view]`` lines said over ``seconds`` of the view's ticks (the
    first line said, with ``until_said``)."""
    loop = asyncio.get_running_loop()
    said: list[str] = []
    end = loop.time() + seconds
    while loop.time() < end and not (until_said and said):
        await asyncio.sleep(_SILENCE_CHECK)
        line = _status(viewer, status, loop.time(), earlier)
        if line is not None:
            said.append(line)
    return said


def test_a_resumed_links_line_is_said_when_it_reads_as_the_line_before() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW)
            await _granted(viewer)
            status, earlier = StatusLines(io.StringIO()), _Earlier()  # a log, as the tests read
            await until(lambda: viewer.host_stats is not None and viewer.host_stats.rtt_us > 0,
                        10, "the host's figures with a round trip")  # fmt: skip
            # The first link's lines, until the picture is told moving or
            # still for good (MOVING_AFTER, then the 5 s gap).
            before = await _ticks(viewer, status, earlier, 8.0)
            assert before and _LINE.fullmatch(before[-1]), before
            await _lose(s, viewer, task)
            earlier.add(viewer)
            again = Viewer(await s.connect(), who="Alice (support)",
                           resume=viewer.resume_ticket, picture=viewer.kept_picture)  # fmt: skip
            await again.start(VIEW)
            running = asyncio.ensure_future(again.run())
            # The tick comes late: the resumed link has decoded already.
            await until(lambda: again.decoded >= 1, 10, "the first update on the new link")
            # Found: none (for 60 s, in a log).
            after = await _ticks(again, status, earlier, 12.0, until_said=True)
            assert after, "no [view] line after the resume"
            found = _LINE.fullmatch(after[0])
            assert found is not None, after
            assert int(found[1]) > int(_LINE.fullmatch(before[-1])[1]), (before, after)  # type: ignore[index]
            await again.bye()
            await running

    run(main(), 60)
