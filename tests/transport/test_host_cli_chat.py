"""Chat at ``screencodec host`` on a real terminal (a pty): an agent's chat line
is printed, marked and with its escape sequences neutralised; a line typed
after ``/say`` reaches the viewer as chat, and never answers a question."""

from __future__ import annotations

import asyncio
import re

from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session.events import ChatReceived

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials

HOSTILE_CHAT = "hi \x1b[2J\x1b]0;pwned\x07there \u202eevil\x9b31m!\x1b[8m"
#: What safe_text makes of it: whole sequences and invisible characters become "?".
SHOWN = "hi ??there ?evil?!?"


async def _wait(host: PtyHost, pattern: str, start: int) -> re.Match[str]:
    """:meth:`PtyHost.wait_for` off the event loop, which keeps the viewer running."""
    return await asyncio.to_thread(host.wait_for, pattern, start)


def test_chat_both_ways_escapes_neutralised() -> None:
    host = PtyHost()
    try:
        port, code, password = _credentials(host)
        hint = host.wait_for(r"To write to your agent, type /say and your message, then Enter\.")

        async def session() -> None:
            ch = await connect_direct("127.0.0.1", port, code, password)
            viewer = Viewer(ch, who="Alice")
            started = asyncio.ensure_future(viewer.start(VIEW))
            question = await _wait(host, r"Question 1: .*?\[y/N\] ", hint.end())
            # A chat line typed while the question is open is not its answer
            # (it would be "no"): the question waits on for the "y". It goes
            # to the agent who asks (say38; before, "(not sent: no support
            # agent sees your screen)"), read before the answer.
            host.type("/say too early")
            host.type("y")
            assert await started == VIEW
            held = await _wait(host, r"you said to 'Alice' \(127\.0\.0\.1:\d+\), who asks to see"
                                     r" your screen \(they see none of it until you say yes\):"
                                     r" too early\n", question.end())  # fmt: skip
            assert viewer.early_chat == ["too early"]
            events = viewer.events()
            task = asyncio.ensure_future(viewer.run())

            await viewer.chat(HOSTILE_CHAT)
            said = await _wait(host, r"agent 'Alice' \(127\.0\.0\.1:\d+\) says: (.*)\n",
                               held.end())
            assert said.group(1) == SHOWN

            host.type("/say  hello from the host  ")
            async for ev in events:
                if isinstance(ev, ChatReceived):
                    assert ev.text == "hello from the host"
                    break
            await _wait(host, r"you said to 'Alice' \(127\.0\.0\.1:\d+\): hello from the host\n",
                        said.end())
            await viewer.bye("done")
            await task

        run(session(), timeout=60)
        assert "\x1b" not in host.text and "\u202e" not in host.text and "\x9b" not in host.text
    finally:
        host.close()
