"""takeover36: a session taken over from a LIVE link, and put back.

The agent's side of its link died and the host's did not notice (its side
open and silent): the agent reconnects with its ticket, and the new link
takes the session over from the old one, which the host still serves
(session/resume.py). If that new link is lost before it joined (cut after
the ticket's claim and before the grant), the session is away again: as
the old link, whose peer name the host's user knows, for a whole window
(the old link never looked lost), with what the old link held as it was
taken over. The agent's next try, with the same ticket, goes on unasked
from the picture it kept. Each test names what the host's user and the
agent see. Real sockets on loopback: test_resume.py's setup (a proxy the
test abandons or cuts) and attack35's X server slow to answer the join
(held between the claim and the grant).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import Sequence

import pytest

from screencodec.cli.host import STOPPED, _Commands, _show
from screencodec.cli.say import Command
from screencodec.transport import CONTROL, VIEW, Permission, TerminalQuestions, Viewer
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.events import SessionEnded, SessionResumed, SharingChanged
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.permissions import Grant
from screencodec.transport.session.proof import PROOF_CHANNEL, prove
from screencodec.transport.session.resume import MOVED, RESUME_CHANNEL

from .helpers import bgr_equal, ended_lost, run, until
from .test_attack35_resume_tickets import _SlowScreen
from .test_resume import _granted, _Setup

AGENT = "Alice (support)"


async def _present(s: _Setup, ticket: bytes, level: Permission) -> SecureChannel:
    """A connection of the agent's (through the proxy) that presents
    ``ticket`` with the agent's proof (the old link is live to the host:
    since review38 a ticket without it waits for that link, and is asked
    about), and asks for ``level``, then reads nothing."""
    channel = await s.connect()
    key = getattr(ticket, "proof_key", None)
    assert key is not None, "the agent's own ticket, with its link's key"
    proof = prove(key, ticket, channel)
    assert proof is not None
    for msg in (m.Capabilities.legacy(), m.Extension(RESUME_CHANNEL, ticket),
                m.Extension(PROOF_CHANNEL, proof),
                m.PermissionRequest(level.bits, "raw")):  # fmt: skip
        await channel.send(m.encode(msg))
    return channel


async def _taken_over_then_cut(s: _Setup, ticket: bytes, old: ViewerLink,
                               level: Permission) -> tuple[SessionEnded, SessionEnded]:  # fmt: skip
    """A new connection presents ``ticket`` while the host still serves
    ``old`` (its agent's side dead): it takes the session over, and is cut
    while the host waits for the screen, before its grant. The old link's
    end, then the new one's."""
    with _SlowScreen(s) as slow:
        raw = await _present(s, ticket, level)
        await until(lambda: slow.waiting == 1, 10, "taken over, held before the grant")
        moved = await s.event(SessionEnded)
        assert isinstance(moved, SessionEnded)
        assert old.finished.is_set() and s.host.viewers == ()
        s.proxy.cut()
        await asyncio.sleep(0)
        slow.go.set()
        ended = await s.event(SessionEnded)
    await raw.close()
    assert isinstance(ended, SessionEnded)
    return moved, ended


@pytest.mark.parametrize("control", ["kept", "taken back while the link looked alive"])
def test_a_session_taken_over_from_a_live_link_and_cut_before_it_joined_goes_on_unasked(
        control: str) -> None:  # fmt: skip
    """The old link held VIEW+CONTROL (or the host's user took CONTROL back
    while it looked alive: not regained). After the take-over and the cut,
    the session is away under the old link's name and the agent's, for the
    whole window; nobody sees the screen meanwhile, and the host's events
    say so; the agent's retry with the same ticket is not asked about,
    holds what the old link held, and goes on from its kept picture (a
    continuation, not a keyframe) to the host's screen, bit-exact."""

    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW | CONTROL)
            ticket = await _granted(viewer)
            (old,) = s.host._runtime.links
            s.proxy.abandon()  # the agent's side died; the host's is open and silent
            await ended_lost(viewer, task)
            kept = viewer.kept_picture
            assert kept is not None
            held = VIEW | CONTROL
            if control != "kept":
                await s.host.revoke(CONTROL, old.peer)  # into the silent link
                held = VIEW
            assert s.host.viewers == (old.peer,) and len(s.asked) == 1  # not noticed

            moved, ended = await _taken_over_then_cut(s, ticket, old, VIEW | CONTROL)
            # The old link: closed with its reason, as a take-over's.
            assert (moved.peer, moved.reason, moved.moved, moved.resumable) == (
                old.peer, MOVED, True, 0.0), moved
            assert old.channel.close_reason == MOVED
            # The session away as the user knows it: the old link's name,
            # the agent's, the whole window (it never looked lost).
            assert (ended.peer, ended.who, ended.moved) == (old.peer, AGENT, False), ended
            assert ended.resumable == 60.0, ended
            (parked,) = s.host._runtime.tickets.parked()
            assert (parked.peer, parked.who, parked.level) == (old.peer, AGENT, held)
            # Nobody sees the screen now: the host's events say so (the last
            # SharingChanged named nobody).
            sharing = [e for e in s.seen if isinstance(e, SharingChanged)]
            assert sharing and sharing[-1].viewers == (), s.seen

            again = Viewer(await s.connect(), who="Mallory", resume=ticket, picture=kept)
            assert await again.start(VIEW | CONTROL) == held
            task2 = asyncio.ensure_future(again.run())
            back = await s.event(SessionResumed)
            assert isinstance(back, SessionResumed)
            assert (back.who, back.level, back.was) == (AGENT, held, old.peer), back
            assert len(s.asked) == 1  # not asked again
            (link,) = s.host._runtime.links
            assert s.host.viewers == (back.peer,) and link.who == AGENT
            # The kept picture may equal the host's screen already (nothing
            # changed while away): exact at once, before the stream's first
            # update (found at load: (0, 0) here). Its first update first.
            await until(lambda: again.decoded >= 1, 10, "the first update")
            s.screen.frozen = True
            await until(lambda: bgr_equal(again.framebuffer, s.screen.grab()), 10, "exact")
            assert (link.stream.continuations, link.stream.keyframes_sent) == (1, 0)
            assert again.decode_errors == 0 and again.keyframe_requests == 0
            if CONTROL in held:
                injector = s.host.injector
                assert isinstance(injector, RecordingInjector)
                before = len(injector.events)
                assert await again.key(0x61, True, "a") is True
                await until(lambda: len(injector.events) > before, 10, "injected")
            await again.bye()
            await task2

    run(main(), 60)


class _SaysYes(TerminalQuestions):
    """The host's terminal, whose user says yes to each question (y)."""

    async def permission(self, request: ConsentRequest, notes: Sequence[str] = ()) -> Grant:
        if not request.upgrade:
            self.names[request.peer] = request.who
        return Grant(request.level)


@pytest.mark.parametrize("control", ["kept", "taken back while the link looked alive"])
def test_the_host_cli_tells_of_a_session_taken_over_and_put_back_to_away(control: str) -> None:
    """``screencodec host`` (its own _Commands and _show, on a real Host).
    The take-over itself is not told (the session goes on); the cut that
    puts it back to away is, with what the agent may take up again unasked:
    control too if the old link held it (found: "see your screen", the
    levels of the old link forgotten at its take-over, and ``/view`` then
    said there was nothing to take back). Back, the agent holds what the
    user left it, and the user is not asked."""

    async def main() -> str:
        async with _Setup() as s:
            out = io.StringIO()
            ui = _SaysYes(io.StringIO(), out)
            commands = _Commands(ui, asyncio.Event(), once=False, takes_files=False)
            commands.host = s.host

            async def consent(request: ConsentRequest) -> Grant:
                s.asked.append(request)
                return await commands.consent(request)

            s.host._runtime.consent = consent  # the terminal's question, as the CLI's
            shown = asyncio.ensure_future(_show(s.host, ui, commands))
            try:
                viewer, task = await s.join(VIEW | CONTROL, who="Alice")
                ticket = await _granted(viewer)
                (old,) = s.host._runtime.links
                s.proxy.abandon()
                await ended_lost(viewer, task)
                if control != "kept":
                    await commands.do(Command("view"))
                    await until(lambda: "you took back control from" in out.getvalue(), 10,
                                "/view")  # fmt: skip
                mark = len(out.getvalue())
                await _taken_over_then_cut(s, ticket, old, VIEW | CONTROL)
                await until(lambda: "(type /end to prevent it)" in out.getvalue()[mark:], 10,
                            "told away")  # fmt: skip
                can = ("see and control your screen" if control == "kept"
                       else "see your screen")  # fmt: skip
                assert (f"the connection to 'Alice' ({old.peer}) was lost; no one sees your"
                        f" screen meanwhile\n'Alice' may reconnect within 60 s and {can} again"
                        " without being asked (type /end to prevent it)\n"
                        ) in out.getvalue()[mark:], out.getvalue()[mark:]  # fmt: skip
                if control == "kept":
                    await commands.do(Command("view"))
                    assert (f"you took back control from 'Alice' ({old.peer}), whose connection"
                            " dropped: if they come back, they will only see your screen\n"
                            ) in out.getvalue()[mark:], out.getvalue()[mark:]  # fmt: skip
                again, task2 = await s.join(VIEW | CONTROL, resume=ticket, who="Mallory")
                assert again.level == VIEW  # taken back (here or before): not regained
                await until(lambda: "is back" in out.getvalue()[mark:], 10, "told back")
                assert len(s.asked) == 1
                await again.bye()
                await task2
                await until(lambda: STOPPED in out.getvalue()[mark:], 10, "sharing stopped")
            finally:
                shown.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shown
            return out.getvalue()[mark:]

    said = run(main(), 60)
    assert "[y/N]" not in said and "session with" not in said.split("is back", 1)[0], said
    assert re.search(r"'Alice' \(127\.0\.0\.1:\d+\) is back: their connection had dropped;"
                     r" they see your screen again, as you allowed", said), said
