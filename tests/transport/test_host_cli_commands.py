"""The commands the host's user types at ``screencodec host`` (a real process
on a pty; agents are viewers in this process): ``/view`` takes control back
and the agent keeps watching, ``/end`` ends every session (the host goes on,
or exits with ``--once``), ``/send PATH`` offers a file, ``/help`` lists
them. Each prints one line once it has taken effect, and no command line
answers a question."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FrameDecoded, PermissionChanged
from screencodec.transport.session.sidechannels import FileOfferInfo
from warm_start import warm_popen

from .secure_fixtures import run
from .test_attack_prompts import CLI, PtyHost, _can_control, _credentials, _next_of, _viewer

AGENT = r"'{who}' \(127\.0\.0\.1:\d+\)"
ENDED = "host said bye: the host's user ended the session"


class LongHost(PtyHost):
    """:class:`PtyHost` without ``--once``: the host goes on after a session."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = warm_popen(
            [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
             "--size", "160x120", "--control", "none", *args],
            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self._master = master
        self._raw = bytearray()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()


async def wait(host: PtyHost, pattern: str, start: int = 0) -> re.Match[str]:
    """:meth:`PtyHost.wait_for` off the event loop, which keeps the viewers running."""
    return await asyncio.to_thread(host.wait_for, pattern, start)


Where = tuple[int, str, str]  #: the host's port, session code and password


async def join(host: PtyHost, at: Where, who: str, level: Any = VIEW,
               **kw: Any) -> tuple[Viewer, asyncio.Task[str]]:
    """An agent the host's user lets in: it asks, the question is answered y."""
    mark = len(host.text)
    viewer = Viewer(await connect_direct("127.0.0.1", *at), who=who, **kw)
    started = asyncio.ensure_future(viewer.start(level))
    await wait(host, r"Question \d+: .*?\[y/N\] ", mark)
    host.type("y")
    await started
    return viewer, asyncio.ensure_future(viewer.run())


def session(host: PtyHost, body: Callable[[Where], Awaitable[None]]) -> None:
    run(body(_credentials(host)), timeout=60)


def run_to_bye(host: PtyHost, body: Callable[[Where], Awaitable[None]]) -> None:
    """:func:`session`, whose agent ends with :func:`leave`: the host's
    terminal says so; the host is closed however it went."""
    try:
        session(host, body)
        host.wait_for(r"ended: the agent left, saying: done")
    finally:
        host.close()


async def leave(viewer: Viewer, task: asyncio.Task[str]) -> None:
    """The agent says bye ("done") and its run ends."""
    await viewer.bye("done")
    await task


async def goes_on(host: PtyHost, viewer: Viewer, start: int) -> None:
    """The session goes on after a file: the agent's chat line reaches the
    host's user (after *start* in its terminal)."""
    await viewer.chat("after the file")
    await wait(host, r"says: after the file\n", start)


def inbox_big(tmp_path: Path) -> tuple[Path, Path]:
    """An empty download folder ``in`` and ``big.bin``, 4 MiB of random
    bytes (it takes a while to go: a stop lands mid-file)."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    return inbox, big


def test_no_command_line_answers_a_question() -> None:
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", *at), who="Al")
            started = asyncio.ensure_future(viewer.start(VIEW))
            question = await wait(host, r"Question 1: .*?\[y/N\] ")
            # Were any of these read as the answer, it would be "no".
            for line in ("/view", "/send /no/such/file", "/help", "/VIEW", "/bogus", "/say"):
                host.type(line)
            host.type("y")
            assert await started == VIEW
            await wait(host, r"\*\*\* Question 1: yes\n", question.end())
            # The commands were carried out, their replies in the order typed
            # (since hostq38 each printed at once, before or after the
            # answer: the "y" raced them; before, all held for the answer).
            await wait(host, r"nothing to take back.*/no/such/file: no such file.*"
                             r"/send PATH +offer the file.*unknown command /bogus", question.end())
            await viewer.bye("done")

        session(host, body)
        host.wait_for(r"ended: the agent left, saying: done")
        assert "Question 1: no" not in host.text
    finally:
        host.close()


def test_view_takes_control_back_and_the_agent_keeps_watching(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host = PtyHost(*_can_control(xvfb_display, monkeypatch))

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Alice", VIEW | CONTROL)
        assert viewer.level == VIEW | CONTROL
        events = viewer.events()
        mark = len(host.text)
        host.type("/view")
        async for ev in events:
            if isinstance(ev, PermissionChanged):
                assert ev.level == VIEW
                break
        line = await wait(host, "you took back control from " + AGENT.format(who="Alice")
                          + r": only you use your mouse and keyboard now; your screen is"
                          r" still shared\n", mark)
        # Still watching: a picture asked for now is sent and decoded.
        await viewer.request_keyframe()
        async for ev in events:
            if isinstance(ev, FrameDecoded):
                break
        assert viewer.level == VIEW and not task.done()
        host.type("/view")
        nothing = await wait(host, r"\(no agent controls your mouse and keyboard: nothing"
                                   r" to take back\)\n", line.end())
        # Asked again and granted: /view takes it back again.
        asked = asyncio.ensure_future(viewer.request(CONTROL))
        await wait(host, r"Question 2: MORE ACCESS.*?\[y/N\] ", nothing.end())
        host.type("y")
        assert await asked is True
        host.type("/view")
        await wait(host, "you took back control from " + AGENT.format(who="Alice"),
                   nothing.end())
        async for ev in events:
            if isinstance(ev, PermissionChanged) and ev.level == VIEW:
                break
        await leave(viewer, task)

    run_to_bye(host, body)


def test_end_ends_every_session_and_the_host_waits_for_the_next() -> None:
    host = LongHost()
    try:
        async def body(at: Where) -> None:
            _, a_run = await join(host, at, "Alice")
            _, b_run = await join(host, at, "Bob")
            mark = len(host.text)
            host.type("/end")
            assert await a_run == ENDED and await b_run == ENDED
            said = await wait(host, "you ended the session with " + AGENT.format(who="Alice")
                              + ", " + AGENT.format(who="Bob") + r"; the code and password"
                              r" above still work, and you will be asked again", mark)
            assert host.proc.poll() is None
            # The host goes on: the next agent is asked again, and /end typed
            # while the question is open ends that session, not answer it.
            # (A raw channel: the Bye itself is what is checked here.)
            carol = await _viewer(*at, "Carol")
            await wait(host, r"Question 3: .*?'Carol'.*?\[y/N\] ", said.end())
            host.type("/end")
            bye = await _next_of(carol, m.Bye, m.PermissionGrant, m.PermissionDeny)
            assert bye == m.Bye("the host's user ended the session")
            # page51: why it closed, not "no" (as if the user had said no).
            await wait(host, r"Question 3 closed without an answer: you ended the session;"
                       r" nothing was shared\.", said.end())  # fmt: skip
            await wait(host, r"'Carol' [^\n]* ended: you ended it without answering\n",
                       said.end())  # fmt: skip (walk37's words for one never let in)
            await carol.close()

        session(host, body)
        # Each named in /end's line, as the other lines name them (walk3:
        # only the address was); that line is the only one about their end
        # (endleft: "session with ... ended: you ended it" came before it).
        # Carol, never let in, is told of once (walk37's words).
        assert "ended: you ended it\n" not in host.text, host.text
        assert host.text.count("ended: you ended it without answering\n") == 1, host.text
        assert "Question 3: no" not in host.text
    finally:
        host.close()


def test_end_with_once_closes_the_host() -> None:
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            _, task = await join(host, at, "Alice")
            host.type("/end")
            assert await task == ENDED

        session(host, body)
        assert host.proc.wait(20) == 0
        host.wait_for("you ended the session with " + AGENT.format(who="Alice") + "; closing\n")
        host.wait_for(r"Screen sharing stopped")
    finally:
        host.close()


def test_send_offers_a_file_to_each_agent(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    sent = tmp_path / "out" / "notes.bin"
    sent.parent.mkdir()
    sent.write_bytes(data)
    inbox = tmp_path / "in"
    inbox.mkdir()
    asked: list[FileOfferInfo] = []

    async def accept(offer: FileOfferInfo) -> bool:
        asked.append(offer)
        return True

    async def decline(offer: FileOfferInfo) -> bool:
        return False

    host = LongHost()
    try:
        async def body(at: Where) -> None:
            alice, a_run = await join(host, at, "Alice",
                                      download_dir=inbox, file_consent=accept)
            bob, b_run = await join(host, at, "Bob")  # takes no files
            carol, c_run = await join(host, at, "Carol", download_dir=tmp_path,
                                      file_consent=decline)  # fmt: skip
            mark = len(host.text)
            host.type(f"/send '{sent}'")  # quoted, as a dropped path is
            # Bob's viewer said up front it takes no files (nofiles35):
            # not offered it; before, it refused with a code (files2).
            await wait(host, r"\(not sent to " + AGENT.format(who="Bob") + r": their program"
                       r" takes no files\)\n", mark)  # fmt: skip
            await wait(host, rf"offering {re.escape(str(sent))} \(200 kB\) to "
                             + AGENT.format(who="Alice") + ", " + AGENT.format(who="Carol")
                             + "; each is asked", mark)  # fmt: skip
            await wait(host, "delivered notes.bin to " + AGENT.format(who="Alice")
                       + ": saved there\n", mark)  # fmt: skip
            # A current viewer gives a code when it refuses unasked: a no
            # without one is its user's (before: "declined, no answer, or
            # their viewer takes no files").
            await wait(host, AGENT.format(who="Carol") + r" did not accept notes.bin: they said"
                       r" no or did not answer in time\n", mark)  # fmt: skip
            host.type(f"/send {tmp_path / 'missing.txt'}")
            await wait(host, r"\(not sent: .*missing\.txt: no such file\)", mark)
            for viewer in (alice, bob, carol):
                await viewer.bye("done")
            await asyncio.gather(a_run, b_run, c_run)

        session(host, body)
        assert [(x.name, x.size) for x in asked] == [("notes.bin", 200_000)]
        assert (inbox / "notes.bin").read_bytes() == data
    finally:
        host.close()


def test_an_agent_giving_control_back_is_told_to_the_user(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's "Give back control" (Viewer.release): the customer's
    terminal says their mouse and keyboard are theirs alone again; /view
    after it has nothing to take back."""
    host = PtyHost(*_can_control(xvfb_display, monkeypatch))

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Alice", VIEW | CONTROL)
        mark = len(host.text)
        assert await viewer.release(CONTROL) is True
        line = await wait(host, AGENT.format(who="Alice") + r" gave control back: only"
                          r" you use your mouse and keyboard now\n", mark)  # fmt: skip
        host.type("/view")
        await wait(host, r"\(no agent controls your mouse and keyboard: nothing"
                         r" to take back\)\n", line.end())  # fmt: skip
        assert viewer.level == VIEW and not task.done()
        await leave(viewer, task)

    run_to_bye(host, body)
