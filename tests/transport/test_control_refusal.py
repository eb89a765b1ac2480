"""A request for CONTROL the host cannot grant is refused without asking its
user, and the viewer is told why; a refusal by the user stays the user's.
Real hosts and viewers (or hand-written ends, where one must misbehave) over
sealed channels on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.geometry import Monitor
from screencodec.transport import Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.link import NO_INJECTOR, REASK_AFTER
from screencodec.transport.session.permissions import CONTROL, VIEW, ConsentRequest, Grant
from screencodec.transport.session.viewer import USER_REFUSED, Refusal

from .helpers import until
from .secure_fixtures import run

HOSTILE = "\x1b]0;pwned\x07\x1b[2Jremote \u202econtrol\x9b31m is off\x1bc"
_LEVELS = (m.Notice, m.PermissionGrant, m.PermissionDeny)

Connect = Callable[[], Awaitable[SecureChannel]]


class Asked:
    """A consent callback that records each question: VIEW yes, upgrades as told."""

    def __init__(self, upgrades: bool = False) -> None:
        self.questions: list[ConsentRequest] = []
        self.upgrades = upgrades

    async def __call__(self, request: ConsentRequest) -> Grant:
        self.questions.append(request)
        if request.upgrade and not self.upgrades:
            return Grant.deny()
        return Grant(request.level)


@contextlib.asynccontextmanager
async def _serving(
    serve: Callable[[SecureChannel], Awaitable[object]],
) -> AsyncIterator[Connect]:
    creds = SessionCredentials()

    async def on_channel(channel: SecureChannel) -> None:
        await serve(channel)

    async with await listen_direct("127.0.0.1", 0, creds, on_channel) as listener:
        yield lambda: connect_direct("127.0.0.1", listener.port, creds.code, creds.password)


@contextlib.asynccontextmanager
async def _hosting(consent: Asked, **host_kw: object) -> AsyncIterator[tuple[Host, Connect]]:
    host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent,
                config=HostConfig(), **host_kw)  # type: ignore[arg-type]
    async with host, _serving(host.serve) as connect:
        yield host, connect


@contextlib.asynccontextmanager
async def _viewing(connect: Connect, level: object = VIEW) -> AsyncIterator[Viewer]:
    viewer = Viewer(await connect(), who="Alice")
    await viewer.start(level)  # type: ignore[arg-type]
    task = asyncio.ensure_future(viewer.run())
    try:
        yield viewer
    finally:
        await viewer.bye("done")
        await task


async def _levels(ch: SecureChannel, until_deny: int = 1) -> list[m.Message]:
    """The level answers and notices the host sends, up to the ``until_deny``-th
    PermissionDeny (updates, cursor and stats skipped)."""
    got: list[m.Message] = []
    while sum(isinstance(x, m.PermissionDeny) for x in got) < until_deny:
        msg = m.decode(await ch.recv())
        if isinstance(msg, _LEVELS):
            got.append(msg)
    return got


def test_a_host_without_an_injector_refuses_control_unasked_and_says_why() -> None:
    asked = Asked(upgrades=True)  # were the user asked, they would say yes

    async def main() -> None:
        async with _hosting(asked) as (host, connect), _viewing(connect) as viewer:
            assert not host.can_control
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal == Refusal(CONTROL, NO_INJECTOR, m.Notice.CONTROL_UNAVAILABLE)
            assert viewer.refusal is not None and not viewer.refusal.by_user
            assert CONTROL not in viewer.level
            # Asking again does not help, and is not asked either.
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal.code == m.Notice.CONTROL_UNAVAILABLE
        # The answers came after the decision: no question was put for them.
        assert [(q.level, q.upgrade) for q in asked.questions] == [(VIEW, False)]

    run(main())


def test_the_notice_comes_right_before_the_deny_it_explains() -> None:
    async def main() -> None:
        async with _hosting(Asked()) as (_host, connect):
            ch = await connect()
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "raw")))
            first = m.decode(await ch.recv())
            assert first == m.PermissionGrant(VIEW.bits)
            await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "raw")))
            assert await _levels(ch) == [
                m.Notice(m.Notice.CONTROL_UNAVAILABLE, NO_INJECTOR),
                m.PermissionDeny(CONTROL.bits),
            ]
            await ch.close()

    run(main())


def test_a_first_request_for_view_and_control_asks_about_view_only() -> None:
    asked = Asked()

    async def main() -> None:
        async with _hosting(asked) as (_host, connect):
            # On the wire: the grant, its reason, then the monitor list.
            ch = await connect()
            await ch.send(m.encode(m.PermissionRequest((VIEW | CONTROL).bits, "raw")))
            first = [m.decode(await ch.recv()) for _ in range(3)]
            assert first[:2] == [m.PermissionGrant(VIEW.bits),
                                 m.Notice(m.Notice.CONTROL_UNAVAILABLE, NO_INJECTOR)]
            assert isinstance(first[2], m.MonitorList)
            await ch.close()
            # A Viewer takes that notice as the reason of what its grant lacks.
            async with _viewing(connect, VIEW | CONTROL) as viewer:
                assert viewer.level == VIEW
                await until(lambda: bool(viewer.monitors), 10, "the monitor list")
                assert viewer.refusal == Refusal(CONTROL, NO_INJECTOR,
                                                 m.Notice.CONTROL_UNAVAILABLE)
        assert [q.level for q in asked.questions] == [VIEW, VIEW]

    run(main())


def test_a_view_only_host_with_an_injector_gives_its_own_reason_and_tells_its_user() -> None:
    asked = Asked(upgrades=True)
    told: list[tuple[ConsentRequest, str]] = []

    async def main() -> None:
        async with _hosting(asked, injector=RecordingInjector(),
                            control_unavailable="view only: " + HOSTILE,
                            on_unavailable=lambda req, why: told.append((req, why)),
                            ) as (host, connect), _viewing(connect) as viewer:  # fmt: skip
            assert not host.can_control
            assert await viewer.request(CONTROL) is False
            refusal = viewer.refusal
            assert refusal is not None and refusal.code == m.Notice.CONTROL_UNAVAILABLE
            # The host's words, made harmless.
            assert refusal.reason.startswith("view only: ") and "is off" in refusal.reason
            for bad in ("\x1b", "\x9b", "\u202e", "\x07", "pwned"):
                assert bad not in refusal.reason
        assert [q.level for q in asked.questions] == [VIEW]
        ((request, why),) = told
        assert (request.level, request.who, request.upgrade) == (CONTROL, "Alice", True)
        assert why == "view only: " + HOSTILE  # what the host was given to say

    run(main())


def test_the_users_refusal_is_reported_as_the_users() -> None:
    asked = Asked(upgrades=False)

    async def main() -> None:
        async with _hosting(asked, injector=RecordingInjector()) as (host, connect), \
                _viewing(connect) as viewer:  # fmt: skip
            assert host.can_control
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal == Refusal(CONTROL, USER_REFUSED, 0)
            assert viewer.refusal is not None and viewer.refusal.by_user
            assert not [n for n in viewer.notices if n.code == m.Notice.CONTROL_UNAVAILABLE]
            # Asked again at once: the user's no stands, unasked, and that is said.
            assert await viewer.request(CONTROL) is False
            refusal = viewer.refusal
            assert refusal is not None and refusal.code == m.Notice.NOT_ASKED
            assert refusal.reason == (
                f"the host's user refused this less than {REASK_AFTER:g} s ago")
        assert [(q.level, q.upgrade) for q in asked.questions] == [(VIEW, False), (CONTROL, True)]

    run(main())


def test_a_flood_of_control_requests_reaches_the_local_user_a_few_times_only() -> None:
    told: list[ConsentRequest] = []

    async def main() -> None:
        async with _hosting(Asked(), on_unavailable=lambda req, _why: told.append(req)) as (
                _host, connect):
            ch = await connect()
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "flood")))
            assert isinstance(m.decode(await ch.recv()), m.PermissionGrant)
            for _ in range(50):
                await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "flood")))
            got = await _levels(ch, 50)
            # Every request answered, each refusal right after its reason.
            assert got == [m.Notice(m.Notice.CONTROL_UNAVAILABLE, NO_INJECTOR),
                           m.PermissionDeny(CONTROL.bits)] * 50
            await ch.close()
        assert len(told) == 3

    run(main())


def test_a_failing_interface_hook_does_not_end_the_session() -> None:
    def broken(_req: ConsentRequest, _why: str) -> None:
        raise RuntimeError("the dialog crashed")

    async def main() -> None:
        async with _hosting(Asked(), on_unavailable=broken) as (_host, connect), \
                _viewing(connect) as viewer:  # fmt: skip
            assert await viewer.request(CONTROL) is False
            assert viewer.refusal is not None and viewer.refusal.reason == NO_INJECTOR
            seen = viewer.decoded
            await until(lambda: viewer.decoded > seen, 10, "updates after the refusal")

    run(main())


def test_a_hostile_reason_from_a_host_reaches_the_viewer_harmless() -> None:
    """A hand-written host explains its refusal with escape sequences and a
    bidi override: the viewer's refusal carries none of them."""

    async def fake_host(ch: SecureChannel) -> None:
        while not isinstance(m.decode(await ch.recv()), m.PermissionRequest):
            pass
        await ch.send(m.encode(m.PermissionGrant(VIEW.bits)))
        await ch.send(m.encode(m.MonitorList((Monitor(1, 0, 0, 64, 48, True),), 1)))
        assert isinstance(m.decode(await ch.recv()), m.PermissionRequest)
        await ch.send(m.encode(m.Notice(m.Notice.CONTROL_UNAVAILABLE, HOSTILE * 20)))
        await ch.send(m.encode(m.PermissionDeny(CONTROL.bits)))
        with contextlib.suppress(Exception):
            while True:
                await ch.recv()

    async def main() -> None:
        async with _serving(fake_host) as connect, _viewing(connect) as viewer:
            assert await viewer.request(CONTROL) is False
            refusal = viewer.refusal
            assert refusal is not None and not refusal.by_user
            for bad in ("\x1b", "\x9b", "\u202e", "\x07", "pwned"):
                assert bad not in refusal.reason
            assert "?" in refusal.reason and len(refusal.reason) <= 200

    run(main())
