"""walk38: an agent let in to see the screen only, whose link dropped and
who came back, was announced on the host's terminal with "'Alice' (...) is
back: their connection had dropped; they see your screen again, as you
allowed (/view takes control back, /end or Ctrl-C stops sharing)": control
the agent never had, to take back with a command that does nothing then.
Expected: /view is offered only to take back a control that was given.
The host program, a real agent behind a proxy that resets the link."""

from __future__ import annotations

import asyncio

from .helpers import run
from .test_cli import start_host, stop
from .test_resume_cli import _agent_in, _read_until


def test_walk38_a_viewer_back_is_not_offered_control_to_take_back() -> None:
    host, code, password, port = start_host()  # --control none: view only
    try:
        async def main() -> str:
            proxy, join, (viewer, task) = await _agent_in(host, port, code, password)
            proxy.cut()
            await asyncio.to_thread(_read_until, host, "(type /end to prevent it)")
            await asyncio.wait({task}, timeout=30)
            again, task2 = await join(viewer.resume_ticket)
            back = await asyncio.to_thread(_read_until, host, "stops sharing)")
            await again.bye()
            await task2
            await proxy.close()
            return back

        back = run(main(), 60)
        line = next(x for x in back.splitlines() if "is back" in x)
        assert line.endswith("they see your screen again, as you allowed (/end or Ctrl-C stops"
                             " sharing)"), line
    finally:
        stop(host)
