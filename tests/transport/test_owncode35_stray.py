"""owncode35: a session's own code, and a task that code left running.

``Host.disconnect``/``close`` called from a session's own code (its
consent callback, its extension handler) do not wait for that session: it
ends only once that code returns (endleft35). A task the code starts and
leaves running (``asyncio.ensure_future``, a timer ending the session
later) inherited the marker (a ContextVar) and was taken for that code: its
disconnect returned before the session's cleanup, and the cleanup then
waited up to OWN_END_WAIT (5 s) for the task. Such a task is outside code:
its disconnect waits for the cleanup, and the cleanup does not wait for it.

On Python 3.11 ``asyncio.wait_for`` runs its awaitable in a task of its
own: with ``HostConfig.max_duration`` the receive loop (so the handlers),
and always the consent callbacks. Both ways are run here.

Real Host and Viewer, sealed channels over loopback TCP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ScreencodecError
from screencodec.transport import CONTROL, VIEW, Grant, Host, HostConfig, RecordingInjector, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.permissions import ConsentRequest
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run, until
from .secure_fixtures import FAST
from .test_review35_close import _DrainingInjector

#: No time limit, and one (an hour: never reached) that runs the receive
#: loop in asyncio.wait_for's task of its own.
LIMITS = [None, 3600.0]


def _host(consent: Callable[[ConsentRequest], Awaitable[Grant]], limit: float | None,
          injector: RecordingInjector | None = None,
          file_consent: Callable[[FileOfferInfo], Awaitable[bool]] | None = None,
          download_dir: Path | None = None) -> Host:  # fmt: skip
    return Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=consent,
                injector=injector or RecordingInjector(), file_consent=file_consent,
                config=HostConfig(max_duration=limit, download_dir=download_dir))  # fmt: skip


async def _yes(request: ConsentRequest) -> Grant:
    return Grant(request.level)


async def _viewer(port: int, creds: SessionCredentials) -> Viewer:
    channel = await connect_direct("127.0.0.1", port, creds.code, creds.password, timeouts=FAST)
    return Viewer(channel, who="Alice")


@pytest.mark.parametrize("limit", LIMITS)
def test_a_disconnect_from_a_task_a_consent_callback_started_waits_for_the_cleanup(
        limit: float | None) -> None:  # fmt: skip
    async def main() -> tuple[bool, float, str]:
        creds = SessionCredentials()
        watching = asyncio.Event()
        done: list[tuple[bool, float]] = []
        strays: list[asyncio.Future[None]] = []
        holder: list[Host] = []

        async def time_up(peer: str) -> None:  # "end the session in a while"
            await watching.wait()
            host = holder[0]
            (link,) = [x for x in host._runtime.serving if x.peer == peer]
            began = time.monotonic()
            await host.disconnect(peer, reason="time is up")
            finished_at_return = link.finished.is_set()
            await asyncio.wait_for(link.finished.wait(), 10)  # the program then waits for the end
            done.append((finished_at_return, time.monotonic() - began))

        async def consent(request: ConsentRequest) -> Grant:
            strays.append(asyncio.ensure_future(time_up(request.peer)))
            return Grant(request.level)

        async with _host(consent, limit) as host:
            holder.append(host)
            listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)
            viewer = await _viewer(listener.port, creds)
            await viewer.start(VIEW)
            running = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 1, 10, "the viewer watching")
            watching.set()
            reason = await asyncio.wait_for(running, 10)
            await until(lambda: bool(done), 15, "the task's disconnect returned")
            await listener.close()
        return done[0][0], done[0][1], reason

    finished_at_return, took, reason = run(main(), 40)
    assert reason == "host said bye: time is up", reason
    # Found: False (the session's cleanup not begun), then 5.0 s: the
    # cleanup waited OWN_END_WAIT for the task that waited for it. Under 4 s:
    # not that wait, however slow a loaded machine is (flake41: was 2 s).
    assert finished_at_return
    assert took < 4.0, took


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("question", ["first", "upgrade"])
def test_a_consent_callback_disconnecting_its_own_session_returns_at_once(
        question: str, limit: float | None) -> None:  # fmt: skip
    async def main() -> tuple[float, str]:
        creds = SessionCredentials()
        took: list[float] = []
        holder: list[Host] = []

        async def consent(request: ConsentRequest) -> Grant:
            if request.upgrade == (question == "upgrade"):
                began = time.monotonic()
                await holder[0].disconnect(request.peer, reason="not today")
                took.append(time.monotonic() - began)
                return Grant.deny()
            return Grant(request.level)

        async with _host(consent, limit) as host:
            holder.append(host)
            listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)
            viewer = await _viewer(listener.port, creds)
            try:
                await viewer.start(VIEW)
                running = asyncio.ensure_future(viewer.run())
                if question == "upgrade":
                    asking = asyncio.ensure_future(viewer.request(CONTROL, timeout=10))
                reason = await asyncio.wait_for(running, 10)
                if question == "upgrade":
                    await asyncio.gather(asking, return_exceptions=True)
            except ScreencodecError as exc:
                reason = f"refused: {exc}"
            # The code after the callback's await runs (endleft35: cancelled).
            await until(lambda: bool(took), 10, "the callback's disconnect returned")
            await listener.close()
        return took[0], reason

    took, reason = run(main(), 40)
    assert took < 4.0, took  # it does not wait for its own session (OWN_END_WAIT, 5 s)
    assert "not today" in reason, reason


@pytest.mark.parametrize("limit", LIMITS)
def test_a_close_from_a_task_a_handler_started_waits_for_the_session_and_releases(
        limit: float | None) -> None:  # fmt: skip
    async def main() -> tuple[bool, bool, str]:
        injector = _DrainingInjector()
        creds = SessionCredentials()
        at_return: list[tuple[bool, bool]] = []
        quitting: list[asyncio.Future[None]] = []

        async with _host(_yes, limit, injector) as host:
            listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)

            async def quit_host() -> None:  # the program's "stop everything"
                (link,) = host._runtime.serving
                await host.close()
                at_return.append((link.finished.is_set(), injector.closed.is_set()))

            async def hang_up(_peer: str, _: bytes) -> bytes | None:
                quitting.append(asyncio.ensure_future(quit_host()))  # after the reply, on its own
                return None

            host.register_channel("quit", hang_up)
            viewer = await _viewer(listener.port, creds)
            await viewer.start(VIEW)
            running = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 1, 10, "the viewer watching")
            await viewer.send_extension("quit", b"")
            reason = await asyncio.wait_for(running, 10)
            await until(lambda: bool(at_return), 10, "the task's close returned")
            await listener.close()
        return *at_return[0], reason

    finished, released, reason = run(main(), 30)
    assert reason == "host said bye: host ended", reason
    assert finished  # found: False, the session not waited for
    assert released  # found: False, the injector not closed


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("who", ["callback", "its task"])
def test_a_disconnect_from_a_file_consent_callback_or_a_task_it_started(
        who: str, limit: float | None, tmp_path: Path) -> None:  # fmt: skip
    """The callback's own disconnect returns at once (its session ends once
    it returned); its task's waits for the session's cleanup."""

    async def main() -> tuple[bool, float, str]:
        creds = SessionCredentials()
        done: list[tuple[bool, float]] = []
        strays: list[asyncio.Future[None]] = []
        holder: list[Host] = []

        async def hang_up(peer: str) -> None:
            host = holder[0]
            (link,) = [x for x in host._runtime.serving if x.peer == peer]
            began = time.monotonic()
            await host.disconnect(peer, reason="no files")
            done.append((link.finished.is_set(), time.monotonic() - began))

        async def file_consent(info: FileOfferInfo) -> bool:
            if who == "callback":
                await hang_up(info.peer)
            else:
                strays.append(asyncio.ensure_future(hang_up(info.peer)))
            return False

        download = tmp_path / "in"
        download.mkdir()
        src = tmp_path / "note.txt"
        src.write_bytes(b"hello" * 100)
        async with _host(_yes, limit, file_consent=file_consent, download_dir=download) as host:
            holder.append(host)
            listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)
            viewer = await _viewer(listener.port, creds)
            await viewer.start(VIEW)
            running = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 1, 10, "the viewer watching")
            sending = asyncio.ensure_future(viewer.send_file(src))
            reason = await asyncio.wait_for(running, 10)
            await asyncio.wait_for(asyncio.gather(sending, return_exceptions=True), 10)
            await until(lambda: bool(done), 10, "the disconnect returned")
            await listener.close()
        return done[0][0], done[0][1], reason

    finished_at_return, took, reason = run(main(), 40)
    assert reason == "host said bye: no files", reason
    assert took < 4.0, took  # neither waits for the other (OWN_END_WAIT, 5 s)
    # The callback's own session ends after it returned; its task's had
    # ended (owncode35: found False).
    assert finished_at_return == (who == "its task")


@pytest.mark.xfail(strict=True, reason=(
    "found: 5.0 s (CLEANUP_WAIT): a handler awaiting its disconnect through "
    "asyncio.wait_for runs it, on Python 3.11, in wait_for's task, not the one the "
    "library runs the handler in, so it is taken for outside code and waits for its own "
    "session, which ends only once the handler returns (0.002 s with c8c0dfb's marker, "
    "which every task inherited; 3.12's wait_for runs in the handler's task). expected: "
    "at once. Not fixed: asyncio has no public way to tell a task awaited by the "
    "session's code from one it left running (owncode35 report)"))
def test_a_handler_awaiting_its_disconnect_through_wait_for_returns_at_once() -> None:
    async def main() -> float:
        creds = SessionCredentials()
        took: list[float] = []
        async with _host(_yes, None) as host:
            listener = await listen_direct("127.0.0.1", 0, creds, host.serve, timeouts=FAST)

            async def hang_up(peer: str, _: bytes) -> bytes | None:
                began = time.monotonic()
                await asyncio.wait_for(host.disconnect(peer), 10)
                took.append(time.monotonic() - began)
                return None

            host.register_channel("quit", hang_up)
            viewer = await _viewer(listener.port, creds)
            await viewer.start(VIEW)
            running = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 1, 10, "the viewer watching")
            await viewer.send_extension("quit", b"")
            await asyncio.wait_for(running, 15)
            await until(lambda: bool(took), 15, "the handler's disconnect returned")
            await listener.close()
        return took[0]

    assert run(main(), 40) < 4.0  # found: 5.0 s
