"""What the viewers' sessions of one host share: the internal half of :class:`~.host.Host`.

:class:`~.host.Host` is the public face an application holds; it owns one
:class:`HostRuntime`, which implements :class:`~.services.SessionHost` for
the sessions (``link.py`` and below). Keeping the two apart keeps session
plumbing (the capture hub, per-viewer file state, the injected-pointer note)
out of the public API without giving the sessions a back door into ``Host``.
Everything runs on one event loop; no locking.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from screencodec.capture.base import FrameSource
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel, ChannelTap
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.input.base import InputInjector
from screencodec.transport.session.clipboard import ClipboardLike
from screencodec.transport.session.clipboard_host import ClipboardSync
from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import ConsentCallback
from screencodec.transport.session.events import Event, EventHub, SharingChanged
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.messages import Message
from screencodec.transport.session.permissions import CONTROL, Permission
from screencodec.transport.session.resume import MOVED, ResumeTickets
from screencodec.transport.session.screens import CaptureHub, SourceFactory, single_source
from screencodec.transport.session.services import EncoderFactory
from screencodec.transport.session.sidechannels import (
    ExtensionRegistry,
    FileConsent,
    FileOfferInfo,
    FileReceiver,
    FileSender,
)

__all__ = ["HostRuntime"]


class HostRuntime:
    """Shared state of a host's sessions (a :class:`~.services.SessionHost`).

    ``links`` are the viewers the screen is shared with (consented), in join
    order; ``serving`` every session, consented or not.
    """

    def __init__(
        self,
        source: FrameSource | SourceFactory,
        *,
        consent: ConsentCallback,
        injector: InputInjector | None,
        config: HostConfig,
        file_consent: FileConsent | None,
        encoder_factory: EncoderFactory | None,
    ) -> None:
        self.config = config
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
        #: The host's clipboard (Host's ``clipboard=``), and its sync.
        self.clipboard: ClipboardLike | None = None
        self.clip_sync = ClipboardSync(self)
        #: Remote input is held back until this monotonic time (local user active).
        self.local_input_until = 0.0
        self.local_input_since = 0.0  # when the current stretch of local use began
        self.last_injected: tuple[int, int] | None = None
        self.links: dict[ViewerLink, None] = {}  # insertion-ordered set
        #: The viewers the last SharingChanged named (:meth:`tell_sharing`).
        self.told_sharing: tuple[str, ...] = ()
        self.serving: set[ViewerLink] = set()
        self._files: dict[object, FileReceiver] = {}
        self._senders: dict[object, FileSender] = {}
        #: Tickets of granted sessions, for a viewer that lost its link (.resume).
        self.tickets = ResumeTickets(config.resume_window)
        self._closing: set[asyncio.Future[None]] = set()

    @property
    def viewers(self) -> tuple[str, ...]:
        return tuple(link.peer for link in self.links)

    def local_input_activity(self) -> None:
        now = time.monotonic()
        if now >= self.local_input_until:
            # The last pause had run out: a new stretch of local use, which
            # the agent is told about once (input_gate). What the agent holds
            # is let go of: the pause drops its releases too, and a Shift it
            # held would capitalise what the local user types.
            self.local_input_since = now
            self.release_input()
        self.local_input_until = now + self.config.local_input_pause

    # -- SessionHost ---------------------------------------------------------

    def emit(self, event: Event) -> None:
        self.events_hub.emit(event)

    def joined(self, link: object) -> None:
        assert isinstance(link, ViewerLink)
        self.links[link] = None
        self.tell_sharing(always=True)

    def tell_sharing(self, *, always: bool = False) -> None:
        """A SharingChanged with the viewers now (unless ``always`` is
        false and they are those the last one named). A link taken over
        leaves the list untold (the new link's join names the agent again);
        should that link end before it joined, its end tells that nobody
        sees the screen (takeover36: the last event still named the old
        link while nobody saw it)."""
        if always or self.viewers != self.told_sharing:
            self.told_sharing = self.viewers
            self.events_hub.emit(SharingChanged(self.viewers))

    def release_input(self) -> None:
        """Let go of what every agent holds (the local user's turn)."""
        if self.injector is not None:
            self.injector.release_all()
        for link in self.links:  # the injector held it for all of them
            link.gate.let_go()

    def release_input_of(self, link: object) -> tuple[int, int]:
        """Let go of what ``link``'s agent holds, and only that (its link
        went silent or ends, its control was taken back). input44: this
        was :meth:`release_all`, which let go of another agent's held Shift
        too. With no other agent holding CONTROL the injector is this one's
        alone: ``release_all`` then, which also drops its input still
        queued (review41a); with another, each of its keys and buttons is
        released as its own agent's release would be, but for one another
        agent holds too (theirs then). The injector does not know whose
        queued input is whose: all of it is dropped then but for releases
        (``drop_queued``; review44: a revoked agent's move, queued behind
        its pastes, reached the desktop 2 s after the revoke), so the other
        agent may lose what it sent in the last moments, never a release.
        Returns how many keys and buttons were let go of (keys44: a key
        another agent still holds, which stays down, is not counted)."""
        assert isinstance(link, ViewerLink)
        inj = self.injector
        others = [o for o in self.links if o is not link and CONTROL in o.level]
        kept: set[tuple[str, int]] = set().union(*(o.gate.holding for o in others))
        going = sorted(link.gate.holding - kept) if inj is not None else []
        if inj is not None and not others:
            inj.release_all()
            for o in self.links:
                o.gate.let_go()
        elif inj is not None:
            inj.drop_queued()
            for kind, n in going:
                if kind == "button":
                    inj.button(n, False)
                else:
                    keysym, text = link.gate.pressed_as.get(n, (n, ""))
                    inj.key(keysym, False, text)
        link.gate.let_go()
        keys = sum(kind == "key" for kind, _ in going)
        return keys, len(going) - keys

    def let_up(self, what: tuple[str, int]) -> None:
        """An agent let a key or button up: it is up for every agent (one
        keyboard, one mouse; keys44: the other's gate still listed it, and
        its silence was said to let go of it)."""
        for o in self.links:
            o.gate.let_up(what)

    def note_injected_pointer(self, x: int, y: int) -> None:
        self.last_injected = (x, y)

    def files_for(self, link: object) -> FileReceiver:
        rec = self._files.get(link)
        if rec is None:
            cfg = self.config
            rec = self._files[link] = FileReceiver(
                cfg.download_dir, self.file_consent, max_file=cfg.max_file,
                max_total=cfg.max_total, timeout=cfg.consent_timeout,
                on_event=self.events_hub.emit,
            )  # fmt: skip
        return rec

    def receiving(self) -> list[tuple[FileOfferInfo, int]]:
        """Every viewer's files being received now (FileReceiver.receiving)."""
        return [got for rec in self._files.values() for got in rec.receiving()]

    def stoppable(self) -> list[tuple[FileOfferInfo, int]]:
        """Every viewer's files a stop stops now (FileReceiver.stoppable)."""
        return [got for rec in self._files.values() for got in rec.stoppable()]

    def stop_receiving(self, link: object, transfer: int) -> list[Message] | None:
        """Stop receiving ``link``'s file ``transfer`` (FileReceiver.stop):
        what to tell the viewer, or None if it is not being received."""
        rec = self._files.get(link)
        return None if rec is None else rec.stop(transfer)

    def saving(self) -> list[FileOfferInfo]:
        """Every viewer's files being saved on the disk now (FileReceiver.saving)."""
        return [info for rec in self._files.values() for info in rec.saving()]

    def removing(self, *, ending: bool = False,
                 lost: bool | None = None) -> list[tuple[FileOfferInfo, int]]:  # fmt: skip
        """Every viewer's half files being removed from the disk now
        (FileReceiver.removing); ``ending``: only those of sessions that
        ended, whose end waits for them (FileReceiver.closed); ``lost``
        True: only those of links lost (FileReceiver.link_lost), False:
        none of those."""
        return [got for rec in self._files.values()
                if (rec.closed or not ending) and (lost is None or rec.link_lost == lost)
                for got in rec.removing()]  # fmt: skip

    def link_lost(self, link: object) -> None:
        """``link`` was lost (its agent may come back): its files' receiver,
        if it has one, is closed as a lost link's, not a session's end."""
        rec = self._files.get(link)
        if rec is not None:
            rec.link_lost = True

    def settling(self) -> list[FileReceiver]:
        """The receivers whose disk thread has work a session's end waits for."""
        return [rec for rec in self._files.values() if rec.disk_busy]

    def sender_for(self, link: object) -> FileSender:
        snd = self._senders.get(link)
        if snd is None:
            assert isinstance(link, ViewerLink)
            snd = self._senders[link] = FileSender(
                link.send, peer=link.peer, on_event=self.events_hub.emit,
                confirms_chat=lambda: link.chats.peer_acks is True,
                # A take-over's link too (moved): the session goes on over
                # the agent's new connection (review35: found "ended").
                link_lost=lambda: link.moved or (link.ended_here is None
                                                 and bool(getattr(link.channel, "broken", False))),
                takes_files=lambda: link.takes_files)
        return snd

    async def take_over(self, link: object) -> tuple[Permission, int] | None:
        """End ``link``, whose ticket a new connection of the same agent
        presented (its old link is dead but not yet noticed, or its viewer
        is still there: the agent's newer connection wins, and the old one
        is told, resume.MOVED), and wait until it has let go of the screen
        and the input (at most 5 s). Returns the levels and monitor it held
        as it ended (what the user left it), or None if its viewer had said
        bye (nothing to resume)."""
        assert isinstance(link, ViewerLink)
        link.ended_here, link.moved = MOVED, True
        # Its own cleanup awaits this close too; not cancelled here. No
        # lingering for the agent to read the close: it is on its new
        # connection, and the old one is most likely dead (its receive loop
        # held the close for the whole linger, 2 s, waiting on a silent
        # line). The close is still written: a viewer still there reads why.
        wire = _unwrapped(link.channel)
        closing = asyncio.ensure_future(wire.close(MOVED, linger=False)
                                        if isinstance(wire, SecureChannel)
                                        else link.channel.close())  # fmt: skip
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        with contextlib.suppress(asyncio.TimeoutError):
            await wait_for(link.finished.wait(), 5.0)
        # Still ending (its cleanup is slow): it shows nothing any more (its
        # loops were cancelled first), so it is no longer listed as sharing:
        # one yes, one viewer.
        self.links.pop(link, None)
        return None if link.said_bye else (link.level, link.monitor)

    def forget(self, link: ViewerLink) -> bool:
        """Drop a finished session's state; True if it had been sharing."""
        self.serving.discard(link)
        was_sharing = link in self.links
        self.links.pop(link, None)
        self._files.pop(link, None)
        sender = self._senders.pop(link, None)
        if sender is not None:
            sender.close()
        return was_sharing


def _unwrapped(channel: Channel) -> Channel:
    """The transport's channel under any taps (a session's recording)."""
    while isinstance(channel, ChannelTap):
        channel = channel.inner
    return channel
