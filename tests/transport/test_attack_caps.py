"""Attacks by a viewer that was let in: floods of questions and file offers,
offers that together exceed the space cap, input sent before the grant, and
hostile strings. Real sockets on loopback; the viewer is hand-written, so it
can do what a well-behaved :class:`Viewer` never would. Each test names the
expected outcome."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, HostConfig
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.memory import channel_pair
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import ConsentCallback, allow
from screencodec.transport.session.events import ChatReceived, SessionEnded
from screencodec.transport.session.permissions import CONTROL, VIEW, ConsentRequest, Grant
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import until
from .secure_fixtures import run

MiB = 1 << 20


@contextlib.asynccontextmanager
async def _session(
    consent: ConsentCallback,
    *,
    file_consent: Callable[[FileOfferInfo], Awaitable[bool]] | None = None,
    config: HostConfig | None = None,
    injector: RecordingInjector | None = None,
    level: int = VIEW.bits,
    who: str = "agent",
) -> AsyncIterator[tuple[Host, SecureChannel]]:
    """A host on a real socket and a raw viewer channel that asked for ``level``."""
    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=consent,
                file_consent=file_consent, config=config or HostConfig(), injector=injector)
    creds = SessionCredentials()

    async def serve(channel: SecureChannel) -> None:
        await host.serve(channel)

    async with host, await listen_direct("127.0.0.1", 0, creds, serve) as listener:
        ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        await ch.send(m.encode(m.PermissionRequest(level, who)))
        try:
            yield host, ch
        finally:
            await ch.close()


async def _collect(ch: SecureChannel, kind: type, n: int) -> list[m.Message]:
    got: list[m.Message] = []
    while len(got) < n:
        msg = m.decode(await ch.recv())
        if isinstance(msg, kind):
            got.append(msg)
    return got


async def _granted(ch: SecureChannel) -> m.Message:
    return (await _collect(ch, m.PermissionGrant | m.PermissionDeny, 1))[0]  # type: ignore[arg-type]


def test_a_flood_of_file_offers_asks_one_question_at_a_time_and_refuses_the_rest(
        tmp_path: Path) -> None:
    """50 offers with nobody answering: the user is asked about one at a time,
    at most 3 wait, the other 47 are refused at once (not after 30 s each)."""
    asked: list[FileOfferInfo] = []
    never = asyncio.Event()

    async def file_consent(info: FileOfferInfo) -> bool:
        asked.append(info)
        await never.wait()
        return True

    async def main() -> None:
        cfg = HostConfig(download_dir=tmp_path, consent_timeout=30)
        async with _session(allow(), file_consent=file_consent, config=cfg) as (_host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            for t in range(50):
                await ch.send(m.encode(m.FileOffer(t, f"f{t}", 10)))
            refused = await _collect(ch, m.FileAccept, 47)
            assert all(not a.accepted for a in refused)  # type: ignore[union-attr]
            assert {a.transfer for a in refused} == set(range(3, 50))  # type: ignore[union-attr]
            assert [q.name for q in asked] == ["f0"]  # one open question, two waiting
            assert asked[0].question >= 2  # numbered after the consent question

    run(main())


def test_parallel_offers_cannot_exceed_max_total(tmp_path: Path) -> None:
    """Five 1 MiB offers against max_total = 2 MiB, all answered yes: two are
    accepted, three refused (space is reserved when an offer arrives)."""

    async def yes(info: FileOfferInfo) -> bool:
        return True

    async def main() -> None:
        cfg = HostConfig(download_dir=tmp_path, max_total=2 * MiB)
        async with _session(allow(), file_consent=yes, config=cfg) as (_host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            for t in range(5):
                await ch.send(m.encode(m.FileOffer(t, f"big{t}", MiB)))
            answers = await _collect(ch, m.FileAccept, 5)
            accepted = sorted(a.transfer for a in answers if a.accepted)  # type: ignore[union-attr]
            assert accepted == [0, 1]

    run(main())


def test_upgrade_spam_asks_once_and_a_refusal_sticks_for_a_while() -> None:
    """56 PermissionRequest(CONTROL) in a burst: one question; every request
    is answered (denied); asking again right after the refusal is refused
    unasked."""
    questions: list[ConsentRequest] = []

    async def consent(req: ConsentRequest) -> Grant:
        questions.append(req)
        if req.upgrade:
            await asyncio.sleep(0)  # the burst arrives while this question is open
            return Grant.deny()
        return Grant(req.level)

    async def main() -> None:
        # An injector: a host without one refuses CONTROL without any question.
        async with _session(consent, injector=RecordingInjector()) as (_host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            for _ in range(56):
                await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            answers = await _collect(ch, m.PermissionGrant | m.PermissionDeny, 56)  # type: ignore[arg-type]
            assert all(a == m.PermissionDeny(CONTROL.bits) for a in answers)
            await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            assert await _granted(ch) == m.PermissionDeny(CONTROL.bits)
            assert [q.upgrade for q in questions] == [False, True]

    run(main())


def test_input_sent_before_the_first_grant_is_dropped_not_injected_after() -> None:
    """The viewer asks for view+control and sends 20 pointer moves at once; the
    user answers yes after they arrived. None of them is injected; a move sent
    after the grant is."""
    release = asyncio.Event()
    injector = RecordingInjector()

    async def slow_yes(req: ConsentRequest) -> Grant:
        await release.wait()
        return Grant(req.level)

    async def main() -> None:
        async with _session(slow_yes, injector=injector, level=(VIEW | CONTROL).bits) as (
                host, ch):
            for i in range(20):
                await ch.send(m.encode(m.PointerMove(i, i)))
            link = next(iter(host._runtime.serving))
            await until(lambda: link.gate.dropped_early == 20, 10, "pre-grant input read")
            release.set()
            assert await _granted(ch) == m.PermissionGrant((VIEW | CONTROL).bits)
            await ch.send(m.encode(m.PointerMove(33, 44)))
            await until(lambda: ("move", 33, 44) in injector.events, 10, "post-grant move")
            assert [e for e in injector.events if e[0] == "move"] == [("move", 33, 44)]

    run(main())


def test_input_sent_while_an_upgrade_is_asked_is_not_injected_after_the_yes() -> None:
    release = asyncio.Event()
    injector = RecordingInjector()

    async def consent(req: ConsentRequest) -> Grant:
        if req.upgrade:
            await release.wait()
        return Grant(req.level)

    async def main() -> None:
        async with _session(consent, injector=injector) as (host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            for i in range(10):
                await ch.send(m.encode(m.PointerMove(i, i)))
            link = next(iter(host._runtime.serving))
            await until(lambda: link.gate.dropped == 10, 10, "input while asking")
            release.set()
            assert await _granted(ch) == m.PermissionGrant((VIEW | CONTROL).bits)
            # The first moves after the grant may fall in the one-round-trip
            # guard; keep moving until one is injected.
            while ("move", 50, 50) not in injector.events:
                await ch.send(m.encode(m.PointerMove(50, 50)))
                await asyncio.sleep(0.01)
            assert {e for e in injector.events if e[0] == "move"} == {("move", 50, 50)}

    run(main())


def test_a_bye_before_the_answer_withdraws_the_question() -> None:
    """The viewer leaves while the user is being asked: the question is
    withdrawn (the callback is cancelled), the reason is sanitised."""
    cancelled = asyncio.Event()

    async def consent(req: ConsentRequest) -> Grant:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return Grant.deny()

    async def main() -> None:
        async with _session(consent) as (host, ch):
            events = host.events()
            await ch.send(m.encode(m.Bye("\x1b]0;x\x07gone\x1b[8m")))
            await asyncio.wait_for(cancelled.wait(), 10)
            async for ev in events:
                if isinstance(ev, SessionEnded):
                    assert ev.reason == "viewer said bye: ?gone?"
                    break

    run(main())


def test_strings_a_relay_or_viewer_supplies_are_safe_in_questions_and_events() -> None:
    """A peer address as a hostile relay reports it (1 KiB with escapes), a
    hostile agent name and chat: questions and events carry them sanitised."""
    seen: list[ConsentRequest] = []

    async def consent(req: ConsentRequest) -> Grant:
        seen.append(req)
        return Grant(req.level)

    async def main() -> None:
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=consent)
        viewer_end, host_end = channel_pair(("relay viewer \x1b[2J" + "9" * 1024, "viewer"))
        async with host:
            events = host.events()
            task = asyncio.ensure_future(host.serve(host_end))
            await viewer_end.send(m.encode(m.PermissionRequest(VIEW.bits, "a\u202egent\x07")))
            await viewer_end.send(m.encode(m.Chat("hi\x1b]52;c;cGF5bG9hZA==\x07 there")))
            async for ev in events:
                if isinstance(ev, ChatReceived):
                    assert ev.text == "hi? there"
                    assert "\x1b" not in ev.peer and len(ev.peer) <= 120
                    break
            assert seen[0].who == "a?gent?"
            assert seen[0].peer == safe_text("relay viewer \x1b[2J" + "9" * 1024)
            await viewer_end.close()
            await task

    run(main())
