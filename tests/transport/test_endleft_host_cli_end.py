"""endleft: what ``screencodec host`` prints for ``/end``, in order. Since
Host.disconnect waits for the sessions' cleanup (endbye), the sessions'
own end lines came before the user's confirmation. Found (a real host on a
pty, one agent): "Screen sharing stopped." and "session with 'Alice' (...)
ended: you ended it" first, then "you ended the session with 'Alice' (...);
the code and password above still work ..."; with two agents, one's end
first printed "YOUR SCREEN IS BEING SHARED WITH" the other. Now the user's own line comes
first and is the only one about those sessions, the banner after it.

A real host process on a pty, agents are viewers in this process
(test_host_cli_commands.py)."""

from __future__ import annotations

import pytest

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import AGENT, ENDED, LongHost, Where, join, session, wait

STOPPED = "##  Screen sharing stopped."


@pytest.mark.parametrize("once", [False, True])
def test_end_confirms_first_then_the_banner(once: bool) -> None:
    host = PtyHost() if once else LongHost()
    try:
        async def body(at: Where) -> None:
            # A --once host takes one agent; another takes two.
            names = ["Alice"] if once else ["Alice", "Bob"]
            runs = [(await join(host, at, name))[1] for name in names]
            await wait(host, f"BEING SHARED WITH: [^\n]*'{names[-1]}'")  # with them all
            mark = len(host.text)
            host.type("/end")
            assert [await running for running in runs] == [ENDED] * len(runs)
            await wait(host, STOPPED, mark)
            out = host.text[mark:]
            agents = [AGENT.format(who=name) for name in names]
            either = "|".join(", ".join(order) for order in (agents, agents[::-1]))
            said = await wait(host, f"you ended the session with ({either}); ", mark)
            assert said.start() < host.text.index(STOPPED, mark), out
            assert "ended: you ended it" not in out, out
            # Found too: Bob's end first said the screen was shared with Alice.
            assert "BEING SHARED" not in out, out

        session(host, body)
        if once:
            assert host.proc.wait(20) == 0
        assert "ended: you ended it" not in host.text, host.text
    finally:
        host.close()
