"""walkfix35b: the host's lines a new user's walk found wrong, on a real
``screencodec host`` on a pty (the agents are real Viewers in this process).

- A refused join's end line named only the address (``session with
  127.0.0.1:52850 ended: consent denied``) where every other line names
  ``'Alice' (ADDRESS)``.
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct
from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import AGENT, Where, session, wait


def test_a_refused_join_ends_in_a_line_that_names_the_agent() -> None:
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", *at), who="Alice")
            started = asyncio.ensure_future(viewer.start(VIEW))
            question = await wait(host, r"Question 1: .*?\[y/N\] ")
            host.type("n")
            with pytest.raises(ConsentDeniedError):
                await started
            # Before: "session with 127.0.0.1:52850 ended: consent denied".
            await wait(host, "session with " + AGENT.format(who="Alice")
                       + r" ended: consent denied\n", question.end())  # fmt: skip

        session(host, body)
        assert host.proc.wait(10) == 3  # --once: refused, no session took place
    finally:
        host.close()
