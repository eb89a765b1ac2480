"""``screencodec host`` notes which agents away (their link lost, who may
come back unasked within 60 s) held CONTROL, so that ``/view`` says it takes
it back from them (ends36 kept that note for a session put back to away).
The note, and each agent's 60 s timer, were kept by the agent's *name*
(cli/host_commands.py ``_Commands.away``, ``away_control``), which each agent chooses.

review36: two agents named 'Alice', the first granted VIEW and CONTROL, the
second VIEW. Both links are lost, the first's first; the second comes back
(resumes, unasked). Found: the second's lost line said it may come back to
"see and control your screen" (it viewed only), its coming back
(``came_back('Alice')``) dropped the first's note and timer, and ``/view``
said "(no agent controls your mouse and keyboard: nothing to take back)",
though the first could still come back, unasked, with control (the revoke
itself applies to it: session/resume.py). Expected: "you took back control
from 'Alice', whose connection dropped: ...", and the second's line "see
your screen". Fixed: the terminal keys what it notes by session (the peer
its SessionEnded names, which a resume names as ``SessionResumed.was``).

Real host (``--control xtest`` on a private Xvfb) on a pty, real Viewers in
this process through a proxy each on loopback."""

from __future__ import annotations

import asyncio
import re

from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .helpers import LinkProxy, ended_lost, until
from .secure_fixtures import FAST, run
from .test_host_cli_signals import _Terminal
from .test_resume_cli_control import alice_joins

AWAY = r"'Alice' may reconnect within 60 s and ([^\n]*?) again without being asked"


def test_view_names_an_away_agent_with_control_whose_name_another_shares(
        xvfb_display: str) -> None:  # fmt: skip
    term = _Terminal(xvfb_display)
    try:
        async def agents() -> None:
            port, code, password = term.credentials()
            controls, views = LinkProxy(port), LinkProxy(port)
            await controls.start()
            await views.start()
            try:
                first = await alice_joins(term, controls.port, code, password, None)
                assert first.level == VIEW | CONTROL
                channel = await connect_direct("127.0.0.1", views.port, code, password,
                                               timeouts=FAST)  # fmt: skip
                second = Viewer(channel, who="Alice")
                starting = asyncio.ensure_future(second.start(VIEW))
                await asyncio.to_thread(term.wait_for, r"\[y/N\] .*?\[y/N\] ")
                term.type("y")
                assert await starting == VIEW
                tasks = [asyncio.ensure_future(v.run()) for v in (first, second)]
                await until(lambda: None not in (first.resume_ticket, second.resume_ticket),
                            10, "tickets")  # fmt: skip
                controls.cut()
                await ended_lost(first, tasks[0])
                await asyncio.to_thread(term.wait_for, AWAY)
                views.cut()
                await ended_lost(second, tasks[1])
                await asyncio.to_thread(term.wait_for, f"{AWAY}.*?{AWAY}")
                assert second.resume_ticket is not None
                again = await alice_joins(term, views.port, code, password, second.resume_ticket)
                assert again.level == VIEW
                await asyncio.to_thread(term.wait_for, r"is back[^\n]*")
                mark = len(term.seen)
                term.type("/view")
                await asyncio.to_thread(term.wait_for, r"/view.*?(nothing to take back|only see"
                                        r" your screen)")  # fmt: skip
                # Named with the address, as every line is (walkfix36): two Alices.
                assert re.search(r"you took back control from 'Alice' \(127\.0\.0\.1:\d+\),"
                                 r" whose connection dropped", term.seen[mark:]), term.seen[mark:]
                lines = re.findall(AWAY, term.seen)
                assert lines == ["see and control your screen", "see your screen"], lines
                # The first, back, only sees the screen: /view took control back.
                assert first.resume_ticket is not None
                back = await alice_joins(term, controls.port, code, password,
                                         first.resume_ticket)  # fmt: skip
                assert back.level == VIEW
                await back.bye()
                await again.bye()
            finally:
                await controls.close()
                await views.close()

        run(agents(), timeout=90)
    finally:
        term.close()
