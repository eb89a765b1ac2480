"""Host <-> viewer over in-memory channels: streaming, consent, permissions, input."""

from __future__ import annotations

import asyncio
import time

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError
from screencodec.transport import (
    CONTROL,
    VIEW,
    ChatReceived,
    ConsentRequest,
    FrameDecoded,
    Grant,
    Host,
    HostConfig,
    SharingChanged,
    StatsUpdated,
    Viewer,
    allow,
    channel_pair,
    deny,
    register_permission,
)
from screencodec.transport.channel.memory import MemoryChannel
from screencodec.transport.input import RecordingInjector
from screencodec.transport.session import messages as m

from .conftest import connected
from .helpers import Freezable, bgr_equal, host_read_past_the_question, run, until


def make_host(consent=None, **cfg: object) -> tuple[Host, Freezable, RecordingInjector]:
    """A host on a small deterministic desktop that changes every frame (typing)."""
    screen = Freezable(SyntheticDesktop(320, 240, scenario="typing", seed=4))
    inj = RecordingInjector()
    host = Host(screen, consent=consent or allow(), injector=inj, config=HostConfig(**cfg))  # type: ignore[arg-type]
    return host, screen, inj


async def converge(viewer: Viewer, screen: Freezable, timeout: float = 10.0) -> None:
    screen.frozen = True
    await until(
        lambda: bgr_equal(viewer.framebuffer, screen.grab()), timeout, "bit-exact framebuffer"
    )


def test_stream_converges_bit_exact() -> None:
    async def main() -> None:
        host, screen, _ = make_host()
        async with connected(host) as (viewer, _, _):
            await until(lambda: viewer.decoded >= 10, what="10 updates")
            await converge(viewer, screen)
            assert bgr_equal(viewer.framebuffer, host.last_frame())
            assert viewer.decode_errors == 0
            assert host.viewers == ("memory:viewer",)

    run(main())


def test_nothing_leaves_before_consent_denied() -> None:
    async def main() -> None:
        host, screen, _ = make_host(consent=deny())
        hc, vc = channel_pair()
        assert isinstance(hc, MemoryChannel)
        hc.record = True
        serve = asyncio.ensure_future(host.serve(hc))
        with pytest.raises(ConsentDeniedError):
            await Viewer(vc).start()
        assert "consent denied" in await serve
        assert screen.grabs == 0 and host._runtime.hub.grabs == 0
        kinds = {m.decode(x).KIND for x in hc.sent}
        assert kinds <= {m.PermissionDeny.KIND, m.Bye.KIND}
        assert m.Update.KIND not in kinds

    run(main())


async def never(request: ConsentRequest) -> Grant:
    """A local user who never answers."""
    await asyncio.sleep(3600)
    raise AssertionError


def test_consent_timeout_is_no() -> None:
    async def main() -> None:
        host, screen, _ = make_host(consent=never, consent_timeout=0.2)
        hc, vc = channel_pair()
        assert isinstance(hc, MemoryChannel)
        hc.record = True
        serve = asyncio.ensure_future(host.serve(hc))
        with pytest.raises(ConsentDeniedError):
            await Viewer(vc).start()
        await serve
        assert screen.grabs == 0
        assert all(m.decode(x).KIND != m.Update.KIND for x in hc.sent)

    run(main())


def test_a_viewer_that_waits_longer_than_it_will_says_so_in_words() -> None:
    """The host's user may take longer than the viewer waits (the host's
    consent timeout is longer): the viewer stops with a ConsentDeniedError
    that names its wait (it raised a bare TimeoutError, which the CLI printed
    as "error: "), and no picture has left the host."""

    async def main() -> None:
        host, screen, _ = make_host(consent=never, consent_timeout=3600)
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        with pytest.raises(ConsentDeniedError, match=r"did not answer within 0\.3 s"):
            await Viewer(vc).start(timeout=0.3)
        await asyncio.wait_for(serve, 5)  # the closed channel ends the host's side
        assert screen.grabs == 0

    run(main())


def test_consent_sees_who_and_level_and_grant_is_capped() -> None:
    seen: list[ConsentRequest] = []

    async def greedy(request: ConsentRequest) -> Grant:
        seen.append(request)
        return Grant(VIEW | CONTROL)  # more than asked: must be capped to VIEW

    async def main() -> None:
        host, _, _ = make_host(consent=greedy)
        async with connected(host, who="Bob") as (viewer, _, _):
            assert viewer.level == VIEW
        assert seen[0].who == "Bob" and seen[0].level == VIEW and not seen[0].upgrade

    run(main())


def test_input_without_grant_is_dropped_counted_and_told_once() -> None:
    async def main() -> None:
        host, _, inj = make_host()
        async with connected(host) as (viewer, _, _):
            for i in range(5):
                await viewer.pointer_move(i, i)
            await viewer.key(0x61, True, "a")
            link = next(iter(host._runtime.links))
            await until(lambda: link.gate.dropped == 6, what="6 drops")
            await until(lambda: len(viewer.notices) >= 1)
            # A later answer from the host: any further notice for those six
            # inputs would have been sent, and received, before it.
            assert await viewer.request(CONTROL)
            # (files41: a host with no download folder says so first, as joined)
            assert [n.code for n in viewer.notices] == [m.Notice.TAKES_NO_FILES,
                                                        m.Notice.INPUT_DROPPED]  # fmt: skip
            assert inj.events == []
            assert host.stats()[0].input_dropped == 6

    run(main())


def test_upgrade_then_revoke_control() -> None:
    asked: list[ConsentRequest] = []

    async def consent(request: ConsentRequest) -> Grant:
        asked.append(request)
        return Grant(request.level)

    async def main() -> None:
        host, _, inj = make_host(consent=consent)
        async with connected(host) as (viewer, _, _):
            assert await viewer.request(CONTROL)
            assert asked[-1].upgrade and asked[-1].level == CONTROL
            n_asked = len(asked)
            assert await viewer.request(CONTROL)  # already held: granted without a question
            assert len(asked) == n_asked
            await viewer.pointer_move(10, 20)
            await viewer.button(1, True)
            await until(lambda: len(inj.events) == 2)
            assert inj.events == [("move", 10, 20), ("button", 1, True)]
            await host.revoke(CONTROL)
            await until(lambda: CONTROL not in viewer.level, what="viewer told")
            assert ("release_all",) in inj.events  # no stuck button after revoke
            n = len(inj.events)
            await viewer.pointer_move(30, 40)
            link = next(iter(host._runtime.links))
            await until(lambda: link.gate.dropped == 1)
            assert len(inj.events) == n

    run(main())


def test_upgrade_denied() -> None:
    async def consent(request: ConsentRequest) -> Grant:
        return Grant.deny() if request.upgrade else Grant(request.level)

    async def main() -> None:
        host, _, _ = make_host(consent=consent)
        async with connected(host) as (viewer, _, _):
            assert not await viewer.request(CONTROL)
            assert viewer.level == VIEW

    run(main())


def test_custom_level_is_extensible() -> None:
    admin = register_permission("administrator")
    assert register_permission("administrator") == admin
    assert "administrator" in (VIEW | admin).names

    async def main() -> None:
        host, _, _ = make_host()
        async with connected(host, level=VIEW | admin) as (viewer, _, _):
            assert admin in viewer.level and CONTROL not in viewer.level

    run(main())


def test_local_input_wins() -> None:
    async def main() -> None:
        host, _, inj = make_host(local_input_pause=0.3)
        async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
            link = next(iter(host._runtime.links))
            host.local_input_activity()
            await viewer.pointer_move(1, 1)
            await until(lambda: link.gate.dropped_local == 1)
            assert inj.events == [("release_all",)]  # what the agent held is let go of
            # The host counts the drop before its notice crosses the socket.
            await until(lambda: any(n.code == m.Notice.LOCAL_USER_ACTIVE for n in viewer.notices))
            await until(lambda: time.monotonic() >= host._runtime.local_input_until, 5)
            await viewer.pointer_move(2, 2)
            await until(lambda: inj.events == [("release_all",), ("move", 2, 2)])

    run(main())


async def _local_user_notices(host: Host, viewer: Viewer) -> list[m.Notice]:
    """Every "local user is using the input" notice the viewer got so far: a
    chat line sent now comes behind them all on the channel."""
    events = viewer.events()
    await host.send_chat("after the moves")
    while not isinstance(await asyncio.wait_for(events.__anext__(), 10), ChatReceived):
        pass
    return [n for n in viewer.notices if n.code == m.Notice.LOCAL_USER_ACTIVE]


def test_a_local_user_who_keeps_moving_is_reported_once() -> None:
    """The docs promise one Notice per reason, not one per mouse event: a
    local user who keeps moving while the agent moves too (each local move
    extends the pause) is reported to the agent once, not once per move."""

    async def main() -> None:
        host, _, inj = make_host(local_input_pause=30.0)
        async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
            link = next(iter(host._runtime.links))
            for i in range(5):
                host.local_input_activity()
                await viewer.pointer_move(i, i)
                await until(lambda n=i + 1: link.gate.dropped_local == n)
            told = await _local_user_notices(host, viewer)
            assert len(told) == 1, told
            # Nothing of the agent's: what it held was let go of once, as
            # the stretch of local use began.
            assert inj.events == [("release_all",)]

    run(main())


def test_a_local_user_who_never_stops_is_reported_once_however_rare_the_agent(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The local user moves without a break for 1.5 s (pause 1 s) while the
    agent's input comes only twice, the second time after the first pause
    would have run out: one stretch of local use, one notice. After a real
    break, a new stretch is told again. The clock is the test's."""
    from types import SimpleNamespace

    from screencodec.transport.session import input_gate, runtime

    async def main() -> None:
        host, _, inj = make_host(local_input_pause=1.0)
        async with connected(host, level=VIEW | CONTROL) as (viewer, _, _):
            link = next(iter(host._runtime.links))
            clock = [time.monotonic() + 100.0]  # past the grant's settling time
            fake = SimpleNamespace(monotonic=lambda: clock[0])
            monkeypatch.setattr(runtime, "time", fake)
            monkeypatch.setattr(input_gate, "time", fake)

            async def agent_moves(n: int) -> None:
                await viewer.pointer_move(n, n)
                await until(lambda: link.gate.dropped_local == n)

            host.local_input_activity()
            await agent_moves(1)
            for _ in range(3):  # every 0.5 s: never a break
                clock[0] += 0.5
                host.local_input_activity()
            clock[0] += 0.1  # 1.6 s in: the first pause alone would be over
            await agent_moves(2)
            clock[0] += 3.0  # a break longer than the pause
            host.local_input_activity()
            await agent_moves(3)
            told = await _local_user_notices(host, viewer)
            assert len(told) == 2, told
            assert inj.events == [("release_all",)] * 2  # once per stretch

    run(main())


def test_revoke_view_ends_session_and_sharing_events() -> None:
    async def main() -> None:
        host, _, _ = make_host()
        events = host.events()
        async with connected(host) as (_, serve, vrun):
            await host.revoke(VIEW)
            assert "bye" in await vrun
            await serve
        seen = []
        while True:
            ev = await asyncio.wait_for(events.__anext__(), 1)
            if isinstance(ev, SharingChanged):
                seen.append(ev.viewers)
                if ev.viewers == ():
                    break
        assert seen == [("memory:viewer",), ()]

    run(main())


def test_max_duration_ends_session() -> None:
    async def main() -> None:
        host, _, _ = make_host(max_duration=0.3)
        async with connected(host) as (_, serve, vrun):
            assert "maximum" in await serve
            assert "bye" in await vrun

    run(main())


def test_nothing_captured_while_consent_is_pending() -> None:
    answer: asyncio.Future[Grant] | None = None

    async def wait_for_user(request: ConsentRequest) -> Grant:
        return await answer  # type: ignore[misc]

    async def main() -> None:
        nonlocal answer
        answer = asyncio.get_running_loop().create_future()
        host, screen, _ = make_host(consent=wait_for_user)
        hc, vc = channel_pair()
        assert isinstance(hc, MemoryChannel)
        hc.record = True
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = Viewer(vc)
        start = asyncio.ensure_future(viewer.start())
        await host_read_past_the_question(host, vc)
        assert screen.grabs == 0 and hc.sent == [] and host.viewers == ()
        answer.set_result(Grant(VIEW))
        await start
        vrun = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.decoded > 0)
        assert screen.grabs > 0
        await viewer.bye()
        await asyncio.gather(serve, vrun)

    run(main())


def test_stats_and_frame_events() -> None:
    async def main() -> None:
        host, _, _ = make_host(stats_period=0.2)
        hev = host.events()
        async with connected(host) as (viewer, _, _):
            vev = viewer.events()
            stats = None
            async for ev in hev:
                if isinstance(ev, StatsUpdated) and ev.stats.sent > 0:
                    stats = ev.stats
                    break
            assert stats is not None
            assert stats.fps > 0 and stats.kbps > 0 and stats.in_flight <= 3
            assert stats.peer == "memory:viewer"
            async for vv in vev:
                if isinstance(vv, FrameDecoded):
                    assert (vv.width, vv.height) == (320, 240) and vv.seq > 0
                    break
            await until(lambda: viewer.host_stats is not None)

    run(main())


def test_a_hosts_chat_and_goodbye_reach_the_viewer_as_harmless_text() -> None:
    """A host is a peer, and what it types reaches an agent's terminal or
    page: escape sequences, bidi overrides and control characters in its
    chat and in its goodbye are neutralised before the viewer's events and
    its end reason carry them (they went through as sent)."""
    evil = "hi \x1b]0;owned\x07there \u202eexe.txt\x1b[2J\r\nbye"

    async def main() -> None:
        host, _, _ = make_host()
        async with connected(host) as (viewer, _, run_task):
            events = viewer.events()
            await host.send_chat(evil)
            chat = None
            while chat is None:
                ev = await asyncio.wait_for(events.__anext__(), 5)
                if isinstance(ev, ChatReceived):
                    chat = ev.text
            await host.disconnect(reason=evil)
            reason = await asyncio.wait_for(run_task, 5)
        for text in (chat, reason):
            assert not any(c in text for c in "\x1b\x07\u202e\r\n"), repr(text)
            assert "hi" in text and "there" in text and "bye" in text
        assert reason.startswith("host said bye: ")

    run(main())
