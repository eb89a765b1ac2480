"""walk6: ``screencodec host`` (no ``--once``) after an agent's link was
lost and the agent did not come back in time.

Walked in tmux: the agent's link cut (a proxy), the agent gone; the host's
terminal said "'Carol' may reconnect within 60 s ..." and then nothing
when the 60 s ran out: the sharing banner stayed up. Worse, the CLI kept
Carol among the agents away for good (only ``--once`` armed the timer that
forgets them), so when the next agent, Alice, left with a Bye, the banner
"Screen sharing stopped." never came: the last thing the terminal said
was that the screen was shared. The CLI's own _Commands and _show, a real
Host on a loopback listener with a 1.5 s resume window, a real Viewer
behind a proxy that cuts its link."""

from __future__ import annotations

import asyncio
import contextlib
import io

from screencodec.cli.host import STOPPED, _Commands, _show
from screencodec.transport import TerminalQuestions
from transport.helpers import run, until
from transport.test_resume import _lose, _Setup


def test_an_agent_who_does_not_come_back_in_time_is_told_and_sharing_stops() -> None:
    async def main() -> None:
        async with _Setup(resume_window=1.5) as s:
            out = io.StringIO()
            ui = TerminalQuestions(io.StringIO(), out)
            commands = _Commands(ui, asyncio.Event(), once=False, takes_files=False)
            commands.host = s.host
            shown = asyncio.ensure_future(_show(s.host, ui, commands))
            try:
                viewer, task = await s.join(who="Carol")
                await until(lambda: viewer.decoded >= 1 and "SHARED WITH" in out.getvalue(),
                            10, "shared")  # fmt: skip
                await _lose(s, viewer, task)
                await until(lambda: "may reconnect within" in out.getvalue(), 10, "lost")
                assert STOPPED not in out.getvalue()  # she may come back: as before
                # Expected: once her time is up, the user is told, and the banner comes down.
                await until(lambda: STOPPED in out.getvalue(), 10, "sharing stopped")
                said = out.getvalue().split("may reconnect within", 1)[1]
                assert "did not come back within 2 s" in said, said
                assert "can no longer come back without asking you" in said, said
                assert not commands.away
                # The next agent's session ends with the banner taken down again.
                start = len(out.getvalue())
                alice, task = await s.join(who="Alice")
                await until(lambda: alice.decoded >= 1 and "SHARED WITH" in out.getvalue()[start:],
                            10, "shared again")  # fmt: skip
                await alice.bye()
                await asyncio.wait_for(task, 10)
                await until(lambda: STOPPED in out.getvalue()[start:], 10, "stopped again")
            finally:
                shown.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shown

    run(main(), 60)
