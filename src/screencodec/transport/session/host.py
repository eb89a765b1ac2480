"""The host: the person who needs help shares their screen with one or more viewers.

Usage::

    host = Host(source_factory, consent=my_dialog, injector=XTestInjector())
    async for ev in host.events(): ...          # SharingChanged, StatsUpdated, ...
    await host.serve(channel)                   # one viewer, until it ends

``serve`` is called once per authenticated channel (from ``listen_direct`` or
the relay) and may run for several viewers at once; each gets its own
encoder, flow control and consent. The host object itself holds what viewers
share: the capture hub, the injector, the local-input clock and the events.
Everything runs on one event loop; there is no locking beyond that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from screencodec.capture.base import FrameSource
from screencodec.errors import ProtocolError, ScreencodecError, SessionClosedError
from screencodec.transport.channel.base import Channel
from screencodec.transport.input.base import InputInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import ConsentCallback
from screencodec.transport.session.events import (
    Event,
    EventHub,
    PasswordInvalidated,
    PasswordRotated,
    SessionEnded,
    SharingChanged,
    Subscription,
)
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.permissions import Permission
from screencodec.transport.session.screens import CaptureHub, SourceFactory, single_source
from screencodec.transport.session.services import EncoderFactory
from screencodec.transport.session.sidechannels import (
    ExtensionHandler,
    ExtensionRegistry,
    FileConsent,
    FileReceiver,
    FileSender,
)
from screencodec.transport.session.stats import LinkStats

if TYPE_CHECKING:
    from screencodec.transport.channel.codes import SessionCredentials

__all__ = ["Host"]

_log = logging.getLogger(__name__)


class Host:
    def __init__(
        self,
        source: FrameSource | SourceFactory,
        *,
        consent: ConsentCallback,
        injector: InputInjector | None = None,
        config: HostConfig | None = None,
        file_consent: FileConsent | None = None,
        encoder_factory: EncoderFactory | None = None,
    ) -> None:
        self.config = config or HostConfig()
        if isinstance(source, FrameSource):
            self.hub = CaptureHub(single_source(source), owns_sources=False)
        else:
            self.hub = CaptureHub(source)
        self.consent = consent
        self.injector = injector
        #: None: each viewer's session picks the encoder from what the viewer decodes.
        self.encoder_factory = encoder_factory
        self.file_consent = file_consent
        self.extensions = ExtensionRegistry()
        self.events_hub = EventHub()
        self.local_input_until = 0.0
        self._last_injected: tuple[int, int] | None = None
        self._links: dict[ViewerLink, None] = {}  # insertion-ordered set of live viewers
        self._serving: set[ViewerLink] = set()  # every session, consented or not
        self._all_ended = asyncio.Event()  # set whenever _serving is empty
        self._all_ended.set()
        self._files: dict[object, FileReceiver] = {}
        self._senders: dict[object, FileSender] = {}
        self.protocol_errors = 0
        self._rotations: dict[int, asyncio.TimerHandle] = {}  # pending, per credentials

    # -- public API --------------------------------------------------------

    def events(self) -> Subscription:
        """An async iterator of :mod:`.events` from now on."""
        return self.events_hub.subscribe()

    @property
    def viewers(self) -> tuple[str, ...]:
        """Peers the screen is shared with right now."""
        return tuple(link.peer for link in self._links)

    async def serve(self, channel: Channel) -> str:
        """Run one viewer's session to its end; returns why it ended.

        Never raises (only cancellation propagates): whatever ends the session,
        a viewer's protocol error, its vanishing or a failure on our side, the
        channel is closed, the reason is returned and other viewers carry on.
        """
        link = ViewerLink(self, channel)
        # Peer names identify viewers in events and in revoke(peer=...): make them
        # unique (two agents behind one NAT look alike through a relay).
        taken = {x.peer for x in self._serving}
        base, n = link.peer, 1
        while link.peer in taken:
            n += 1
            link.peer = f"{base} #{n}"
        self._serving.add(link)
        self._all_ended.clear()
        reason = "ended"
        try:
            if self.config.max_duration is not None:
                reason = await asyncio.wait_for(link.run(), self.config.max_duration)
            else:
                reason = await link.run()
        except asyncio.TimeoutError:
            reason = "maximum session duration reached"
            await _quiet(link.send(m.Bye(reason)))
        except ProtocolError as exc:
            self.protocol_errors += 1
            reason = f"protocol error: {exc}"
        except SessionClosedError as exc:
            reason = f"viewer gone: {exc}"
        except (ScreencodecError, OSError) as exc:
            reason = f"failed: {exc}"
        except Exception as exc:
            # A bug on our side (encoder, injector, a handler) ends this viewer's
            # session, not the host: log it loudly and report it as the reason.
            _log.exception("session with %s failed", link.peer)
            reason = f"internal error: {exc!r}"
        finally:
            await link.cleanup()
            self._serving.discard(link)
            if not self._serving:
                self._all_ended.set()
            was_sharing = link in self._links
            self._links.pop(link, None)
            self._files.pop(link, None)
            self._senders.pop(link, None)
            if was_sharing:
                self.events_hub.emit(SharingChanged(self.viewers))
            self.events_hub.emit(SessionEnded(link.peer, reason))
        return reason

    def watch_credentials(
        self, credentials: SessionCredentials, *, rotate_after: float | None = 2.0
    ) -> None:
        """Report password invalidation (3 failed attempts) of ``credentials`` as
        a :class:`PasswordInvalidated` event; then, unless ``rotate_after`` is
        None, draw a new password that many seconds later and emit
        :class:`PasswordRotated` with it (for the local user to read out).

        Until the rotation every attempt, with the old password too, is refused
        as invalidated (the agent is told so), and at most 3 guesses per
        ``rotate_after`` seconds can be made across all addresses.
        """

        def rotate() -> None:
            if not credentials.ended and credentials.invalidated:
                credentials.rotate_password()
                self.events_hub.emit(PasswordRotated(
                    credentials.display_code, credentials.generation, credentials.password))

        def invalidated(creds: SessionCredentials) -> None:
            self.events_hub.emit(
                PasswordInvalidated(creds.display_code, creds.failed_attempts, rotate_after))
            if rotate_after is not None:
                loop = asyncio.get_running_loop()
                self._rotations[id(credentials)] = loop.call_later(rotate_after, rotate)

        credentials.add_invalidation_listener(invalidated)

    def local_input_activity(self) -> None:
        """The local user used mouse or keyboard: remote input pauses for a while."""
        self.local_input_until = time.monotonic() + self.config.local_input_pause

    async def revoke(self, level: Permission, peer: str | None = None) -> None:
        """Take ``level`` back from one viewer (by peer name) or all; they are told.
        Revoking VIEW ends that viewer's session."""
        for link in list(self._links):
            if peer is None or link.peer == peer:
                await _quiet(link.revoke(level))

    async def disconnect(self, peer: str | None = None, reason: str = "host ended") -> None:
        """End sessions (also those still waiting for consent)."""
        for link in list(self._serving):
            if peer is None or link.peer == peer:
                await _quiet(link.send(m.Bye(reason)))
                await link.channel.close()

    def register_channel(self, name: str, handler: ExtensionHandler) -> None:
        """Add an extension channel; ``handler(peer, payload)`` may return a reply."""
        self.extensions.register(name, handler)

    async def send_extension(self, name: str, payload: bytes, peer: str | None = None) -> None:
        for link in list(self._links):
            if peer is None or link.peer == peer:
                await link.send(m.Extension(name, payload))

    async def send_chat(self, text: str, peer: str | None = None) -> None:
        for link in list(self._links):
            if peer is None or link.peer == peer:
                await link.send(m.Chat(text))

    async def send_file(self, path: Path, peer: str) -> bool:
        """Offer a file to a viewer; True if it accepted and it was sent."""
        link = next(x for x in self._links if x.peer == peer)
        return await self.sender_for(link).send_file(path)

    def stats(self) -> list[LinkStats]:
        return [link.snapshot() for link in self._links]

    def links(self) -> list[ViewerLink]:
        return list(self._links)

    def last_frame(self, monitor: int | None = None) -> npt.NDArray[np.uint8] | None:
        return self.hub.last_frame(self.config.monitor if monitor is None else monitor)

    async def close(self, timeout: float = 5.0) -> None:
        """Say bye to every viewer, wait (up to ``timeout``) for their sessions
        to finish cleaning up, then release the sources and the injector."""
        await self.disconnect()
        for handle in self._rotations.values():
            handle.cancel()
        self._rotations.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._all_ended.wait(), timeout)
        self.events_hub.close()
        self.hub.close()
        if self.injector is not None:
            self.injector.close()

    # -- used by the sessions ----------------------------------------------

    def joined(self, link: object) -> None:
        assert isinstance(link, ViewerLink)
        self._links[link] = None
        self.events_hub.emit(SharingChanged(self.viewers))

    def emit(self, event: Event) -> None:
        self.events_hub.emit(event)

    def release_input(self) -> None:
        if self.injector is not None:
            self.injector.release_all()

    def note_injected_pointer(self, x: int, y: int) -> None:
        self._last_injected = (x, y)

    def files_for(self, link: object) -> FileReceiver:
        rec = self._files.get(link)
        if rec is None:
            cfg = self.config
            rec = self._files[link] = FileReceiver(
                cfg.download_dir, self.file_consent, max_file=cfg.max_file,
                max_total=cfg.max_total, timeout=cfg.consent_timeout,
            )  # fmt: skip
        return rec

    def sender_for(self, link: object) -> FileSender:
        snd = self._senders.get(link)
        if snd is None:
            assert isinstance(link, ViewerLink)
            snd = self._senders[link] = FileSender(link.send)
        return snd


async def _quiet(coro: object) -> None:
    """Await a best-effort send: the peer may already be gone."""
    with contextlib.suppress(SessionClosedError, OSError, ProtocolError):
        await coro  # type: ignore[misc]
