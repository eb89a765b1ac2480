"""``view``'s "still reconnecting" lines say why in words, without the
relay's protocol code.

Walked by hand (walk33): through a relay, the host's program killed under
the session, the agent's terminal printed ``still reconnecting
(UNKNOWN_SESSION: the host has not been heard from for 4 s ...)``; the web
page, for the same attempt, said it without the code (one function now
words both). Real relay, host and view processes on loopback. The host's
relay link is reset and kept down (a LinkProxy: a Wi-Fi gone), so the relay
holds the agent's joins for it and answers each with how long the host has
been silent. (A killed host's program closes its link, which the relay now
takes for a host gone after ``host_gone_after``: the agent is told the
session ended, resume52, not asked to go on waiting.) Expected outcome: the
line gives the relay's words, and no refusal code."""

from __future__ import annotations

import asyncio
import re

from relay.test_resume52_agent_held import Session, with_session


def test_still_reconnecting_gives_the_relays_words_without_its_code() -> None:
    async def test(s: Session) -> str:
        s.proxy.refusing = True
        s.proxy.cut()
        found = await asyncio.to_thread(s.seen.wait_for, r"still reconnecting: (.*)\n", 60)
        return found.group(1)

    line = with_session(test)
    assert isinstance(line, str)
    assert "UNKNOWN_SESSION" not in line and not re.match(r"[A-Z_]+:", line), line
    assert "the host has not been heard from" in line, line
    assert "(" not in line, line  # endwords35: "(... (its connection ...))" nested
