"""review39a: ``y`` and ``/say one moment`` typed together (words39's case)
while a second agent's request waits behind the first's: where does the
line go? Real ``screencodec host`` on a pseudo-terminal; the agents the
raw messages of a program that takes chat before the answer (EARLY_CHAT),
over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os

from screencodec.errors import SessionClosedError
from screencodec.transport import VIEW
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials


async def _agent(where: tuple[int, str, str], name: str, got: list[m.Message],
                 stop: asyncio.Event) -> None:  # fmt: skip
    ch = await connect_direct("127.0.0.1", *where)
    full = m.Capabilities.full()
    caps = m.Capabilities(full.ops, full.video, full.flags | m.Capabilities.EARLY_CHAT,
                          full.max_cache)  # fmt: skip
    await ch.send(m.encode(caps))
    await ch.send(m.encode(m.PermissionRequest(VIEW.bits, name)))
    reading = asyncio.ensure_future(_read(ch, got))
    await stop.wait()
    reading.cancel()
    with contextlib.suppress(Exception):
        await ch.close()


async def _read(ch: object, got: list[m.Message]) -> None:
    with contextlib.suppress(SessionClosedError):
        while True:
            got.append(m.decode(await ch.recv()))  # type: ignore[attr-defined]


def _said(got: list[m.Message]) -> bool:
    return any("one moment" in repr(x) for x in got)


def test_a_line_typed_with_the_yes_goes_to_the_agent_let_in_not_the_next_asking() -> None:
    host = PtyHost("--scenario", "idle")
    try:
        port, code, password = _credentials(host)

        async def main() -> tuple[list[m.Message], list[m.Message], int]:
            dave: list[m.Message] = []
            eve: list[m.Message] = []
            stop = asyncio.Event()
            a = asyncio.ensure_future(_agent((port, code, password), "Dave", dave, stop))
            first = await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            b = asyncio.ensure_future(_agent((port, code, password), "Eve", eve, stop))
            await asyncio.sleep(2.0)  # Eve's request waits behind Dave's question
            os.write(host._master, b"y\n/say one moment\n")  # one write, as words39's
            said = await asyncio.to_thread(host.wait_for, r"you said to [^\n]*one moment\n",
                                           first.end())  # fmt: skip
            await asyncio.sleep(2.0)
            stop.set()
            await asyncio.wait_for(asyncio.gather(a, b, return_exceptions=True), 20)
            return dave, eve, said.start()

        dave, eve, _ = run(main(), timeout=90)
        after = host.text  # Question 2 (Eve's) is open when the line is read
        assert _said(dave), (after, [type(x).__name__ for x in dave])
        assert not _said(eve), (after, [type(x).__name__ for x in eve])
    finally:
        host.close()


def test_a_line_typed_with_the_no_is_not_sent_to_the_agent_refused() -> None:
    """``n`` and ``/say sorry, not now`` in one write: the refused agent gets
    the deny and the Bye, nothing more (before words39 the line raced the
    answer: sent early or not); the terminal says it was not sent."""
    host = PtyHost("--scenario", "idle")
    try:
        port, code, password = _credentials(host)

        async def main() -> list[m.Message]:
            dave: list[m.Message] = []
            stop = asyncio.Event()
            a = asyncio.ensure_future(_agent((port, code, password), "Dave", dave, stop))
            first = await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            os.write(host._master, b"n\n/say sorry, not now\n")
            no = await asyncio.to_thread(host.wait_for, r"\*\*\* Question 1: no\n", first.end())
            await asyncio.to_thread(host.wait_for, r"Stopped\.", no.end())
            # What became of the line is said, between the answer and the end.
            said = host.text
            assert said.count("(not sent: no support agent sees your screen)\n") == 1, said
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.wait_for(a, 20)
            return dave

        dave = run(main(), timeout=90)
        assert [type(x).__name__ for x in dave] == ["PermissionDeny", "Bye"], (dave, host.text)
    finally:
        host.close()
