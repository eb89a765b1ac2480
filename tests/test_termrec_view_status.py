"""The terminal view's ``[view]`` line after a lost link was taken up again
(termrec). The viewer that resumes on the kept picture shows it from its
grant on, before the host's first update on the new link: the line built
then said ``decoded 0`` (the new link's count) of a picture that had taken
the session its earlier updates. A real Host and Viewers over loopback
through a proxy the test cuts (test_resume's set-up); the line is built by
the view's own function, with the state the view has just after
'back in the session'."""

from __future__ import annotations

import asyncio
import io
import re

from screencodec.cli.terminal import StatusLines
from screencodec.cli.view import _Earlier, _status
from screencodec.transport import VIEW, Viewer
from transport.helpers import run, until
from transport.test_resume import _granted, _lose, _Setup

_LINE = re.compile(r"\[view\] 320x240 decoded (\d+) errors 0(.*)")


def test_view_line_after_a_resume_counts_over_the_session_and_says_it_waits() -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW)
            await _granted(viewer)
            await until(lambda: viewer.decoded >= 3, 10, "updates")
            await _lose(s, viewer, task)
            assert viewer.kept_picture is not None
            earlier = _Earlier()
            earlier.add(viewer)
            again = Viewer(await s.connect(), who="Alice (support)", resume=viewer.resume_ticket,
                           picture=viewer.kept_picture)  # fmt: skip
            await again.start(VIEW)  # 'back in the session': the kept picture shown
            assert again.decoded == 0 and again.framebuffer is not None
            status = StatusLines(io.StringIO())  # a log: the long line
            line = _status(again, status, 0.0, earlier)
            found = _LINE.fullmatch(line or "")
            assert found is not None, line
            assert int(found[1]) == viewer.decoded  # was 'decoded 0'
            assert found[2] == ", resumed: waiting for the host's first update", line
            task2 = asyncio.ensure_future(again.run())
            await until(lambda: again.decoded >= 1, 10, "the first update on the new link")
            # The line waits for the host's figures on the new link (words45).
            await until(lambda: again.host_stats is not None, 10, "the host's figures")
            line = _status(again, status, 10.0, earlier)
            found = _LINE.fullmatch(line or "")
            assert found is not None, line
            assert int(found[1]) == viewer.decoded + again.decoded and "resumed" not in line
            await again.bye()
            await task2

    run(main(), 60)
