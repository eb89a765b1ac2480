"""The part of :class:`~.viewer.Viewer` that asks the host for things and
sends it what the agent does: permission requests and releases, a
keyframe, a monitor, input, chat lines, files (and stopping one being
received), extension messages, and the Bye.

:class:`ViewerRequests` is a mixin of :class:`~.viewer.Viewer`, which sets
the attributes it declares (``Viewer.__init__``) and sends through its
``_send``; the methods are Viewer's, moved here unchanged (cycle38) so that
viewer.py reads in one sitting."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from screencodec.errors import ScreencodecError, SessionClosedError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel, close_with
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import ChatLedger
from screencodec.transport.session.permissions import VIEW, Permission
from screencodec.transport.session.refusal import Refusal, RequestLedger
from screencodec.transport.session.sidechannels import (
    ExtensionHandler,
    ExtensionRegistry,
    FileReceiver,
    FileSender,
    application_channel,
)

__all__ = ["ViewerRequests"]


class ViewerRequests:
    """What a :class:`~.viewer.Viewer` asks of the host, and sends it."""

    channel: Channel
    who: str
    level: Permission
    _level_moved: asyncio.Event  # set when the host took a level back
    refusal: Refusal | None
    _requests: RequestLedger
    _pending: asyncio.Future[tuple[bool, Refusal | None]] | None
    _pending_number: int
    _keyframe_asked_at: float
    keyframe_requests: int
    blind: bool
    input_withheld: int
    chats: ChatLedger
    files: FileReceiver
    sender: FileSender
    extensions: ExtensionRegistry

    if TYPE_CHECKING:
        async def _send(self, msg: m.Message) -> None: ...
        async def _send_all(self, msgs: list[m.Message]) -> None: ...

    # -- requests to the host ---------------------------------------------------

    async def request(self, level: Permission, timeout: float = 60.0) -> bool:
        """Ask for more (e.g. CONTROL); True once granted. Needs :meth:`run`
        running. When it returns False, :attr:`refusal` says why (None: no
        answer within ``timeout``, or the session ended). Only the host's
        answer to this request answers it, however late others come."""
        if self._pending is not None and not self._pending.done():
            raise RuntimeError("a permission request is already pending")
        pending = self._pending = asyncio.get_running_loop().create_future()
        self._pending_number = self._requests.sent(level)
        self.refusal = None
        await self._send(m.PermissionRequest(level.bits, self.who))
        try:
            answered, refusal = await wait_for(pending, timeout)
        except asyncio.TimeoutError:
            return False
        self.refusal = refusal
        return answered and refusal is None and level in self.level

    async def release(self, level: Permission, timeout: float = 10.0) -> bool:
        """Give ``level`` back to the host (e.g. CONTROL when the agent is
        done: the host's user sees it taken back); True once the host has
        taken it. VIEW is never given back this way (leaving is ``bye``).
        Needs :meth:`run` running."""
        give = (level & self.level) - VIEW
        if not give:
            return True
        await self._send(m.PermissionRevoke(give.bits, 0))
        try:
            await wait_for(self._level_lost(give), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _level_lost(self, level: Permission) -> None:
        while level & self.level:
            self._level_moved.clear()
            await self._level_moved.wait()

    async def request_keyframe(self) -> None:
        """Ask for a full picture now (a sink lost its state: a reloaded page);
        the host also sends the pointer's shape and position again."""
        self._keyframe_asked_at = time.monotonic()
        self.keyframe_requests += 1
        await self._send(m.KeyframeRequest())

    async def select_monitor(self, index: int) -> None:
        """Watch monitor ``index`` (0 = all); the host answers with a keyframe."""
        await self._send(m.SelectMonitor(index))

    async def pointer_move(self, x: int, y: int) -> bool:
        """Move the host's pointer (CONTROL). Like :meth:`button`,
        :meth:`wheel` and :meth:`key`: True once sent; False when nothing
        was sent because the session resumed on this connection and its
        first picture has not been applied yet (:attr:`blind`: the host
        would drop it as typed blind)."""
        return await self._input(m.PointerMove(x, y))

    async def button(self, button: int, down: bool) -> bool:
        return await self._input(m.Button(button, down))

    async def wheel(self, dx: int, dy: int) -> bool:
        return await self._input(m.Wheel(dx, dy))

    async def key(self, keysym: int, down: bool, text: str = "") -> bool:
        return await self._input(m.Key(keysym, down, text))

    async def _input(self, msg: m.PointerMove | m.Button | m.Wheel | m.Key) -> bool:
        if self.blind:
            self.input_withheld += 1
            return False
        await self._send(msg)
        return True

    async def chat(self, text: str) -> int:
        """Send a chat line; returns its id: a :class:`~.events.ChatDelivery`
        naming it tells when the host's program has it ("delivered"), that a
        host of an older version confirms nothing ("sent"), or that the
        session ended first ("not delivered"). Sent once the host said its
        chat hello (before that, and over a link lost, the line is kept and
        goes then: .chat); :class:`~.chat.ChatBacklogError` when 64 lines
        wait for the host's confirmation."""
        return await self.chats.send(text)

    async def send_file(self, path: Path) -> bool:
        return await self.sender.send_file(path)

    async def stop_receiving(self, transfer: int) -> bool:
        """Stop receiving the host's file ``transfer`` (its
        :class:`~.files.offers.FileOfferInfo`'s number; being received:
        ``viewer.files.receiving()``) mid-way: what of it came is removed,
        the local user is told (a :class:`~.events.FileRefused` "you
        stopped receiving it", with how much had come), and the host is told
        at once, which stops sending it (its :class:`~.events.FileCut`
        "stopped there"; a host of the version before says it could not be
        saved). The receiving side of what cancelling ``sender.send`` does
        for a file this side sends. Also one said yes to and not taken yet
        (its folder being looked at), and one all of which came and is
        being saved: removed once saved (files37,
        :meth:`.FileReceiver.stop`). False if it is none of these (ended,
        never offered, refused): nothing stopped."""
        told = self.files.stop(transfer)
        if told is None:
            return False
        with contextlib.suppress(ScreencodecError, OSError):  # ended: nobody to tell
            await self._send_all(told)
        return True

    def register_channel(self, name: str, handler: ExtensionHandler) -> None:
        self.extensions.register(name, handler)

    async def send_extension(self, name: str, payload: bytes) -> None:
        """Send on an extension channel; :class:`ValueError` for a reserved or
        malformed name (as :meth:`register_channel`), before anything is sent."""
        application_channel(name)
        await self._send(m.Extension(name, payload))

    async def bye(self, reason: str = "") -> None:
        """Leave the session, saying ``reason`` to the host: the Bye goes at
        once, behind what is queued and ahead of sends still waiting (a
        file's next chunk), and the channel closes; the close waits while
        the host takes what was sent, and gives up on one that stopped
        reading (channel/sealed.py). The close's own reason stays "closed
        locally" (:meth:`run` returns "channel closed: closed locally")."""
        with contextlib.suppress(SessionClosedError):
            await close_with(self.channel, m.encode(m.Bye(reason)))
        await self.channel.close()
