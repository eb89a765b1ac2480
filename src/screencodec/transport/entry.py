"""The shortest way to run a session: :func:`share` and :func:`view`.

Sharing this screen (the customer's side)::

    from screencodec.transport import share, terminal_consent

    async with share(listen=7390, consent=terminal_consent()) as session:
        print(session.code, session.password)    # read both to the agent
        await session.wait_ended()               # until the first viewer leaves

Watching it (the agent's side)::

    from screencodec.transport import first_picture, view

    async with view("192.0.2.7:7390", code="123 456 789", password="...") as viewer:
        frame = await first_picture(viewer)      # (H, W, 4) BGRX, updated live

Either side goes through a relay with ``relay="relay.example.org:7390"``
instead of an address. Everything else (several viewers, monitor switching,
input, files, custom encoders) is :class:`~.session.host.Host` and
:class:`~.session.viewer.Viewer` with the ``connect`` functions; these two
helpers only wire them together with sensible defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import FrameSource
from screencodec.errors import FormatError, SessionClosedError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import (
    connect_direct,
    connect_via_relay,
    host_via_relay,
    listen_direct,
)
from screencodec.transport.hostport import split_host_port
from screencodec.transport.input.base import InputInjector
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import ConsentCallback
from screencodec.transport.session.events import SessionEnded, SessionResumed, Subscription
from screencodec.transport.session.files.offers import FileConsent
from screencodec.transport.session.host import Host
from screencodec.transport.session.permissions import VIEW, Permission
from screencodec.transport.session.screens import SourceFactory
from screencodec.transport.session.viewer import Viewer

__all__ = ["SharedScreen", "first_picture", "share", "view"]

Address = tuple[str, int]


def _address(value: str | Address, default_host: str, lowest: int = 1) -> Address:
    """``"HOST:PORT"`` (or a tuple) with the port ``lowest``-65535 (0: listen
    on any free port); a FormatError says what is wrong, before any socket
    call (99999 was an OverflowError from it; walk39). The port is ASCII
    digits (review39b: '²' passed isdigit() and was int()'s ValueError, 5000
    digits int()'s limit); an IPv6 address may be in brackets, '[::1]:5900'
    (they were kept, and the resolver failed on them)."""
    if isinstance(value, tuple):
        host, port = value
    else:
        split = split_host_port(value, lowest)
        if isinstance(split, str):
            raise FormatError(split)
        host, port = split[0] or default_host, split[1]
    if not lowest <= port <= 65535:
        raise FormatError(f"the port {port} is not {lowest}-65535")
    return host, port


def _listen_address(listen: int | str | Address) -> Address:
    """``share(listen=...)``: a port (7000, or "7000" as ``host --listen``
    takes it: it was "expected HOST:PORT"; tail39) on all interfaces, or
    ``"ADDR:PORT"``."""
    if isinstance(listen, bool):  # an int to Python: True was port 1 (review39c)
        raise FormatError(f"expected a port or ADDR:PORT, not {listen!r}")
    if isinstance(listen, str) and listen.isascii() and listen.isdigit() and len(listen) <= 5:
        listen = int(listen)  # (longer: int()'s digit limit; refused below)
    if isinstance(listen, int):
        return _address(("0.0.0.0", listen), "0.0.0.0", 0)
    if isinstance(listen, str) and ":" not in listen:
        raise FormatError(f"expected a port or ADDR:PORT, not {listen!r}")
    return _address(listen, "0.0.0.0", 0)


class SharedScreen:
    """A screen being shared: what to read to the agent, and the :class:`Host`."""

    def __init__(
        self, host: Host, credentials: SessionCredentials, address: Address, via_relay: bool
    ) -> None:
        self.host = host
        self.credentials = credentials
        #: ``(address, port)`` listened on, or the relay's address.
        self.address = address
        self.via_relay = via_relay
        #: Why each viewer's session ended, in order (only those ended so far).
        self.ended: list[str] = []
        self._ended = asyncio.Event()
        self._watch = asyncio.ensure_future(self._track(host.events()))

    async def _track(self, events: Subscription) -> None:
        # A session whose link was lost ends only if its agent does not come
        # back within the window it was given (transport/session/resume.py).
        away: dict[str, asyncio.TimerHandle] = {}
        loop = asyncio.get_running_loop()
        try:
            async for event in events:
                if isinstance(event, SessionResumed) and event.who in away:
                    away.pop(event.who).cancel()
                elif isinstance(event, SessionEnded) and not event.moved:
                    if event.resumable > 0:
                        if event.who in away:
                            away.pop(event.who).cancel()
                        away[event.who] = loop.call_later(event.resumable, self._end, event.reason)
                    else:
                        self._end(event.reason)
        finally:
            for handle in away.values():
                handle.cancel()

    def _end(self, reason: str) -> None:
        self.ended.append(reason)
        self._ended.set()

    @property
    def code(self) -> str:
        """The session code, grouped for reading aloud ("123 456 789")."""
        return self.credentials.display_code

    @property
    def password(self) -> str:
        """The current one-time password (it may rotate: see the host's events)."""
        return self.credentials.password

    def events(self) -> Subscription:
        """The host's events from now on."""
        return self.host.events()

    async def wait_ended(self) -> str:
        """Wait until a viewer's session has ended (at once if one has); returns
        why. One whose link was lost has ended once its agent did not come
        back within the host's ``resume_window``."""
        await self._ended.wait()
        return self.ended[0]

    async def _close(self) -> None:
        self._watch.cancel()
        await asyncio.gather(self._watch, return_exceptions=True)


@contextlib.asynccontextmanager
async def share(
    source: FrameSource | SourceFactory | None = None,
    *,
    consent: ConsentCallback,
    listen: int | str | Address | None = None,
    relay: str | Address | None = None,
    injector: InputInjector | None = None,
    config: HostConfig | None = None,
    timeouts: Timeouts | None = None,
    file_consent: FileConsent | None = None,
) -> AsyncIterator[SharedScreen]:
    """Share a screen until the block ends.

    ``source``: a :class:`~screencodec.capture.FrameSource` or a monitor
    factory; default: the real screen if a display is reachable, else the
    synthetic desktop. ``consent`` is required: it is the local user's say.
    Give exactly one of ``listen`` (a port: ``7000`` or ``"7000"``, on all
    interfaces; or ``"ADDR:PORT"``) and ``relay`` (``"HOST:PORT"``). Files from the
    agent are refused unless ``config`` has a ``download_dir`` and
    ``file_consent`` (the local user's say on each file) is given.

    Through a relay whose session directory recovers (a new cluster's first
    ``claim_ttl``, a Redis that restarted or lost its keys) it waits to
    register as long as the relay says, up to 300 s, and then raises
    ``RelayRecoveringError`` (a TransportError); before relay42 it raised
    the relay's first refusal at once (docs/relay.md).
    """
    if (listen is None) == (relay is None):
        raise ValueError("give exactly one of listen= and relay=")
    if relay is not None:  # checked before anything opens
        where = _address(relay, "127.0.0.1")
    else:
        assert listen is not None
        bind = _listen_address(listen)
    if source is None:
        from screencodec.capture import open_source

        def source(index: int) -> FrameSource:
            return open_source("auto", live=True, monitor=index)

    host = Host(
        source, consent=consent, injector=injector, config=config, file_consent=file_consent
    )
    credentials = SessionCredentials()
    host.watch_credentials(credentials)

    opened: Any
    try:
        if relay is not None:
            opened = await host_via_relay(*where, credentials, host.serve, timeouts=timeouts)
            host.watch_relay(opened)  # RelayChanged events: the code stopped or works again
            await opened.wait_registered(10)
        else:
            opened = await listen_direct(*bind, credentials, host.serve, timeouts=timeouts)
            where = (bind[0], opened.port)
    except BaseException:
        await host.close()
        raise
    shared = SharedScreen(host, credentials, where, relay is not None)
    try:
        yield shared
    finally:
        await shared._close()
        credentials.end()
        await opened.close()
        await host.close()


async def first_picture(viewer: Viewer, timeout: float | None = 30.0) -> npt.NDArray[np.uint8]:
    """Wait until ``viewer`` has decoded a picture; returns its framebuffer.

    Raises :class:`TimeoutError` after ``timeout`` seconds (None: no limit) and
    :class:`~screencodec.errors.SessionClosedError` if the session ends first.
    """

    async def wait() -> npt.NDArray[np.uint8]:
        events = viewer.events()  # subscribe first, then look: no picture is missed
        try:
            while viewer.framebuffer is None or viewer.decoded == 0:
                event = await anext(events, None)
                if event is None or isinstance(event, SessionEnded):
                    raise SessionClosedError("the session ended before a picture arrived")
            return viewer.framebuffer
        finally:
            events.close()

    return await wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def view(
    address: str | Address | None = None,
    *,
    code: str,
    password: str,
    relay: str | Address | None = None,
    name: str = "support",
    level: Permission = VIEW,
    timeouts: Timeouts | None = None,
    download_dir: Path | None = None,
    file_consent: FileConsent | None = None,
) -> AsyncIterator[Viewer]:
    """Watch a shared screen until the block ends; yields a running :class:`Viewer`.

    Files from the host's user are refused unless both ``download_dir`` (a
    folder that is there) and ``file_consent`` (asked about each) are given.

    Raises :class:`~screencodec.errors.ConsentDeniedError` if the local user
    says no, and the connect functions' errors for a wrong code or password.
    """
    if (address is None) == (relay is None):
        raise ValueError("give exactly one of an address and relay=")
    if relay is not None:
        channel: Any = await connect_via_relay(
            *_address(relay, "127.0.0.1"), code, password, timeouts=timeouts
        )
    else:
        assert address is not None
        channel = await connect_direct(
            *_address(address, "127.0.0.1"), code, password, timeouts=timeouts
        )
    viewer = Viewer(channel, who=name, download_dir=download_dir, file_consent=file_consent)
    try:
        await viewer.start(level)
    except BaseException:
        await channel.close()
        raise
    task = asyncio.ensure_future(viewer.run())
    try:
        yield viewer
    finally:
        if not task.done():
            with contextlib.suppress(Exception):
                await viewer.bye("the agent left the session")
        with contextlib.suppress(Exception):
            await wait_for(task, 5)
        await channel.close()
