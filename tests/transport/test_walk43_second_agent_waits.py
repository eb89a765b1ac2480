"""The host's user is told when a second agent's request waits behind the
question open now.

Found (walk43, a real host in a terminal): Alice's question was on screen,
Bob asked meanwhile, and the host printed nothing until Alice's question was
answered: the user said yes to Alice not knowing someone else waited.

Expected: a line at once, with Bob's name (sanitised: an escape sequence in it
is cut to ``?``) and what he asks, then the open question's prompt
again; Bob's question comes after the first is answered.

A real ``screencodec host`` on a pty; the agents are real Viewers.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct
from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import Where, session, wait

#: What the host's user reads while Alice's question is open.
WAITING = (r"\(also waiting: 'Bob\?' \(127\.0\.0\.1:\d+\) asks to SEE your screen"
           r" \[view\]: asked once the question open now is answered\)\n")  # fmt: skip


def test_a_second_agents_request_is_told_while_the_first_question_is_open() -> None:
    host = PtyHost(once=False)
    try:

        async def body(at: Where) -> None:
            alice = Viewer(await connect_direct("127.0.0.1", *at), who="Alice")
            first = asyncio.ensure_future(alice.start(VIEW))
            await wait(host, r"Question 1: .*?\[y/N\] ")
            mark = len(host.text)
            bobs = await connect_direct("127.0.0.1", *at)
            bob = Viewer(bobs, who="Bob\x1b[31m")
            second = asyncio.ensure_future(bob.start(VIEW))
            # Found: nothing here until Question 1 was answered.
            told = await wait(host, WAITING, mark)
            # On a row of its own: not after the open prompt's "[y/N] ".
            assert host.text[mark : told.start()] == "\n", host.text[mark:]
            # The open question's prompt again after the line, still Alice's.
            await wait(host, r"Question 1 is still open: .*?\[y/N\] ", told.end())
            assert "Question 2" not in host.text[mark:], host.text[mark:]
            host.type("y")
            await first
            await wait(host, r"Question 2: .*?\n\*\*\*   'Bob\?' .*?\[y/N\] ", told.end())
            host.type("n")
            with pytest.raises(ConsentDeniedError):
                await second
            await bobs.close()
            await alice.bye("done")

        session(host, body)
    finally:
        host.close()
    assert "\x1b[31m" not in host.text, host.text
    assert len(re.findall(r"also waiting", host.text)) == 1, host.text
