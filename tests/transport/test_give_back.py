"""Levels that end without the local user's answer: an agent gives control
back (the host takes it back as if its user had: input stops, what the
agent held is released, the host's user sees the level change; watching
goes on; control is asked for again like the first time; VIEW cannot be
given back this way), and a host that ends the session while its user has
not answered yet. Real host and viewer over sealed channels on loopback."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError
from screencodec.transport import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Host,
    HostConfig,
    PermissionChanged,
    RecordingInjector,
    Viewer,
)
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m

from .helpers import until
from .secure_fixtures import run


def test_control_given_back_is_taken_back_and_asked_for_again() -> None:
    questions: list[ConsentRequest] = []

    async def consent(request: ConsentRequest) -> Grant:
        questions.append(request)
        return Grant(request.level)

    async def main() -> None:
        injector = RecordingInjector()
        host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent,
                    injector=injector, config=HostConfig(local_input_pause=0.01))  # fmt: skip
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            events = host.events()
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password), who="Alice")  # fmt: skip
            await viewer.start(VIEW | CONTROL)
            task = asyncio.ensure_future(viewer.run())
            assert viewer.level == VIEW | CONTROL and len(questions) == 1
            await viewer.key(0xFFE1, True, "")  # Shift held when the agent gives back
            await until(lambda: ("key", 0xFFE1, True, "") in injector.events, 10, "Shift down")

            assert await viewer.release(CONTROL) is True
            assert viewer.level == VIEW
            # The host took it back as its user's revoke does: held keys let go,
            # and the host's user hears of it.
            await until(lambda: ("release_all",) in injector.events, 10, "release_all")
            changed = []
            async for ev in events:
                if isinstance(ev, PermissionChanged):
                    changed.append(ev.level)
                    if ev.level == VIEW:
                        break
            assert changed[-1] == VIEW
            # Input now goes nowhere (the host says so), watching goes on.
            before = len(injector.events)
            await viewer.key(0x61, True, "a")
            await until(lambda: any(n.code == m.Notice.INPUT_DROPPED for n in viewer.notices),
                        10, "the input-dropped notice")  # fmt: skip
            assert len(injector.events) == before
            # VIEW cannot be given back (leaving is bye): nothing changes.
            assert await viewer.release(VIEW) is True
            assert viewer.level == VIEW
            # Asking again asks the host's user again.
            assert await viewer.request(CONTROL) is True
            assert [q.level for q in questions] == [VIEW | CONTROL, CONTROL]
            # Input sent within a round trip of the grant was in flight before
            # it and is dropped (input_gate): the agent's next keys go through.
            for _ in range(200):
                await viewer.key(0x62, True, "b")
                await viewer.key(0x62, False, "")
                if ("key", 0x62, True, "b") in injector.events:
                    break
                await asyncio.sleep(0.05)
            assert ("key", 0x62, True, "b") in injector.events
            await viewer.bye("done")
            await task

    run(main())


def test_a_host_that_ends_the_session_before_its_user_answers_is_a_refusal_in_words() -> None:
    """The host's user typed /end (Host.disconnect) while the question was on
    their screen: the waiting viewer was told "expected a grant, got Bye", a
    protocol error. It is a refusal, with the host's reason, sanitised."""
    asking = asyncio.Event()

    async def main() -> None:
        async def consent(request: ConsentRequest) -> Grant:
            asking.set()
            await asyncio.Event().wait()  # the user never answers
            raise AssertionError("unreachable")

        host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password), who="Alice")  # fmt: skip
            started = asyncio.ensure_future(viewer.start(VIEW))
            await asyncio.wait_for(asking.wait(), 10)
            await host.disconnect(reason="the user ended it \x1b[2J")
            with pytest.raises(ConsentDeniedError) as err:
                await started
            assert str(err.value) == (
                "the host ended the session before its user answered (the user ended it ?)")

    run(main())
