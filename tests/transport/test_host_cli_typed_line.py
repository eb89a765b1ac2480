"""A chat line that arrives while the host's user has typed half a line.
Before, the terminal echoed what was typed and the host printed over it: the
screen read "/say helagent 'Dana' (...) says: from the agent" and "lo there"
alone on the next row (the line sent was right: the terminal kept it).
Expected outcome, as in a chat client with readline: the line sent is
exactly what was typed, and the screen shows the agent's line whole, then
the typed text on the row after it, where the typing goes on.

A real host on a pseudo-terminal (PtyHost) and a real viewer on loopback.
What the terminal shows is worked out from the bytes the host wrote (a
small terminal: printing, carriage return, newline, backspace, and the
cursor-up, cursor-right and erase sequences)."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator

from screencodec.transport.session.events import ChatReceived

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials
from .test_host_cli_commands import join, wait

_CSI = re.compile(r"\x1b\[(\d*)([A-Za-z])")


def screen(output: str) -> list[str]:
    """The rows a terminal shows after ``output`` (no wrapping: the rows of
    these tests are short), trailing blanks cut."""
    rows: list[list[str]] = [[]]
    row = col = 0
    i = 0
    while i < len(output):
        ch = output[i]
        found = _CSI.match(output, i)
        if found:
            n = int(found.group(1) or 1)
            kind = found.group(2)
            if kind == "A":
                row = max(0, row - n)
            elif kind == "C":
                col += n
            elif kind == "J":
                del rows[row][col:]
                del rows[row + 1:]
            elif kind == "K":
                del rows[row][col:]
            i = found.end()
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
        elif ch == "\b":
            col = max(0, col - 1)
        elif ch.isprintable():
            line = rows[row]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
        while len(rows) <= row:
            rows.append([])
        i += 1
    return ["".join(r).rstrip() for r in rows]


def _shown(host: PtyHost, row: str, timeout: float = 30.0) -> None:
    """Until the terminal's last row reads ``row``."""
    deadline = time.monotonic() + timeout
    while screen(host.raw.decode("utf-8", "replace"))[-1] != row:
        assert time.monotonic() < deadline, screen(host.text)[-3:]
        time.sleep(0.02)


async def _chat(events: AsyncIterator[object]) -> str:
    async for ev in events:
        if isinstance(ev, ChatReceived):
            return ev.text
    raise AssertionError("the session ended without a chat line")


def test_a_chat_line_arriving_mid_typing_leaves_the_typed_line_whole() -> None:
    host = PtyHost()
    try:
        async def session() -> str:
            viewer, task = await join(host, _credentials(host), "Dana")
            await wait(host, "YOUR SCREEN IS BEING SHARED")
            events = viewer.events()
            # Half a line, with a typing mistake taken back (Backspace), no Enter.
            os.write(host._master, "/say hé!".encode() + b"\x7fl")
            await asyncio.to_thread(_shown, host, "/say hél")
            mark = len(host.text)
            await viewer.chat("from the agent")
            await asyncio.to_thread(host.wait_for, "says: from the agent", mark)
            os.write(host._master, b"lo there\n")
            said = await _chat(events)
            await asyncio.to_thread(host.wait_for, "you said to .*: h.llo there")
            await viewer.bye("done")
            await task
            return said

        said = run(session(), timeout=60)
    finally:
        host.close()
    assert said == "héllo there"
    rows = screen(host.raw.decode("utf-8", "replace"))
    (agent,) = [n for n, r in enumerate(rows) if "says: from the agent" in r]
    assert rows[agent].startswith("agent 'Dana' ("), rows[agent - 2:agent + 3]
    assert rows[agent + 1] == "/say héllo there", rows[agent - 2:agent + 3]
    assert rows[agent + 2].startswith("you said to 'Dana'"), rows[agent - 2:agent + 3]
