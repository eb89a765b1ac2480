"""``screencodec host`` (real xtest control, on a private Xvfb) notes which
agents whose link was lost held CONTROL, so that ``/view`` while they are
away takes it back for good and says so (test_resume_cli_control). Found
(ends36): not for a session put back to away after a resume whose link
dropped before its viewer's first receipt (session/resume.py: the session
is parked again with the ticket the viewer still holds): cut right after
the grant, that link never joined, its SessionEnded names the session as
the user knew it, and the host's terminal had forgotten what it held.
``/view`` then said "(no agent controls your mouse and keyboard: nothing
to take back)", though the agent could come back with control, unasked.

Expected: as after a first lost link, "you took back control from
'Alice', whose connection dropped: if they come back, they will only see
your screen"; and the agent, back, only sees it. Real host on a pty, real
Viewers in this process, a proxy on loopback that resets the resumed link
right after the host's first data frame on it (the grant)."""

from __future__ import annotations

import asyncio
import re

from screencodec.transport import CONTROL, VIEW, Viewer

from .helpers import ended_lost, until
from .secure_fixtures import run
from .test_host_cli_signals import _Terminal
from .test_resume_cli_control import alice_joins
from .test_smallleft35_grant_cut import _GrantCutProxy

AWAY = r"type /end to prevent it\)"


def test_view_takes_control_back_from_a_session_put_back_to_away(xvfb_display: str) -> None:
    term = _Terminal(xvfb_display)
    try:
        async def agent() -> None:
            port, code, password = term.credentials()
            proxy = _GrantCutProxy(port)
            await proxy.start()

            async def join(resume: bytes | None) -> tuple[Viewer, asyncio.Task[str]]:
                viewer = await alice_joins(term, proxy.port, code, password, resume)
                return viewer, asyncio.ensure_future(viewer.run())

            try:
                viewer, task = await join(None)
                assert viewer.level == VIEW | CONTROL
                await until(lambda: viewer.resume_ticket is not None, 10, "ticket")
                ticket = viewer.resume_ticket
                proxy.cut()  # the first lost link: the terminal notes CONTROL held
                await ended_lost(viewer, task)
                await asyncio.to_thread(term.wait_for, AWAY)
                mark = len(term.seen)
                proxy.armed = True  # the resumed link is cut right after its grant
                again, task = await join(ticket)
                assert again.level == VIEW | CONTROL  # the grant came
                await ended_lost(again, task)
                assert again.resume_ticket == ticket  # the next one never came
                # Parked again: the user is told the agent may come back.
                await asyncio.to_thread(term.wait_for, f"{AWAY}.*?{AWAY}")
                assert AWAY.replace("\\", "") in term.seen[mark:], term.seen[mark:]
                seen = len(term.seen)
                term.type("/view")
                await asyncio.to_thread(term.wait_for, r"/view.*?(nothing to take back|only see"
                                        r" your screen)")  # fmt: skip
                # Found: "(no agent controls your mouse and keyboard: nothing
                # to take back)".
                assert "nothing to take back" not in term.seen[seen:], term.seen[mark:]
                # Named with the address, as every other line (walkfix36).
                assert re.search(r"you took back control from 'Alice' \(127\.0\.0\.1:\d+\),"
                                 r" whose connection dropped: if they come back, they will only"
                                 r" see your screen", term.seen[seen:]), term.seen[seen:]
                # Both times the user was told what the agent may take up again.
                assert term.seen.count("'Alice' may reconnect within 60 s and see and control"
                                       " your screen again without being asked") == 2, term.seen
                last, task = await join(ticket)
                assert last.level == VIEW  # not regained, and not asked
                await last.bye()
                await task
            finally:
                await proxy.close()

        run(agent(), timeout=90)
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
