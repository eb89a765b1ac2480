"""words45: the ``[view]`` line after a resume waits for the host's figures.

Found walking (walk45, the view in tmux): after the view took a lost link up
again it printed ``[view] 1280x720 decoded 31`` with no figures, then the
same line with them: the resumed link's first update came before the host's
first figures on it (sent each second, when they change), and the line was
due for the end of "waiting for the host's first update", then again for
the figures. Now a resumed link's line, once it has decoded, is held until
the host's figures come; if none come within STATS_WAIT it is said bare,
with why (", resumed: no figures from the host yet").

A real Host and Viewers over loopback through a proxy the test cuts
(test_resume's set-up, as test_termrec_view_status); the line is built by the
view's own function. The host's stats period decides whether figures come:
30 s (none in the test), or the default 1 s. (The walk's order of events is
one a view process meets by chance of its 0.5 s tick: a run of the real
processes, walk3's set-up, got the figures first each time here.)"""

from __future__ import annotations

import asyncio
import io
import re

from screencodec.cli import view_status
from screencodec.cli.terminal import StatusLines
from screencodec.cli.view import _Earlier, _status
from screencodec.transport import VIEW, Viewer
from transport.helpers import run, until
from transport.test_resume import _granted, _lose, _Setup

#: The wait (a module of before has none: its bare line fails the test, not the import).
STATS_WAIT: float = getattr(view_status, "STATS_WAIT", 3.0)
_LINE = re.compile(r"\[view\] 320x240 decoded (\d+) errors 0(.*)")


async def _resumed(s: _Setup) -> tuple[Viewer, asyncio.Future[str], _Earlier]:
    """A viewer that decoded, lost its link and took it up again, once its
    new link has decoded; the earlier links' counts."""
    viewer, task = await s.join(VIEW)
    await _granted(viewer)
    await until(lambda: viewer.decoded >= 3, 10, "updates")
    await _lose(s, viewer, task)
    earlier = _Earlier()
    earlier.add(viewer)
    again = Viewer(await s.connect(), who="Alice (support)", resume=viewer.resume_ticket,
                   picture=viewer.kept_picture)  # fmt: skip
    await again.start(VIEW)
    running = asyncio.ensure_future(again.run())
    await until(lambda: again.decoded >= 1, 10, "the first update on the new link")
    return again, running, earlier


def test_a_resumed_links_line_waits_for_the_hosts_figures_and_says_why_if_none_come() -> None:
    async def main() -> None:
        async with _Setup(stats_period=30.0) as s:  # no figures within the test
            again, running, earlier = await _resumed(s)
            assert again.host_stats is None
            status = StatusLines(io.StringIO())  # a log: the long line
            assert _status(again, status, 10.0, earlier) is None  # was the bare line
            assert _status(again, status, 10.0 + STATS_WAIT - 0.1, earlier) is None
            line = _status(again, status, 10.0 + STATS_WAIT, earlier)
            found = _LINE.fullmatch(line or "")
            assert found is not None, line
            assert found[2] == ", resumed: no figures from the host yet", line
            await again.bye()
            await running

    run(main(), 60)


def test_a_resumed_links_first_line_after_the_wait_has_the_hosts_figures() -> None:
    async def main() -> None:
        async with _Setup() as s:
            again, running, earlier = await _resumed(s)
            status = StatusLines(io.StringIO())
            lines = [_status(again, status, 10.0, earlier)]
            await until(lambda: again.host_stats is not None, 10, "the host's figures")
            lines.append(_status(again, status, 10.5, earlier))
            said = [line for line in lines if line is not None]
            assert len(said) == 1, said  # one line, with its figures
            found = _LINE.fullmatch(said[0])
            assert found is not None, said
            assert re.fullmatch(r" \d+\.\d fps \d+ kbit/s rtt [^,]+", found[2]), said
            await again.bye()
            await running

    run(main(), 60)
