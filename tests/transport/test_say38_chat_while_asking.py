"""say38: the host's user can write to the agent whose request is asked about.

walk38: with Question 1 (an agent asks to see the screen) open on the host's
terminal, ``/say one moment please`` answered "(not sent: no support agent
sees your screen)": the customer could not tell the agent who is asking to
wait ("one moment, I close my mail first"). Expected: the line goes to that
agent, whose ``view`` prints it while it waits for the answer; the yes still
lets them in; an agent refused afterwards got only that text (no monitor
list, no pixel); the audit log has the line (``before_grant``).

Real sealed channels over loopback, a real Host and a Viewer (or the raw
messages a viewer reads); the terminals' side in
tests/transport/test_say38_chat_while_asking_pty.py."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from screencodec.capture import open_source
from screencodec.errors import ConsentDeniedError, SessionClosedError
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import MAX_EARLY_CHAT
from screencodec.transport.session.events import ChatReceived
from screencodec.transport.session.permissions import ConsentRequest, Grant

from .helpers import run, until


class _Asked:
    """A consent callback that holds the question open until answered."""

    def __init__(self) -> None:
        self.put = asyncio.Event()
        self.answer: asyncio.Future[Grant] | None = None

    async def __call__(self, request: ConsentRequest) -> Grant:
        self.answer = asyncio.get_running_loop().create_future()
        self.put.set()
        return await self.answer


def _host(asked: _Asked, recorder: Recorder | None = None) -> Host:
    source = open_source("synthetic", width=160, height=120, scenario="idle", seed=1)
    return Host(source, consent=asked, recorder=recorder)


def test_the_agent_reads_the_users_line_while_asked_and_the_yes_still_lets_them_in(
        tmp_path: Path) -> None:  # fmt: skip
    async def main() -> list[dict[str, object]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        asked = _Asked()
        host = _host(asked, recorder)
        creds = SessionCredentials()
        async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch, who="Dave")
            seen: list[str] = []
            viewer.on_early_chat = seen.append
            events = viewer.events()
            starting = asyncio.ensure_future(viewer.start(VIEW))
            await asyncio.wait_for(asked.put.wait(), 20)
            # Found: () (the line went to nobody).
            went = await host.say_to_asking("one moment, I close my mail first\x1b[2J")
            assert len(went) == 1, went
            await until(lambda: seen, 10, "the line at the agent")
            assert not starting.done()  # still waiting for the answer
            assert seen == ["one moment, I close my mail first?"]  # sanitised: no escape
            assert viewer.early_chat == seen
            ev = await asyncio.wait_for(events.__anext__(), 5)
            assert isinstance(ev, ChatReceived) and ev.text == seen[0]
            assert asked.answer is not None
            asked.answer.set_result(Grant(VIEW))
            assert await asyncio.wait_for(starting, 10) == VIEW
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded > 0, 20, "a picture")
            # After the grant the line goes as chat does (delivered, numbered).
            await host.send_chat("thanks")
            await viewer.bye("done")
            await task
            (done,) = await asyncio.to_thread(recorder.wait, 1)
        await host.close()
        with RecordingReader(done.path) as reader:
            return reader.events()

    events = run(main(), 60)
    chats = [(e["text"], e.get("before_grant")) for e in events if e["type"] == "chat"]
    assert chats == [("one moment, I close my mail first\x1b[2J", True), ("thanks", None)]
    kinds = [e["type"] for e in events]
    assert kinds.index("chat") < kinds.index("grant"), kinds


async def _raw_agent(port: int, creds: SessionCredentials, caps: m.Capabilities,
                     got: list[m.Message]) -> None:  # fmt: skip
    """An agent's program that asks for VIEW and keeps every message the host sends."""
    ch: SecureChannel = await connect_direct("127.0.0.1", port, creds.code, creds.password)
    await ch.send(m.encode(caps))
    await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "Dave")))
    with contextlib.suppress(SessionClosedError):
        while True:
            got.append(m.decode(await ch.recv()))
    await ch.close()


def test_an_agent_refused_after_the_line_got_only_that_text() -> None:
    async def main() -> list[m.Message]:
        asked = _Asked()
        host = _host(asked)
        creds = SessionCredentials()
        got: list[m.Message] = []
        caps = m.Capabilities(m.Capabilities.full().ops, 3,
                              m.Capabilities.full().flags | m.Capabilities.EARLY_CHAT)  # fmt: skip
        async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            agent = asyncio.ensure_future(_raw_agent(listener.port, creds, caps, got))
            await asyncio.wait_for(asked.put.wait(), 20)
            assert len(await host.say_to_asking("who are you?")) == 1
            await until(lambda: got, 10, "the line")
            assert asked.answer is not None
            asked.answer.set_result(Grant.deny())
            await asyncio.wait_for(agent, 20)
            # Refused: nothing more goes.
            assert await host.say_to_asking("go away") == ()
        await host.close()
        return got

    got = run(main(), 60)
    assert [type(x).__name__ for x in got] == ["Chat", "PermissionDeny", "Bye"], got
    assert isinstance(got[0], m.Chat) and got[0].text == "who are you?"


def test_a_viewer_that_does_not_read_chat_before_the_answer_is_not_sent_it() -> None:
    """A viewer of the version before takes only the answer there (a Chat
    ended its session: "expected a grant, got Chat"): none goes to it."""

    async def main() -> list[m.Message]:
        asked = _Asked()
        host = _host(asked)
        creds = SessionCredentials()
        got: list[m.Message] = []
        async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            agent = asyncio.ensure_future(
                _raw_agent(listener.port, creds, m.Capabilities.full(), got))
            await asyncio.wait_for(asked.put.wait(), 20)
            assert await host.say_to_asking("one moment") == ()
            assert asked.answer is not None
            asked.answer.set_result(Grant.deny())
            await asyncio.wait_for(agent, 20)
        await host.close()
        return got

    got = run(main(), 60)
    assert [type(x).__name__ for x in got] == ["PermissionDeny", "Bye"], got


def test_the_host_sends_at_most_so_many_lines_before_the_answer() -> None:
    async def main() -> tuple[int, list[str]]:
        asked = _Asked()
        host = _host(asked)
        creds = SessionCredentials()
        async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch, who="Dave")
            starting = asyncio.ensure_future(viewer.start(VIEW))
            await asyncio.wait_for(asked.put.wait(), 20)
            sent = 0
            for i in range(MAX_EARLY_CHAT + 5):
                sent += len(await host.say_to_asking(f"line {i}"))
            await until(lambda: len(viewer.early_chat) == MAX_EARLY_CHAT, 10, "the lines")
            assert asked.answer is not None
            asked.answer.set_result(Grant.deny())
            with contextlib.suppress(ConsentDeniedError):
                await asyncio.wait_for(starting, 10)
        await host.close()
        return sent, viewer.early_chat

    sent, lines = run(main(), 60)
    assert sent == MAX_EARLY_CHAT
    assert lines == [f"line {i}" for i in range(MAX_EARLY_CHAT)]
