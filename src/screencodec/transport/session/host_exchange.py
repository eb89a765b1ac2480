"""The part of :class:`~.host.Host` that carries what its user and the
viewers send each other beside the screen: extension messages, chat lines,
files (sent, and those being received, stopped or saved).

:class:`HostExchange` is a mixin of :class:`~.host.Host`, which sets the
runtime it declares (``Host.__init__``); the methods are Host's, moved here
unchanged (cycle38) so that host.py reads in one sitting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from pathlib import Path

from screencodec.errors import ScreencodecError, SessionClosedError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import MAX_UNACKED, ChatBacklogError, ChatLedger
from screencodec.transport.session.events import FileSent
from screencodec.transport.session.runtime import HostRuntime
from screencodec.transport.session.sidechannels import (
    ExtensionHandler,
    FileOfferInfo,
    application_channel,
)

__all__ = ["HostExchange"]


class HostExchange:
    """What a :class:`~.host.Host`'s user sends the viewers, and the files
    they send."""

    _runtime: HostRuntime

    def register_channel(self, name: str, handler: ExtensionHandler) -> None:
        """Add an extension channel; ``handler(peer, payload)`` may return a reply."""
        self._runtime.extensions.register(name, handler)

    async def send_extension(self, name: str, payload: bytes, peer: str | None = None) -> None:
        """Send on an extension channel to one viewer (by peer name) or all.

        Raises :class:`ValueError` for a reserved or malformed name (as
        :meth:`register_channel`), before anything is sent."""
        application_channel(name)
        for link in list(self._runtime.links):
            if peer is None or link.peer == peer:
                await link.send(m.Extension(name, payload))

    async def send_chat(self, text: str, peer: str | None = None) -> dict[str, int]:
        """Send a chat line to one viewer (by peer name) or all, and keep it
        for those whose link was lost and who may resume (sent once they
        are back; to a viewer of an older version, not). Returns the line's
        id per viewer: a :class:`~.events.ChatDelivery` of that peer tells
        what became of it (.chat). :class:`~.chat.ChatBacklogError` when a
        viewer has not confirmed the last 64 lines: it goes to the others
        all the same (each waits for room on its own), and the error names
        those it was not sent to (``.refused``) and has the others' ids
        (``.sent``). A viewer whose session ended meanwhile has no id."""
        to: list[tuple[str, ChatLedger]] = [
            (link.peer, link.chats) for link in list(self._runtime.links)
            if peer is None or link.peer == peer]  # fmt: skip
        for lost in self._runtime.tickets.parked(peer):
            chats = lost.chat
            if isinstance(chats, ChatLedger) and chats.enabled and chats.peer_acks is not False:
                to.append((lost.peer, chats))
        for link in list(self._runtime.serving):
            # A lost session being taken up: its ticket claimed (no longer
            # parked), the new link not joined yet. Kept for it, sent first
            # there; before review33 the line went to nobody, in no log.
            took = link.resumed
            if (took is None or link in self._runtime.links
                    or peer not in (None, link.peer, took.peer)):  # fmt: skip
                continue
            chats = link.chats
            if (chats is took.chat and chats.enabled and chats.peer_acks is not False
                    and all(chats is not c for _, c in to)):  # fmt: skip
                to.append((link.peer, chats))
        got = await asyncio.gather(*(chats.send(text) for _, chats in to),
                                   return_exceptions=True)  # fmt: skip
        ids: dict[str, int] = {}
        refused: list[str] = []
        for (name, _), outcome in zip(to, got, strict=True):
            if isinstance(outcome, ChatBacklogError):
                refused.append(name)
            elif isinstance(outcome, SessionClosedError):
                continue  # that session ended meanwhile: not sent, not kept
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                ids[name] = outcome
        if refused:
            raise ChatBacklogError(f"not sent to {', '.join(refused)}: {MAX_UNACKED} chat lines"
                                   " wait for them to confirm", refused=tuple(refused),
                                   sent=ids)  # fmt: skip
        return ids

    async def say_to_asking(self, text: str) -> tuple[tuple[str, str], ...]:
        """Send a chat line to the agents whose first request is before the
        local user now (not let in yet, say38: ViewerLink.say_asking); returns
        ``(peer, who)`` of each it went to (the name the request gave,
        sanitised). No :class:`~.events.ChatDelivery` follows: it is not
        acknowledged (chat delivery begins with the grant)."""
        asking = [link for link in list(self._runtime.serving)
                  if link.first_open and link not in self._runtime.links]  # fmt: skip
        went = []
        for link in asking:
            # One by one, not in tasks: each link checks that its question is
            # open and writes the line in the same step (no task switch
            # between), so the line goes before any answer to it.
            if await link.say_asking(text):
                went.append((link.peer, link.who))
        return tuple(went)

    def asking_without_chat(self) -> tuple[tuple[str, str], ...]:
        """``(peer, who)`` of the agents whose first request is before the
        local user now and whose program takes no chat before the answer
        (a version before EARLY_CHAT): :meth:`say_to_asking` sends them
        nothing, and the user is told why (words39: "no support agent sees
        your screen", as if nobody asked)."""
        return tuple((link.peer, link.who) for link in list(self._runtime.serving)
                     if link.first_open and link not in self._runtime.links
                     and not link.capabilities.flags & m.Capabilities.EARLY_CHAT)  # fmt: skip

    async def joining(self, within: float) -> None:
        """Wait, at most ``within`` seconds, until each agent whose first
        request the local user has answered is in the session or gone: a
        chat line typed at the answer goes in the session, after the grant,
        as the terminal showed the answer first (words39). At once when
        none is joining."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within

        def joining() -> bool:
            return any(link.asked_first and not link.first_open and not link.refused_first
                       and not link.channel.closed and link not in self._runtime.links
                       for link in list(self._runtime.serving))  # fmt: skip

        while joining() and loop.time() < deadline:
            await asyncio.sleep(0.02)  # a join takes a layout read and a few sends

    async def send_file(self, path: Path, peer: str) -> bool:
        """Offer a file to a viewer; True if it was delivered (saved there;
        to a viewer of the previous version: accepted and sent).

        Raises :class:`KeyError` if no viewer of that name is sharing."""
        return (await self.send(path, peer)).outcome in ("delivered", "unconfirmed")

    async def send(self, path: Path, peer: str, *,
                   on_sending: Callable[[int, int], None] | None = None) -> FileSent:  # fmt: skip
        """:meth:`send_file`, returning what became of the file (also a
        :class:`~.events.FileSent` event); ``on_sending(sent, size)`` as
        :meth:`.FileSender.send` calls it (the viewer said yes, then after
        each chunk). :class:`KeyError` when no viewer ``peer`` shares the
        screen. A session that ends, or whose link is lost, while the
        file's bytes are being sent raises
        :class:`~screencodec.errors.SessionClosedError` (no FileSent: how
        much of it arrived is not known; the viewer drops what it began),
        as the viewer's ``viewer.sender.send`` does: one FileSender serves
        both sides. Before the viewer's answer, such an end returns
        "declined" (``why``: "... before an answer"); after the file's end
        went, "unconfirmed"."""
        link = next((x for x in self._runtime.links if x.peer == peer), None)
        if link is None:
            raise KeyError(peer)
        return await self._runtime.sender_for(link).send(path, on_sending=on_sending)

    def gives_reasons(self, peer: str) -> bool:
        """Whether the viewer ``peer`` says why it refuses a file without
        asking its user (a reason code: it takes no files, none this large),
        so that a refusal without one was its user's no (or its question
        closing unanswered at the viewer's own timeout): it sent a code on
        this link, or confirms chat (chat delivery came after the codes).
        False for a viewer of the version before, or one not sharing; the
        viewer's side of it is :attr:`.Viewer.host_gives_reasons`. Of a file
        sent, ask its :class:`~.events.FileSent` (``gives_reasons``): it
        says it of the viewer the file was offered to, as that viewer was
        known then; this looks ``peer`` up now, and a viewer who left
        meanwhile is not sharing (another may have its name by then)."""
        link = next((x for x in self._runtime.links if x.peer == peer), None)
        if link is None:
            return False
        return self._runtime.sender_for(link).gives_reasons

    def takes_files(self, peer: str) -> bool:
        """Whether the viewer ``peer`` may accept a file: False when it
        declared up front that it takes none (``Capabilities.NO_FILES``:
        no download folder, or no one to ask), so that an offer would only
        be refused unasked; True for a viewer of the version before (it
        says nothing of it: offer and learn). False for a peer not sharing
        (:meth:`send` raises KeyError for it)."""
        link = next((x for x in self._runtime.links if x.peer == peer), None)
        return link is not None and link.takes_files

    def receiving(self) -> list[tuple[FileOfferInfo, int]]:
        """The files the viewers send that are being received now, each with
        the bytes of it written so far (:meth:`.FileReceiver.receiving`)."""
        return self._runtime.receiving()

    def stoppable(self) -> list[tuple[FileOfferInfo, int]]:
        """The files the viewers send that :meth:`stop_receiving` stops now,
        each with the bytes of it that came: being received
        (:meth:`receiving`), said yes to and not taken yet (0), and whose
        end came, being saved on the disk (:meth:`saving`: all of it); none
        stopped already (:meth:`.FileReceiver.stoppable`)."""
        return self._runtime.stoppable()

    async def stop_receiving(self, peer: str, transfer: int) -> bool:
        """Stop receiving the file ``transfer`` that viewer ``peer`` sends
        (the :class:`~.files.offers.FileOfferInfo` of :meth:`receiving`
        names both) mid-way, as :meth:`.Viewer.stop_receiving` does on the
        viewer's side: what of it came is removed, the local user is told
        (a :class:`~.events.FileRefused` "you stopped receiving it"), and
        the viewer is told at once, which stops sending it (also a file
        said yes to and not taken yet, or one being saved:
        :meth:`.FileReceiver.stop`; :meth:`stoppable` lists them). False
        if no viewer of that name shares the screen or it is not receiving
        that file: nothing stopped."""
        link = next((x for x in self._runtime.links if peer in (x.peer, safe_text(x.peer))),
                    None)  # fmt: skip
        told = None if link is None else self._runtime.stop_receiving(link, transfer)
        if told is None:
            return False
        assert link is not None
        with contextlib.suppress(ScreencodecError, OSError):  # ended: nobody to tell
            for msg in told:
                await link.send(msg)
        return True

    def saving(self) -> list[FileOfferInfo]:
        """The files the viewers sent whose end came and that are being
        saved on the disk now (:meth:`.FileReceiver.saving`): what
        :meth:`close` waits for beyond its timeout."""
        return self._runtime.saving()

    def removing(self, *, ending: bool = False,
                 lost: bool | None = None) -> list[tuple[FileOfferInfo, int]]:  # fmt: skip
        """The half files the viewers sent (cut short by the session's end,
        withdrawn, stopped) whose removal from the disk has not been done
        yet, each with the bytes of it that came
        (:meth:`.FileReceiver.removing`): what :meth:`close` waits for
        beyond its timeout too, and :meth:`give_up_saves` gives up.
        ``ending``: only those of sessions already over (the agent left,
        its link was lost for good), whose end, and SessionEnded, wait for
        them meanwhile (review40a: ``screencodec host`` said nothing then).
        ``lost`` True: only those of links lost whose agent may come back
        (the session is not over: its ticket is kept once they are done),
        False: none of those (files41: a host said "the session's end")."""
        return self._runtime.removing(ending=ending, lost=lost)

    def give_up_saves(
        self, files: Collection[tuple[str, int]] | None = None
    ) -> list[FileOfferInfo]:
        """Stop waiting for the files being saved on the disk, and for the
        half files being removed from it (:meth:`.FileReceiver.give_up`):
        their sessions end now, and :meth:`close` no longer waits for them.
        ``files``: only the sessions already over (``removing(ending=True)``)
        whose end waits for one of these (peer, transfer), the others' wait
        goes on (files41: a program that runs on gives up one session's
        wait, not every session's). Returns the files that were being saved."""
        recs = self._runtime.settling()
        if files is not None:
            wanted = set(files)
            recs = [rec for rec in recs if rec.closed
                    and any((f.peer, f.transfer) in wanted for f, _ in rec.removing())]  # fmt: skip
        return [info for rec in recs for info in rec.give_up()]
