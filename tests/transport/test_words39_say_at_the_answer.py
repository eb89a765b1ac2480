"""words39: ``/say`` on the host's terminal around the answer to Question 1
(an agent asks to see the screen; chat before the grant, say38).

(a) Found: ``y`` and ``/say one moment`` typed together (one write, as a
quick typist's or a paste's) printed ``*** Question 1: yes`` and then ``you
said to 'Dave' (...), who asks to see your screen (they see none of it
until you say yes): one moment``: the line had gone before the grant (the
question was answered, the agent not let in yet), its reply after the
answer, in words the yes had made untrue (3 of 6 runs). Expected: the
terminal's order is what happened: a line that goes before the grant is
told before the answer; once the answer is shown, the line waits for the
agent to be let in and goes as chat in the session (``you said to 'Dave'
(...): one moment``), which the agent's ``view`` shows after it connected.

(b) Found: with only an agent of the version before asking (its program
takes no chat before the answer: no EARLY_CHAT), ``/say`` answered "(not
sent: no support agent sees your screen)", as if nobody asked. Expected:
it says that the asking agent's program cannot receive chat until they
are let in.

Real ``screencodec host`` and ``screencodec view`` on pseudo-terminals;
the older agent the raw messages its program sends, over loopback. One
host without ``--once`` serves every test in turn (time50b: it was one
``--once`` host a test), each reading its terminal from the test's own
question on and waiting for its session's end there."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport import VIEW
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_send_screens import PtyView

QUESTION = r"Question (\d+): .*?\[y/N\] "
EARLY = "who asks to see your screen (they see none of it until you say yes): one moment"


@pytest.fixture(scope="module")
def host() -> Iterator[PtyHost]:
    """The module's host (it stays for the next agent: each test's question
    is the next one)."""
    staying = PtyHost("--scenario", "idle", once=False)
    try:
        yield staying
    finally:
        staying.close()


@pytest.mark.parametrize("typed", [b"y\n/say one moment\n", b"/say one moment\ny\n"] * 3)
def test_the_reply_and_the_answer_show_in_the_order_they_happened(
        typed: bytes, host: PtyHost) -> None:  # fmt: skip
    view: PtyView | None = None
    mark = len(host.text)
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave")  # fmt: skip
        asked = host.wait_for(QUESTION, mark)
        view.wait_for("waiting for the host's user to accept...")
        os.write(host._master, typed)  # one write: both lines at once
        yes = host.wait_for(rf"\*\*\* Question {asked.group(1)}: yes\n", asked.end()).start()
        said = host.wait_for(r"you said to 'Dave' \(127\.0\.0\.1:\d+\)(, who asks .*?)?:"
                             r" one moment\n", asked.end())  # fmt: skip
        connected = view.wait_for(r"connected to 127\.0\.0\.1:\d+, granted: view").start()
        chat = view.wait_for(r"host says: one moment").start()
        early = said.group(1) is not None
        # Before the grant on the wire <=> told before the answer.
        assert early == (said.start() < yes), host.text[asked.end():]
        assert early == (chat < connected), view.text
        assert view.leave() == 0, view.text
        host.wait_for(r"ended: the agent left the session\n", asked.end())  # before the next
    finally:
        if view is not None:
            view.close()


async def _older_agent(port: int, code: str, password: str, got: list[m.Message]) -> None:
    """An agent's program of the version before chat before the grant: its
    Capabilities without EARLY_CHAT; it asks for VIEW as 'Dave'."""
    ch = await connect_direct("127.0.0.1", port, code, password)
    await ch.send(m.encode(m.Capabilities.full()))
    await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "Dave")))
    with contextlib.suppress(SessionClosedError):
        while True:
            got.append(m.decode(await ch.recv()))
    await ch.close()


def test_an_older_agents_program_is_said_to_take_no_chat_before_it_is_let_in(
        host: PtyHost) -> None:  # fmt: skip
    mark = len(host.text)
    port, code, password = _credentials(host)

    async def main() -> list[m.Message]:
        got: list[m.Message] = []
        agent = asyncio.ensure_future(_older_agent(port, code, password, got))
        asked = await asyncio.to_thread(host.wait_for, QUESTION, mark)
        host.type("/say one moment")
        await asyncio.to_thread(
            host.wait_for, r"\(not sent: 'Dave' \(127\.0\.0\.1:\d+\) asks to see your"
            r" screen, and their program cannot receive chat until you let them in\)\n",
            asked.end())  # fmt: skip
        assert "no support agent sees your screen" not in host.text[asked.end():]
        host.type("n")
        await asyncio.wait_for(agent, 20)
        return got

    got = run(main(), timeout=60)
    assert [type(x).__name__ for x in got] == ["PermissionDeny", "Bye"], got
