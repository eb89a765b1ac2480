"""endleft: ``screencodec host`` when the session's time limit
(``--max-duration``) ends a session whose agent is away (its link lost,
the limit before the 60 s it may come back within; auditleft ends it then).
Found before: the terminal said "'NAME' did not come back within 1 s",
as if the agent had been too slow, and a ``--once`` host exited 5 (LOST:
the agent did not come back). Now it says the time limit ended it, and a
``--once`` host exits 0, as for a limit reached while the agent is there.

The CLI's own _Commands and _show, a real Host (time limit 3 s, window
60 s) on a loopback listener, a real Viewer behind a proxy that cuts its
link (test_walk6_host_away.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re

import pytest

from screencodec.cli.host import STOPPED, _Commands, _show
from screencodec.cli.main import Exit
from screencodec.transport import TerminalQuestions

from .helpers import run, until
from .test_resume import _lose, _Setup


@pytest.mark.parametrize("once", [False, True])
def test_the_time_limit_ending_a_session_whose_agent_is_away_is_told_as_the_limit(
        once: bool) -> None:  # fmt: skip
    async def main() -> tuple[str, Exit]:
        async with _Setup(max_duration=3.0, resume_window=60.0) as s:
            out = io.StringIO()
            ui = TerminalQuestions(io.StringIO(), out)
            done = asyncio.Event()
            commands = _Commands(ui, done, once=once, takes_files=False)
            commands.host = s.host
            shown = asyncio.ensure_future(_show(s.host, ui, commands))
            try:
                viewer, task = await s.join(who="Carol")
                await until(lambda: viewer.decoded >= 1 and "SHARED WITH" in out.getvalue(),
                            10, "shared")  # fmt: skip
                await _lose(s, viewer, task)
                await until(lambda: "may reconnect within" in out.getvalue(), 10, "lost")
                if once:
                    await asyncio.wait_for(done.wait(), 10)
                else:
                    await until(lambda: STOPPED in out.getvalue(), 10, "sharing stopped")
            finally:
                shown.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shown
        return out.getvalue().split("was lost", 1)[1], commands.status

    said, status = run(main(), 60)
    assert "did not come back" not in said, said
    # Its time left, which is the limit's, not the 60 s window.
    assert re.search(r"\n'[^']+' may reconnect within [0-3] s \(then the session's time limit of"
                     r" 3 s ends it\) and see your screen again without being asked", said), said
    if once:
        assert status == Exit.ENDED, status
    else:
        assert re.search(r"\nthe session with '[^']+' reached its time limit of 3 s while they"
                         r" were away: it is over, and they can no longer come back without"
                         r" asking you\n", said), said
        assert status == Exit.ENDED
