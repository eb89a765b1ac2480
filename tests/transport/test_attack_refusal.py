"""Attacks on the refusals a host makes without asking its user (docs/
transport.md, "Refusals without a question"): a flood of CONTROL requests,
every way to reach CONTROL on a host that cannot grant it, requests the user
was never asked about, forged, stale and unknown notices from a hostile host,
and two requests in flight. Real hosts and viewers, or hand-written ends where
one must misbehave, over sealed channels on loopback. Each test names the
expected outcome."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError
from screencodec.geometry import Monitor
from screencodec.transport import Host, HostConfig, Viewer
from screencodec.transport.channel.base import ChannelTap
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import PermissionChanged
from screencodec.transport.session.link import NO_INJECTOR
from screencodec.transport.session.permissions import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Permission,
    register_permission,
)
from screencodec.transport.session.refusal import NO_REASON, Refusal
from screencodec.web.bridge import USER_DID_NOT_ACCEPT, WebBridge

from .helpers import until
from .secure_fixtures import run
from .test_control_refusal import HOSTILE, Connect, _hosting, _serving, _viewing

ADMIN = register_permission("refusal-attack-admin")
UNKNOWN = Permission(1 << 62)  # a level nobody registered (a newer viewer's)
BAD = ("\x1b", "\x9b", "\u202e", "\x07", "pwned")
UNASKED = (m.Notice.CONTROL_UNAVAILABLE, m.Notice.NOT_ASKED)


class Greedy:
    """A consent UI that says yes to everything, wider than asked (a buggy
    dialog): whatever reaches the user is granted. Records each question."""

    def __init__(self) -> None:
        self.questions: list[ConsentRequest] = []

    async def __call__(self, request: ConsentRequest) -> Grant:
        self.questions.append(request)
        return Grant(VIEW | CONTROL | ADMIN | UNKNOWN)


class Held:
    """VIEW at once; each upgrade question stays open until ``answer`` is set."""

    def __init__(self) -> None:
        self.questions: list[ConsentRequest] = []
        self.open = asyncio.Event()
        self.answer: asyncio.Future[Grant] = asyncio.get_running_loop().create_future()

    async def __call__(self, request: ConsentRequest) -> Grant:
        self.questions.append(request)
        if not request.upgrade:
            return Grant(request.level)
        self.open.set()
        return await self.answer


async def _raw(connect: Connect, level: Permission = VIEW) -> SecureChannel:
    """A hand-written viewer that asked for ``level`` and read the grant, and
    what follows it up to the monitor list."""
    ch = await connect()
    await ch.send(m.encode(m.PermissionRequest(level.bits, "raw")))
    assert isinstance(m.decode(await ch.recv()), m.PermissionGrant)
    while not isinstance(m.decode(await ch.recv()), m.MonitorList):
        pass
    return ch


async def _ask(ch: SecureChannel, level: Permission) -> None:
    await ch.send(m.encode(m.PermissionRequest(level.bits, "raw")))


def _level(msg: m.Message) -> bool:
    """A level answer, or a notice that explains one."""
    return isinstance(msg, m.PermissionGrant | m.PermissionDeny) or (
        isinstance(msg, m.Notice) and msg.code in UNASKED)


async def _levels(ch: SecureChannel, answers: int) -> list[m.Message]:
    """Level answers and the notices among them, up to ``answers`` answers."""
    got: list[m.Message] = []
    while sum(isinstance(x, m.PermissionGrant | m.PermissionDeny) for x in got) < answers:
        msg = m.decode(await ch.recv())
        if _level(msg):
            got.append(msg)
    return got


async def _pong(ch: SecureChannel) -> list[m.Message]:
    """Return once the host has handled everything sent before (its echo of an
    extension message comes after it: the host reads in order), with the
    level answers and notices that came before the echo."""
    await ch.send(m.encode(m.Extension("echo", b"ping")))
    got: list[m.Message] = []
    while (msg := m.decode(await ch.recv())) != m.Extension("echo", b"ping"):
        if _level(msg):
            got.append(msg)
    return got


async def _echo(_peer: str, payload: bytes) -> bytes:
    return payload


# -- floods ------------------------------------------------------------------------


def test_a_flood_of_control_requests_tells_the_user_three_times_and_harms_no_one() -> None:
    """2000 CONTROL requests from one viewer of a view-only host: each is
    answered (its reason, then its refusal); the local user hears of 3; no
    task or list grows per request; another viewer keeps watching and gets
    its own answer meanwhile; the flooding viewer's session goes on."""
    told: list[str] = []
    flood = 2000

    async def main() -> None:
        async with _hosting(Greedy(), on_unavailable=lambda req, _w: told.append(req.who)
                            ) as (host, connect), _viewing(connect) as other:  # fmt: skip
            host.register_channel("echo", _echo)
            ch = await _raw(connect)
            tasks_before = len(asyncio.all_tasks())

            async def send_all() -> None:
                for _ in range(flood):
                    await _ask(ch, CONTROL)

            sending = asyncio.ensure_future(send_all())
            # The other viewer, meanwhile: pictures and an answer of its own.
            seen = other.decoded
            assert await other.request(CONTROL) is False
            assert other.refusal == Refusal(CONTROL, NO_INJECTOR, m.Notice.CONTROL_UNAVAILABLE)
            await until(lambda: other.decoded > seen + 1, 10, "the other viewer's pictures")
            got: list[m.Message] = []
            peak = 0  # tasks on the loop: none is made per request
            while len(got) < 2 * flood:
                msg = m.decode(await ch.recv())
                if _level(msg):
                    got.append(msg)
                peak = max(peak, len(asyncio.all_tasks()))
            await sending
            assert got == [m.Notice(m.Notice.CONTROL_UNAVAILABLE, NO_INJECTOR),
                           m.PermissionDeny(CONTROL.bits)] * flood
            assert peak <= tasks_before + 3  # the sender above, and a margin
            (link,) = [x for x in host._runtime.serving if x.who == "raw"]
            assert len(link.refusals._told) <= 3 and link._collapsed == []
            await _pong(ch)  # the flooding session still runs
            await ch.close()
        assert told.count("raw") == 3 and told.count("Alice") == 1

    run(main(), timeout=60)


# -- a view-only host never grants CONTROL -------------------------------------------


@pytest.mark.parametrize("why", [None, "view only today"], ids=["no-injector", "policy"])
def test_a_view_only_host_never_grants_control_whatever_the_sequence(why: str | None) -> None:
    """A consent UI that grants everything it is shown: CONTROL still never
    reaches it, never is granted, and no input is injected, whether asked
    first, with VIEW, alone, after other levels, after a reconnect, by two
    viewers at once, or with a level the host does not know."""
    consent = Greedy()
    injector = RecordingInjector()
    kw: dict[str, Any] = {} if why is None else {"injector": injector, "control_unavailable": why}
    reason = NO_INJECTOR if why is None else why

    async def main() -> None:
        async with _hosting(consent, **kw) as (host, connect):  # type: ignore[arg-type]
            host.register_channel("echo", _echo)
            events = host.events()
            alone = Viewer(await connect(), who="Bob")
            with pytest.raises(ConsentDeniedError):  # CONTROL alone: no VIEW asked for
                await alone.start(CONTROL)
            for _ in range(2):  # the second time: a reconnect
                async with _viewing(connect, VIEW | CONTROL) as viewer:
                    assert viewer.level == VIEW
                    await until(lambda: bool(viewer.monitors), 10, "the monitor list")
                    assert viewer.refusal == Refusal(CONTROL, reason,
                                                     m.Notice.CONTROL_UNAVAILABLE)
                    for level in (CONTROL, VIEW | CONTROL, CONTROL | ADMIN, CONTROL):
                        assert await viewer.request(level) is False
                        assert viewer.refusal is not None
                        assert viewer.refusal.code == m.Notice.CONTROL_UNAVAILABLE
                    assert await viewer.request(ADMIN) is True  # asked, and granted
                    assert await viewer.request(CONTROL) is False
                    assert viewer.level == VIEW | ADMIN
            async with _viewing(connect) as one, _viewing(connect) as two:
                assert await asyncio.gather(one.request(CONTROL), two.request(CONTROL)) == [
                    False, False]
            ch = await _raw(connect, VIEW | CONTROL)
            for level in (CONTROL | UNKNOWN, VIEW | CONTROL | UNKNOWN, CONTROL):
                await _ask(ch, level)
            for i in range(5):
                await ch.send(m.encode(m.PointerMove(i, i)))
                await ch.send(m.encode(m.Key(0x61, True, "a")))
            answers = await _pong(ch)
            assert [type(x) for x in answers] == [m.Notice, m.PermissionDeny] * 3, answers
            await ch.close()
        # The host closed its events as it closed: what it emitted is all here.
        changes = [ev async for ev in events if isinstance(ev, PermissionChanged)]
        assert changes  # ADMIN was granted twice
        assert all(CONTROL not in q.level for q in consent.questions), consent.questions
        assert all(CONTROL not in ev.level for ev in changes)
        assert injector.events == []

    run(main(), timeout=60)


# -- what the user was not asked about is not reported as the user's ----------------


def test_a_request_for_another_level_while_a_question_is_open_is_refused_unasked() -> None:
    """Two requests in flight: CONTROL (the user reads the question) and then
    ADMIN. ADMIN is not folded into the CONTROL question (the user's yes or
    no to CONTROL is no answer about ADMIN): it is refused at once, with its
    reason right before its refusal; the user's answer to CONTROL follows."""

    async def main() -> None:
        consent = Held()
        async with _hosting(consent, injector=RecordingInjector()) as (_host, connect):
            ch = await _raw(connect)
            await _ask(ch, CONTROL)
            await consent.open.wait()
            await _ask(ch, ADMIN)
            first = await _levels(ch, 1)  # while the CONTROL question is still open
            assert len(first) == 2 and isinstance(first[0], m.Notice)
            assert first[0].code == m.Notice.NOT_ASKED
            assert first[1] == m.PermissionDeny(ADMIN.bits)
            assert not consent.answer.done()
            consent.answer.set_result(Grant(CONTROL))
            assert await _levels(ch, 1) == [m.PermissionGrant((VIEW | CONTROL).bits)]
            await ch.close()
        assert [q.level for q in consent.questions] == [VIEW, CONTROL]

    run(main())


class _SlowSends(ChannelTap):
    """The host's end of a channel whose every send first lets other tasks
    run, as a send waiting on a slow link does (on loopback a send rarely
    waits, and a reason and its refusal would go out together by luck)."""

    async def send(self, message: bytes, /) -> None:
        await asyncio.sleep(0)
        await super().send(message)


def test_the_users_answer_amid_a_flood_of_refusals_splits_no_reason_from_its_refusal() -> None:
    """The user answers ADMIN while 300 CONTROL requests (not what the open
    question asks) are refused unasked, on a link where every send waits:
    every request is answered (none is left waiting on a question already
    answered), every reason is right before its refusal, and the user's
    answer comes once, between two pairs, never inside one."""
    flood = 300

    async def main() -> None:
        consent = Held()
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=consent,
                    injector=RecordingInjector(), config=HostConfig())  # fmt: skip
        async with host, _serving(lambda ch: host.serve(_SlowSends(ch))) as connect:
            ch = await _raw(connect)
            await _ask(ch, ADMIN)
            await consent.open.wait()
            for i in range(flood):
                await _ask(ch, CONTROL)
                if i == flood // 2:
                    consent.answer.set_result(Grant(ADMIN))
            got = await _levels(ch, flood + 1)
            await ch.close()
        assert got.count(m.PermissionGrant((VIEW | ADMIN).bits)) == 1
        # (After the answer, CONTROL may be asked about, and refused by the
        # user: a refusal without a reason is fine; a reason alone is not.)
        for i, msg in enumerate(got):
            if isinstance(msg, m.Notice):
                assert got[i + 1] == m.PermissionDeny(CONTROL.bits), (i, got[i : i + 3])
        assert sum(isinstance(x, m.Notice) for x in got) >= flood // 2  # before the answer

    run(main())


def test_a_request_naming_an_unknown_level_is_refused_whole_and_grants_nothing() -> None:
    """CONTROL together with a level the host does not know, on a host whose
    user would say yes: refused unasked, saying why, and the host holds no
    CONTROL afterwards (input from this viewer is not injected): the viewer
    was told no, so no is what it has."""

    async def main() -> None:
        consent = Greedy()
        injector = RecordingInjector()
        async with _hosting(consent, injector=injector) as (host, connect):
            host.register_channel("echo", _echo)
            ch = await _raw(connect)
            await _ask(ch, CONTROL | UNKNOWN)
            got = await _levels(ch, 1)
            await ch.send(m.encode(m.PointerMove(5, 5)))
            assert await _pong(ch) == []
            assert injector.events == []
            assert len(got) == 2 and isinstance(got[0], m.Notice), got
            assert got[0].code == m.Notice.NOT_ASKED
            assert got[1] == m.PermissionDeny((CONTROL | UNKNOWN).bits)
            await ch.close()
        assert [q.level for q in consent.questions] == [VIEW]

    run(main())


def test_a_refusal_sticks_for_a_superset_and_after_another_refusal() -> None:
    """The user refused CONTROL: asking for CONTROL+ADMIN at once, or for
    CONTROL again after the user refused ADMIN too, puts no new question
    about CONTROL to the user (refused unasked, "not now")."""

    async def main() -> None:
        asked: list[ConsentRequest] = []

        async def consent(request: ConsentRequest) -> Grant:
            asked.append(request)
            return Grant(request.level) if not request.upgrade else Grant.deny()

        async with _hosting(consent, injector=RecordingInjector()) as (_host, connect), \
                _viewing(connect) as viewer:  # type: ignore[arg-type]  # fmt: skip
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal is not None and viewer.refusal.by_user
            assert await viewer.request(CONTROL | ADMIN) is False
            assert viewer.refusal is not None and viewer.refusal.code == m.Notice.NOT_ASKED
            assert await viewer.request(ADMIN) is False
            assert viewer.refusal is not None and viewer.refusal.by_user
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal is not None and viewer.refusal.code == m.Notice.NOT_ASKED
        assert [q.level for q in asked] == [VIEW, CONTROL, ADMIN]

    run(main())


def test_a_late_answer_to_a_request_that_timed_out_does_not_answer_the_next() -> None:
    """The viewer stops waiting for CONTROL (the user is still reading), then
    asks for VIEW, which it holds. The user's later no to CONTROL is that
    request's answer: the VIEW request is granted, not refused by it."""

    async def main() -> None:
        consent = Held()
        async with _hosting(consent, injector=RecordingInjector()) as (host, connect), \
                _viewing(connect) as viewer:  # fmt: skip
            assert await viewer.request(CONTROL, timeout=0.1) is False
            assert viewer.refusal is None  # no answer yet
            await consent.open.wait()
            asking = asyncio.ensure_future(viewer.request(VIEW))
            (link,) = host._runtime.serving
            await until(lambda: len(link._collapsed) == 2, 10, "both requests at the host")
            consent.answer.set_result(Grant.deny())
            assert await asking is True
            assert viewer.refusal is None and viewer.level == VIEW

    run(main())


# -- a hostile host: forged, stale and unknown notices --------------------------------

Script = Callable[[SecureChannel], Awaitable[None]]


async def _opening(ch: SecureChannel, *, monitors: bool = True) -> m.PermissionRequest:
    """A hand-written host's side of the start: VIEW granted, then the monitors."""
    while not isinstance(hello := m.decode(await ch.recv()), m.PermissionRequest):
        pass
    await ch.send(m.encode(m.PermissionGrant(VIEW.bits)))
    if monitors:
        await ch.send(m.encode(m.MonitorList((Monitor(1, 0, 0, 64, 48, True),), 1)))
    return hello


async def _request(ch: SecureChannel) -> m.PermissionRequest:
    while not isinstance(msg := m.decode(await ch.recv()), m.PermissionRequest):
        pass
    return msg


def _host(script: Script) -> Callable[[SecureChannel], Awaitable[None]]:
    async def serve(ch: SecureChannel) -> None:
        with contextlib.suppress(Exception):
            await script(ch)
            while True:
                await ch.recv()

    return serve


async def _send(ch: SecureChannel, *msgs: m.Message) -> None:
    for msg in msgs:
        await ch.send(m.encode(msg))


@contextlib.asynccontextmanager
async def _fake(script: Script, level: Permission = VIEW) -> AsyncIterator[Viewer]:
    async with _serving(_host(script)) as connect, _viewing(connect, level) as viewer:
        yield viewer


def _harmless(text: str) -> None:
    for bad in BAD:
        assert bad not in text, repr(text)


def test_answers_that_come_late_answer_their_own_requests() -> None:
    """The host explains request A (CONTROL) but the viewer stops waiting and
    asks B (ADMIN); only then come A's refusal and B's grant, then a plain
    refusal of C (CONTROL). B is granted (A's refusal is not B's answer), and
    C's refusal is the user's (A's reason was A's)."""

    async def script(ch: SecureChannel) -> None:
        await _opening(ch)
        await _request(ch)  # A
        await _send(ch, m.Notice(m.Notice.CONTROL_UNAVAILABLE, "A " + HOSTILE))
        await _request(ch)  # B, after A timed out at the viewer
        await _send(ch, m.PermissionDeny(CONTROL.bits), m.PermissionGrant((VIEW | ADMIN).bits))
        await _request(ch)  # C
        await _send(ch, m.PermissionDeny(CONTROL.bits))

    async def main() -> None:
        async with _fake(script) as viewer:
            assert await viewer.request(CONTROL, timeout=0.2) is False
            assert viewer.refusal is None
            assert await viewer.request(ADMIN) is True
            assert viewer.refusal is None
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal == Refusal(CONTROL)

    run(main())


def test_a_stale_notice_does_not_explain_the_users_refusal() -> None:
    """Notices that explain nothing (sent before any request; followed by a
    grant, not a refusal) leave the user's later refusal the user's."""

    async def script(ch: SecureChannel) -> None:
        await _opening(ch)
        await _send(ch, m.Notice(m.Notice.NOT_ASKED, "stale " + HOSTILE))
        await _request(ch)
        await _send(ch, m.Notice(m.Notice.NOT_ASKED, "then granted"),
                    m.PermissionGrant((VIEW | ADMIN).bits))
        await _request(ch)
        await _send(ch, m.PermissionDeny(CONTROL.bits))

    async def main() -> None:
        async with _fake(script) as viewer:
            await until(lambda: bool(viewer.notices), 10, "the stale notice")
            assert await viewer.request(ADMIN) is True
            assert viewer.refusal is None
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal == Refusal(CONTROL)
            assert viewer.refusal.by_user

    run(main())


def test_a_notice_after_the_first_grant_explains_it_only_right_after_it() -> None:
    """A host that sends no monitor list: its grant lacks CONTROL, something
    else comes, then a request is refused with a reason. That reason is the
    later refusal's, and not taken for the first grant's."""

    async def script(ch: SecureChannel) -> None:
        await _opening(ch, monitors=False)
        await _send(ch, m.Stats(1, 2, 3, 4, 5))
        await _request(ch)
        await _send(ch, m.Notice(m.Notice.NOT_ASKED, "later"), m.PermissionDeny(CONTROL.bits))

    async def main() -> None:
        async with _fake(script, VIEW | CONTROL) as viewer:
            assert viewer.level == VIEW
            assert viewer.refusal == Refusal(CONTROL)  # the user's, as far as we know
            await until(lambda: viewer.host_stats is not None, 10, "the stats")
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal == Refusal(CONTROL, "later", m.Notice.NOT_ASKED)

    run(main())


def test_unknown_and_hostile_notices_are_shown_harmless_and_change_no_refusal() -> None:
    """Codes this viewer does not know (from a newer host), hostile text, an
    empty reason: the session goes on, the refusals keep their codes, and the
    page is sent only sanitised text, with 'declined' only for the user's own
    refusal."""
    sent: list[dict[str, Any]] = []

    async def script(ch: SecureChannel) -> None:
        await _opening(ch)
        await _send(ch, m.Notice(999, HOSTILE * 3), m.Notice(0xFFFF, ""))
        await _request(ch)
        await _send(ch, m.Notice(m.Notice.CONTROL_UNAVAILABLE, ""), m.Notice(7, "newer"),
                    m.PermissionDeny(CONTROL.bits))
        await _request(ch)
        await _send(ch, m.Notice(6, HOSTILE), m.PermissionDeny(CONTROL.bits))
        await _send(ch, m.Chat("still here"))

    async def main() -> None:
        async with _serving(_host(script)) as connect:
            bridge = WebBridge()
            bridge.send = sent.append  # type: ignore[method-assign]
            viewer = Viewer(await connect(), who="Alice")
            bridge.attach(viewer)
            await viewer.start()
            task = asyncio.ensure_future(viewer.run())
            events = viewer.events()
            await bridge.ask_control(viewer)  # the page's "Request control"
            assert viewer.refusal == Refusal(CONTROL, NO_REASON, m.Notice.CONTROL_UNAVAILABLE)
            await bridge.ask_control(viewer)
            assert viewer.refusal == Refusal(CONTROL)  # code 6 explains nothing here
            async for ev in events:
                if getattr(ev, "text", None) == "still here":
                    break
            assert [n.code for n in viewer.notices] == [999, 0xFFFF, 4, 7, 6]
            await viewer.bye()
            await task
        notices = [x["text"] for x in sent if x["t"] == "notice"]
        for text in notices:
            _harmless(text)
        assert notices.count(USER_DID_NOT_ACCEPT) == 1
        assert notices[-1] == USER_DID_NOT_ACCEPT

    run(main())
