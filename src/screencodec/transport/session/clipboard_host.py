"""The host's side of clipboard sharing (.clipboard has the wire and the
rules): each viewer's link (:class:`LinkClipboard`), the sync that sends
the host's user's clipboard changes while an agent holds CONTROL
(:class:`ClipboardSync`), and :class:`HostClipboard`, Host's mixin with
the user's commands (:meth:`HostClipboard.send_clipboard`,
:meth:`HostClipboard.set_clipboard_sync`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from screencodec.errors import ScreencodecError
from screencodec.transport.aio import wait_for
from screencodec.transport.session import messages as m
from screencodec.transport.session.clipboard import (
    BEFORE_GRANT,
    CLIPBOARD_CHANNEL,
    FAILED,
    LOCAL_USER,
    NO_CLIPBOARD,
    NO_CONTROL,
    REPLACED,
    SET,
    SYNC,
    TAKES,
    TEXT,
    ClipboardError,
    ClipboardLike,
    check_text,
    clipboard_hello,
    clipboard_result,
    parse_text,
    refusal_words,
    text_number,
    text_payload,
)
from screencodec.transport.session.events import (
    ClipboardRefused,
    ClipboardSent,
    ClipboardSet,
)
from screencodec.transport.session.permissions import CONTROL

__all__ = ["CLIPBOARD_WAIT", "SYNC_PERIOD", "ClipboardRuntime", "ClipboardSync", "LinkClipboard",
           "read_clipboard"]

_log = logging.getLogger(__name__)

#: How long a read or write of the host's clipboard may take (an X
#: selection owner that does not answer): then it failed.
CLIPBOARD_WAIT = 5.0
#: How often sync looks at the host's clipboard (seconds).
SYNC_PERIOD = 1.0


class ClipboardRuntime(Protocol):
    """What sync and the host's clipboard commands use of the host's
    runtime (runtime.HostRuntime): a protocol, as runtime.py and link.py
    import this module (farm-studio drew the circle through HostRuntime)."""

    clipboard: ClipboardLike | None
    clip_sync: ClipboardSync
    links: dict[Any, None]  # ViewerLinks, insertion-ordered


async def read_clipboard(clipboard: ClipboardLike) -> str | None:
    return await wait_for(asyncio.to_thread(clipboard.get_text), CLIPBOARD_WAIT)


class LinkClipboard:
    """One viewer's clipboard on the host. ``link`` is its
    :class:`~.link.ViewerLink`; ``replaying`` is set while the messages the
    viewer sent before its first grant are handled (they are refused)."""

    def __init__(self, link: Any) -> None:
        self._link = link
        self.shares = False  #: the viewer declared CLIPBOARD, and had the hello
        self.replaying = False
        self._number = 0  # the host's texts sent on this link
        self.set = 0
        self.refused = 0
        self._warned: set[object] = set()  # the reasons already logged as warnings
        # The set in flight (a task, off the receive loop: clipfix39) and
        # the text waiting for it (number, text): one of each at most.
        self._setting: asyncio.Task[None] | None = None
        self._waiting: tuple[int, str] | None = None

    async def hello(self) -> None:
        """After the grant: a viewer that declared CLIPBOARD learns whether
        this host takes its text (one that did not is never sent any)."""
        link = self._link
        if not link.capabilities.flags & m.Capabilities.CLIPBOARD:
            return
        self.shares = True
        await link.send(clipboard_hello(TAKES if link.host.clipboard is not None else 0))

    async def send_text(self, text: str, *, sync: bool) -> None:
        """The host's user's ``text`` to this agent (checked by the caller)."""
        link = self._link
        self._number += 1
        payload = text_payload(self._number, text, SYNC if sync else 0)
        await link.send(m.Extension(CLIPBOARD_CHANNEL, payload))
        link.host.emit(ClipboardSent(link.peer, link.who, len(text),
                                     "sync" if sync else "command"))  # fmt: skip

    async def on_channel(self, payload: bytes) -> None:
        """A message of the viewer's on the channel: its text, put on the
        host's clipboard or refused (a result answers it either way). A
        bad one is logged and dropped; the session goes on."""
        if payload[:1] != bytes([TEXT]):
            return  # a later version's message, or one only a host sends
        number = text_number(payload)
        if number is None or not self.shares:
            why = "malformed" if self.shares else "the viewer did not declare CLIPBOARD"
            self._warn(why, "clipboard message from %s dropped: %s", self._link.peer,
                       ClipboardError(why))  # fmt: skip
            return
        try:
            text: str | ClipboardError = parse_text(payload)[2]
        except ClipboardError as exc:
            text = exc
        chars = len(text) if isinstance(text, str) else 0  # for the events; 0: not text
        try:
            self._allowed()  # the rules first: what the agent may not do is said so
            if isinstance(text, ClipboardError):
                raise text
        except ClipboardError as exc:
            self._warn(exc.code, "clipboard text from %s refused: %s", self._link.peer, exc)
            await self._answer(number, exc.code, chars)
            return
        # Set off the receive loop (an X selection owner that does not answer
        # would hold this agent's chat and input for CLIPBOARD_WAIT): one set
        # in flight, and a later text replaces one still waiting for it.
        if self._setting is None:
            self._setting = self._link._start(self._sets(number, text))
            return
        replaced, self._waiting = self._waiting, (number, text)  # before any await
        if replaced is not None:
            await self._answer(replaced[0], REPLACED, len(replaced[1]))

    async def settled(self) -> None:
        """Returns once no set is in flight or waiting: a key press of the
        agent's waits here, so that the Ctrl+V sent after a text pastes it
        (each set is bounded by CLIPBOARD_WAIT)."""
        while self._setting is not None:
            await asyncio.wait({self._setting})

    async def _sets(self, number: int, text: str) -> None:
        try:
            while True:
                try:
                    if CONTROL not in self._link.level:  # taken back while it waited
                        raise ClipboardError("clipboard text from an agent without control",
                                             NO_CONTROL)  # fmt: skip
                    if time.monotonic() < self._link.host.local_input_until:  # as it waited
                        raise ClipboardError("clipboard text while the local user is active",
                                             LOCAL_USER)  # fmt: skip
                    await self._put(text)
                except ClipboardError as exc:
                    self._warn(exc.code, "clipboard text from %s refused: %s", self._link.peer,
                               exc)  # fmt: skip
                    code = exc.code
                else:
                    code = SET
                with contextlib.suppress(ScreencodecError, OSError):  # the session ended
                    await self._answer(number, code, len(text))
                if self._waiting is None:
                    return
                (number, text), self._waiting = self._waiting, None
        finally:
            self._setting = None

    def _warn(self, why: object, message: str, *args: object) -> None:
        """A warning once per link and ``why``, then debug lines: a peer's
        flood of refused texts was a warning each, and the CLI's terminal
        shows warnings (review39b: 200 texts, 200 lines)."""
        level = logging.DEBUG if why in self._warned else logging.WARNING
        self._warned.add(why)
        _log.log(level, message, *args)

    def _allowed(self) -> None:
        link = self._link
        if self.replaying or (CONTROL in link.level and link.gate.before_grant()):
            raise ClipboardError("clipboard text sent before the agent held control", BEFORE_GRANT)
        if CONTROL not in link.level:
            raise ClipboardError("clipboard text from an agent without control", NO_CONTROL)
        if link.host.clipboard is None:
            raise ClipboardError("this host has no clipboard", NO_CLIPBOARD)
        # The local user wins here as with input (input_gate): a text put on
        # the clipboard while they type could replace what they just copied,
        # between their Ctrl+C and Ctrl+V (review39b).
        if time.monotonic() < link.host.local_input_until:
            raise ClipboardError("clipboard text while the local user is active", LOCAL_USER)

    async def _put(self, text: str) -> None:
        host = self._link.host
        # In _sets' task; a key press that follows the text waits for it
        # (settled), so the page's Ctrl+V pastes this text.
        try:
            await wait_for(asyncio.to_thread(host.clipboard.set_text, text), CLIPBOARD_WAIT)
        except (OSError, ScreencodecError, asyncio.TimeoutError) as exc:
            raise ClipboardError(f"the host's clipboard was not set: {exc!r}", FAILED) from exc
        host.clip_sync.note_put(text)

    async def _answer(self, number: int, code: int, chars: int) -> None:
        link = self._link
        if code == SET:
            self.set += 1
            link.host.emit(ClipboardSet(link.peer, link.who, chars, number))
        else:
            self.refused += 1
            link.host.emit(ClipboardRefused(link.peer, link.who, chars, refusal_words(code),
                                            number))  # fmt: skip
        await link.send(clipboard_result(number, code))


async def _opened(watching: Callable[[], Any]) -> Any:
    """``watching()``'s watch, opened in a thread. Cancelled meanwhile (sync
    turned off as it opened), the thread still opens it: closed when it
    does. tail39b: that X connection was left open for the process's life."""
    opening = asyncio.ensure_future(asyncio.to_thread(watching))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_unused)
        raise


def _close_unused(opening: asyncio.Future[Any]) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    watch = opening.result()
    if watch is not None:
        watch.close()


class ClipboardSync:
    """Sends the host's clipboard changes to the agents that hold CONTROL,
    while on: every :data:`SYNC_PERIOD` while an agent holds CONTROL (only
    then: clipfix39) it reads the clipboard, and a text unlike the last read
    goes only to the links that hold CONTROL now and were granted it before
    the last read began (the change was made after it, so while they held
    it: a change made before a grant, while control was taken back and
    given again, or between one agent and the next is not theirs to have;
    review39b), and never what an agent put there."""

    def __init__(self, runtime: ClipboardRuntime) -> None:
        self._runtime = runtime
        self._task: asyncio.Task[None] | None = None
        self._seen: str | None = None
        self._put: str | None = None
        self._held = False
        self._last: float | None = None  # when the last good read began
        self._unwatched = False  # its watch failed: read every period
        self.period = SYNC_PERIOD
        #: Set once sync, started, has read what the clipboard held, or found
        #: no agent holding CONTROL (the first read after a grant takes what
        #: is there then): a copy made after it is a change, and goes.
        self.looked = asyncio.Event()

    @property
    def on(self) -> bool:
        return self._task is not None

    def note_put(self, text: str) -> None:
        self._put = text

    def start(self) -> None:
        if self._task is None and self._runtime.clipboard is not None:
            self._held = False  # the first read only sets what was there
            self.looked.clear()
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    def _holders(self, since: float | None = None) -> list[Any]:
        """The links that hold CONTROL (and share clipboards); with
        ``since``, only those that have held it without a break since then."""
        return [link for link in list(self._runtime.links)
                if CONTROL in link.level and link.clip.shares
                and (since is None or (link.gate.control_since is not None
                                       and link.gate.control_since < since))]  # fmt: skip

    async def _run(self) -> None:
        clipboard = self._runtime.clipboard
        assert clipboard is not None
        # A clipboard that can tell of a copy (the CLI's: XFixes) is read
        # only after one, not every period (clipfix39).
        watching = getattr(clipboard, "watch", None)
        watch = await _opened(watching) if callable(watching) else None
        try:
            await self._loop(clipboard, watch)
        finally:
            if watch is not None:
                watch.close()  # ends a wait under way at once

    async def _changed(self, watch: Any) -> bool:
        """Whether the watched clipboard changed within a period; one that
        fails (its X connection lost) is given up: True, so it is read."""
        try:
            return bool(await asyncio.to_thread(watch.wait, self.period))
        except Exception as exc:  # the watch's own errors (Xlib's hierarchy)
            _log.warning("clipboard sync: changes no longer watched (read every period): %r",
                         exc)  # fmt: skip
            self._unwatched = True
            return True

    async def _loop(self, clipboard: ClipboardLike, watch: Any) -> None:
        self._unwatched = False
        while True:
            if self._unwatched:
                watch = None
            held = bool(self._holders())
            if not held:
                # No agent holds CONTROL: nothing could go, so the clipboard
                # is not read (the CLI's each read is an xclip process); the
                # first read after a grant only sets what was there.
                self._held = False
                self._last = None
                self.looked.set()
                await asyncio.sleep(self.period)
                continue
            if watch is not None and self._held and not await self._changed(watch):
                continue  # no copy: nothing to read
            began = time.monotonic()
            try:
                text = await read_clipboard(clipboard)
            except (OSError, ScreencodecError, asyncio.TimeoutError) as exc:
                _log.warning("clipboard sync: could not read the clipboard: %r", exc)
                await asyncio.sleep(self.period)  # the next read compares with the last good one
                continue
            # Only to links granted CONTROL before the last read began: the
            # change came after it (review39b: what was copied while control
            # was taken back and given again, or between one agent and the
            # next, went to the one holding it now).
            holders = self._holders(self._last) if self._last is not None else []
            if (text is not None and text not in (self._seen, self._put)
                    and self._held and held and holders):  # fmt: skip
                await self._send(text, holders)
            self._seen = text
            self._held = held and bool(self._holders())
            self._last = began
            self.looked.set()
            if watch is None:
                await asyncio.sleep(self.period)

    async def _send(self, text: str, holders: list[Any]) -> None:
        try:
            check_text(text)
        except ClipboardError as exc:
            _log.warning("clipboard sync: not sent: %s", exc)
            return
        for link in holders:
            with contextlib.suppress(ScreencodecError, OSError):  # that session ended
                await link.clip.send_text(text, sync=True)

