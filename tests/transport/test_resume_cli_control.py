"""``screencodec host`` (real xtest control, on a private Xvfb) when the
agent who held CONTROL lost its link: the user's /view while the agent is
away takes control back for good (transport/session/resume.py), and the
terminal says so instead of "nothing to take back"."""

from __future__ import annotations

import asyncio

from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .helpers import LinkProxy, ended_lost, until
from .secure_fixtures import FAST, run
from .test_host_cli_signals import _Terminal


async def alice_joins(term: _Terminal, port: int, code: str, password: str,
                      resume: bytes | None) -> Viewer:  # fmt: skip
    """'Alice' asks VIEW and CONTROL of the host on ``term`` through ``port``
    (a proxy to it), with the ticket ``resume`` if given; the host's user
    types y to a first join (a resume is not asked)."""
    ch = await connect_direct("127.0.0.1", port, code, password, timeouts=FAST)
    viewer = Viewer(ch, who="Alice", resume=resume)
    starting = asyncio.ensure_future(viewer.start(VIEW | CONTROL))
    if resume is None:
        await asyncio.to_thread(term.wait_for, r"\[y/N\] ")
        term.type("y")
    await starting
    return viewer


def test_view_while_the_agent_is_away_takes_control_back_for_good(xvfb_display: str) -> None:
    term = _Terminal(xvfb_display)
    try:
        async def agent() -> None:
            port, code, password = term.credentials()
            proxy = LinkProxy(port)
            await proxy.start()

            async def join(resume: bytes | None) -> Viewer:
                return await alice_joins(term, proxy.port, code, password, resume)

            viewer = await join(None)
            assert viewer.level == VIEW | CONTROL
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.resume_ticket is not None, 10, "ticket")
            proxy.cut()
            await ended_lost(viewer, task)
            await asyncio.to_thread(term.wait_for, r"type /end to prevent it\)")
            mark = len(term.seen)
            term.type("/view")
            said = await asyncio.to_thread(term.wait_for, r"\n([^\n]*(take back|come back)[^\n]*)")
            assert "nothing to take back" not in term.seen[mark:], said.group(1)
            assert "only see your screen" in term.seen[mark:]
            ticket = viewer.resume_ticket
            assert ticket is not None
            again = await join(ticket)
            assert again.level == VIEW  # not regained, and not asked
            back = await asyncio.to_thread(term.wait_for, r"is back[^\n]*")
            assert "they see your screen again" in back.group(0)
            await again.bye()
            await proxy.close()

        run(agent(), timeout=60)
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
