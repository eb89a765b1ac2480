"""review35: Host.close from a session's own code (endleft35, c8c0dfb)
hands the release (events, recorder, capture hub, injector) to a task of
the host's own that runs once that session has ended. A second close, the
one ``async with Host(...)`` makes as the program leaves, found that
release begun (``_released`` set) and returned at once, while it still
ran: the program went on (and out of its event loop) with the injector
not closed yet. A close returns once the release is complete, whoever
began it.

Real Host and Viewer, sealed channels over loopback TCP; the injector
takes a while to close, as XTestInjector does when it drains its queue."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, Grant, Host, RecordingInjector, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.permissions import ConsentRequest

from .helpers import run, until
from .secure_fixtures import FAST

#: How long the injector's close takes (in its worker thread).
_DRAIN = 0.5


class _DrainingInjector(RecordingInjector):
    """Closes as an injector with queued input does: after a while."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = threading.Event()

    def close(self) -> None:
        time.sleep(_DRAIN)  # its queued input reaching the display server
        self.closed.set()


async def _yes(request: ConsentRequest) -> Grant:
    return Grant(request.level)


@contextlib.asynccontextmanager
async def _watching(
    injector: _DrainingInjector,
) -> AsyncIterator[tuple[Host, Viewer, asyncio.Future[str]]]:
    """A Host with ``injector`` (``async with``: closed as the program
    leaves) on a loopback listener, and a Viewer watching it: (host,
    viewer, the viewer's run). The listener closes after."""
    creds = SessionCredentials()
    async with Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=_yes,
                    injector=injector) as host:  # fmt: skip
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)
        channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                       creds.password, timeouts=FAST)  # fmt: skip
        viewer = Viewer(channel, who="Alice")
        await viewer.start(VIEW)
        running = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.decoded >= 1, 10, "the viewer watching")
        yield host, viewer, running
        await listener.close()


def test_the_closing_host_is_released_when_its_close_returns_after_a_handlers_close() -> None:
    async def main() -> tuple[bool, str]:
        injector = _DrainingInjector()
        async with _watching(injector) as (host, viewer, running):
            events = host.events()

            async def hang_up(_peer: str, _: bytes) -> bytes | None:
                await host.close()  # the viewer's "end the session" button
                return None

            host.register_channel("hangup", hang_up)
            await viewer.send_extension("hangup", b"")
            reason = await asyncio.wait_for(running, 10)
            # The program's own loop: the host's events end with the host.
            async for _ev in events:
                pass
        # Left the host (its __aexit__'s close returned): all is released.
        return injector.closed.is_set(), reason

    closed, reason = run(main(), 30)
    assert reason == "host said bye: host ended", reason
    # Found: False, the injector's close still under way in its thread.
    assert closed


def test_a_close_from_a_task_a_handler_started_waits_and_releases() -> None:
    async def main() -> bool:
        injector = _DrainingInjector()
        released_at_return: list[bool] = []
        quitting: list[asyncio.Future[None]] = []
        async with _watching(injector) as (host, viewer, running):

            async def quit_host() -> None:  # the program's "stop everything"
                await host.close()
                released_at_return.append(injector.closed.is_set())

            async def hang_up(_peer: str, _: bytes) -> bytes | None:
                quitting.append(asyncio.ensure_future(quit_host()))  # after the reply, on its own
                return None

            host.register_channel("quit", hang_up)
            await viewer.send_extension("quit", b"")
            await asyncio.wait_for(running, 10)
            await until(lambda: bool(released_at_return), 10, "the task's close returned")
        return released_at_return[0]

    # Found: False (owncode35 fixed it: owncode.py), the injector not closed.
    assert run(main(), 30)
