"""share() / view(): the few-line way to run a session, over real loopback sockets."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.capture import FrameSource, open_source
from screencodec.errors import AuthenticationError, ConsentDeniedError
from screencodec.transport import (
    Relay,
    RelayChanged,
    SessionEnded,
    SharedScreen,
    Viewer,
    allow,
    deny,
    first_picture,
    share,
    view,
)

from .helpers import bgr_equal, run, until


def _idle_source() -> FrameSource:
    # The idle scenario changes only a blinking cursor: once it is drawn the
    # viewer's picture must equal what the host captured last.
    return open_source("synthetic", width=320, height=200, scenario="idle")


async def _exact(viewer: Viewer, session: SharedScreen) -> None:
    def same() -> bool:
        frame, fb = session.host.last_frame(), viewer.framebuffer
        return frame is not None and fb is not None and bgr_equal(fb, frame)

    await until(same, 20, "the viewer shows the host's last frame")


def test_share_and_view_directly_in_a_few_lines() -> None:
    async def main() -> None:
        async with share(_idle_source(), listen="127.0.0.1:0", consent=allow()) as session:
            assert session.address[1] > 0 and not session.via_relay
            assert len(session.code.replace(" ", "")) == 9
            async with view(session.address, code=session.code,
                            password=session.password, name="Alice") as viewer:  # fmt: skip
                frame = await first_picture(viewer, timeout=20)
                assert frame.shape == (200, 320, 4)
                assert len(session.host.viewers) == 1
                await _exact(viewer, session)
            assert await asyncio.wait_for(session.wait_ended(), 10) == session.ended[0]

    run(main())


def test_share_and_view_through_a_relay() -> None:
    async def main() -> None:
        async with Relay("127.0.0.1", 0) as relay:
            where = f"127.0.0.1:{relay.port}"
            async with share(_idle_source(), relay=where, consent=allow()) as session:
                assert session.via_relay
                async with view(relay=where, code=session.code,
                                password=session.password) as viewer:  # fmt: skip
                    await first_picture(viewer, timeout=20)
                    await _exact(viewer, session)

    run(main())


def test_share_tells_the_host_when_its_relay_code_stops_and_works_again() -> None:
    """A library host gets a RelayChanged event when its relay goes away (the
    code the customer read out is dead) and one when it works again: one each,
    not one per retry; and the same code then lets the agent in."""

    async def main() -> None:
        relay = Relay("127.0.0.1", 0)
        await relay.start()
        port = relay.port
        where = f"127.0.0.1:{port}"
        async with share(_idle_source(), relay=where, consent=allow()) as session:
            changes: list[RelayChanged] = []
            events = session.events()

            async def watch() -> None:
                async for event in events:
                    if isinstance(event, RelayChanged):
                        changes.append(event)

            watcher = asyncio.ensure_future(watch())
            try:
                await relay.close()
                await until(lambda: len(changes) >= 1, 20, "the loss is told")
                lost = changes[0]
                assert not lost.reachable and lost.code == session.code and lost.error
                assert lost.relay == where
                relay = Relay("127.0.0.1", port)
                await relay.start()
                await until(lambda: len(changes) >= 2, 30, "the way back is told")
                assert changes[1] == RelayChanged(True, where, session.code, "")
                async with view(relay=where, code=session.code,
                                password=session.password) as viewer:  # fmt: skip
                    await first_picture(viewer, timeout=20)
                assert len(changes) == 2, changes
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
                await relay.close()

    run(main(), timeout=90)


def test_view_when_the_user_says_no_raises_consent_denied() -> None:
    async def main() -> None:
        async with share(_idle_source(), listen="127.0.0.1:0", consent=deny()) as session:
            events = session.events()
            with pytest.raises(ConsentDeniedError):
                async with view(session.address, code=session.code, password=session.password):
                    raise AssertionError("a declined viewer got a session")
            ended = await asyncio.wait_for(anext(events), 10)
            assert isinstance(ended, SessionEnded)
            assert session.host.last_frame() is None  # nothing was captured

    run(main())


def test_view_with_a_wrong_password_is_refused() -> None:
    async def main() -> None:
        async with share(_idle_source(), listen="127.0.0.1:0", consent=allow()) as session:
            wrong = "2" * 8 if session.password != "2" * 8 else "3" * 8
            with pytest.raises(AuthenticationError):
                async with view(session.address, code=session.code, password=wrong):
                    raise AssertionError("a wrong password got a session")

    run(main())


def test_share_needs_exactly_one_place_to_listen() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="exactly one"):
            async with share(_idle_source(), consent=allow()):
                pass
        with pytest.raises(ValueError, match="exactly one"):
            async with share(_idle_source(), listen=0, relay="127.0.0.1:1", consent=allow()):
                pass

    run(main())
