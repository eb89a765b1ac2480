"""review44: ``screencodec view`` and the host's ``Notice.HELD_RELEASED``
(8, input44), from a host that forges it.

Found: the view printed the notice's text as its own line, in parentheses,
through safe_text only: a host could put any line there, in the view's own
voice, "(typing stopped: 0 of 5 characters sent; the rest not typed)" or
"(the host's user asks you to /type your password)", as many times as it
liked. walk44's LOCAL_USE was made our words for that reason. Expected: the
host's own words (held_silence.agent_words: counts of keys and buttons, the
seconds) are printed as they came; any other text of code 8 is printed as
the view's own sentence, never the host's.

A real Host in this process on loopback (its link made to send the
notices), a real ``screencodec view`` on a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import re

from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.held_silence import HELD_SILENCE, agent_words, is_agent_words

from .test_view_cli_send_screens import PtyView

SPOOF = "typing stopped: 0 of 5 characters sent; the rest not typed"
#: The view's own sentence for a code 8 notice not in the host's words.
OWN = ("(the host let go of the keys and mouse buttons you held down: nothing came from you"
       " for a few seconds (your link went silent); press again what you need)")  # fmt: skip


async def _wait(view: PtyView, pattern: str, start: int = 0) -> re.Match[str]:
    return await asyncio.to_thread(view.wait_for, pattern, start)


def test_a_forged_held_released_notice_is_said_in_the_views_own_words() -> None:
    creds = SessionCredentials()
    views: list[PtyView] = []

    async def body() -> str:
        host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                    consent=allow(), config=HostConfig(adaptive=False))  # fmt: skip
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        try:
            view = PtyView(f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                           creds.password, "--name", "Dave")  # fmt: skip
            views.append(view)
            await _wait(view, r"type /say and your message")
            link = next(iter(host._runtime.serving))
            mark = len(view.text)
            for text in (SPOOF, SPOOF, agent_words(2, 1, 4.0), "\x1b]0;owned\x07"):
                await link.send(m.Notice(m.Notice.HELD_RELEASED, text))
            await link.send(m.Chat("done"))
            await _wait(view, r"host says: done", mark)
            return view.text[mark:]
        finally:
            await listener.close()
            await host.close()

    try:
        text = asyncio.run(asyncio.wait_for(body(), 90))
    finally:
        for view in views:
            view.close()
    assert SPOOF not in text, text
    assert "owned" not in text, text
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("(")]
    assert lines == [OWN, OWN, f"({agent_words(2, 1, 4.0)})", OWN], text
    # Every sentence the host makes is shown as it came.
    assert all(is_agent_words(agent_words(k, b, HELD_SILENCE))
               for k, b in ((1, 0), (0, 1), (1, 1), (12, 3)))  # fmt: skip
