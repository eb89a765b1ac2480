"""The bridge between a :class:`~screencodec.transport.Viewer` and its page.

It is the viewer's sink (:class:`~screencodec.transport.session.viewer.RemoteApplier`):
each UPDATE and cursor message from the host goes to the page as one binary
WebSocket frame, unchanged, in arrival order; the page answers each UPDATE
with ``applied`` once the canvas shows it (or refused it), which resolves the
update's future and sends its Receipt. So the host's congestion control and
its lag figures measure up to the picture in the page.

Everything else is JSON both ways (:mod:`screencodec.web.schema`): levels,
stats, monitors, chat, notices, files, banners to the page; input, chat,
control and monitor requests, file answers from it. Input is forwarded only
while the host has granted CONTROL (the host checks again).

Page reloads: when the page's socket closes, updates stop being sent and wait
(the host soon stops for lack of receipts); when the tab comes back with its
resume key, the waiting updates count as refused and a keyframe is asked for,
so the new page starts from a full picture. The last state messages are
replayed to it.

Owned by one event loop; one page socket at a time (the server enforces it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileReceived
from screencodec.transport.session.permissions import CONTROL, VIEW, Permission
from screencodec.transport.session.viewer import Viewer
from screencodec.web.files import PageFiles
from screencodec.web.schema import PageProtocolError, dumps, parse_page_message

__all__ = ["WebBridge", "capabilities_from"]

_TEXT_MAX = 1000  # peer strings are cut to this before they reach the page
_REPLAYED = ("status", "level", "monitors", "stats", "banner")


def capabilities_from(hello: dict[str, Any]) -> m.Capabilities:
    """What the page decodes, as the viewer's Capabilities for the host."""
    from screencodec.wire import ZSTREAM_MAX_WINDOW, Op

    full = m.Capabilities.full()
    video = (m.Capabilities.H264_444 if hello["h264_444"] else 0) | (
        m.Capabilities.H264_420 if hello["h264_420"] else 0
    )
    ops = full.ops
    if not video:
        ops &= ~(1 << Op.VIDEO)
    if not hello["zstream"]:
        ops &= ~(1 << Op.ZSTREAM)
    cache = ZSTREAM_MAX_WINDOW if hello["zstream"] else 0
    # The page's decoder takes MED-filtered photos (decoder/lossless.js).
    return m.Capabilities(ops, video, m.Capabilities.RECEIPTS | m.Capabilities.ZSTD_MED
                          | m.Capabilities.COMPACT, cache)  # compact: expanded by the Viewer


def _level(level: Permission) -> dict[str, Any]:
    return {"t": "level", "view": VIEW in level, "control": CONTROL in level}


class WebBridge:
    """One agent's page and one viewer. ``hello`` resolves with the first
    page's hello; ``page_seen`` is set while a page is connected.

    Counters: ``input_dropped`` (input without CONTROL), ``protocol_errors``.
    """

    def __init__(self, who: str = "support") -> None:
        self.who = who
        self.viewer: Viewer | None = None
        self.hello: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.page_seen = asyncio.Event()
        self.page_gone = asyncio.Event()
        self.page_gone.set()
        self.files: PageFiles | None = None
        self.input_dropped = 0
        self.protocol_errors = 0
        self._out: asyncio.Queue[str | bytes] | None = None
        self._waiting: collections.deque[asyncio.Future[tuple[int, int] | None]] = (
            collections.deque()
        )
        self._state: dict[str, dict[str, Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._bye = False

    def attach(self, viewer: Viewer) -> None:
        """Start bridging ``viewer`` (before its ``start``)."""
        self.viewer = viewer
        viewer.on_message = self._from_host
        self._spawn(self._events(viewer))

    def make_files(self, served: dict[int, Path]) -> PageFiles:
        self.files = PageFiles(self.send, served)
        return self.files

    # -- to the page -----------------------------------------------------------------

    def send(self, obj: dict[str, Any]) -> None:
        """Queue a JSON message to the page (remembered for replay if it is state)."""
        if obj["t"] in _REPLAYED:
            self._state[obj["t"]] = obj
        if self._out is not None:
            self._out.put_nowait(dumps(obj))

    def status(self, text: str) -> None:
        self.send({"t": "status", "text": text})

    def banner(self, kind: str, text: str) -> None:
        self.send({"t": "banner", "kind": kind, "text": text[:_TEXT_MAX]})

    def update(self, data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
        fut: asyncio.Future[tuple[int, int] | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        if self._out is not None:
            self._out.put_nowait(data)
        return fut

    def cursor(self, data: bytes, /) -> None:
        if self._out is not None:
            self._out.put_nowait(data)

    def _from_host(self, msg: m.Message) -> None:
        if isinstance(msg, m.PermissionGrant | m.PermissionRevoke | m.PermissionDeny):
            assert self.viewer is not None
            self.send(_level(self.viewer.level))
            if isinstance(msg, m.PermissionRevoke) and msg.revoked & CONTROL.bits:
                self.banner("revoked", "The user took back remote control: you can only watch now.")
        elif isinstance(msg, m.MonitorList):
            mons = [
                {"index": x.index, "width": x.width, "height": x.height, "primary": x.primary}
                for x in msg.monitors
            ]
            self.send({"t": "monitors", "list": mons, "current": msg.current})
        elif isinstance(msg, m.Stats):
            self.send({"t": "stats", "fps": msg.fps_milli / 1000, "kbps": msg.kbps,
                       "rtt": msg.rtt_us / 1000, "skipped": msg.skipped})  # fmt: skip
        elif isinstance(msg, m.Notice):
            self.send({"t": "notice", "text": safe_text(msg.text, _TEXT_MAX)})
        elif isinstance(msg, m.Chat):
            # The page shows it with textContent; safe_text also drops what
            # could spoof it there (bidi overrides, control characters).
            self.send({"t": "chat", "from": "host", "text": safe_text(msg.text, _TEXT_MAX * 4)})

    async def _events(self, viewer: Viewer) -> None:
        async for ev in viewer.events():
            if isinstance(ev, FileReceived) and self.files is not None:
                self.files.received(Path(ev.path), ev.size)

    # -- the page's socket -----------------------------------------------------------

    async def on_page(self, ws: web.WebSocketResponse, hello: dict[str, Any]) -> None:
        """Serve one admitted page until its socket closes (WebServer's handler)."""
        out: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._out = out
        self.page_gone.clear()
        self.page_seen.set()
        out.put_nowait(dumps({"t": "welcome", "resume": hello["resume"], "who": self.who}))
        for obj in self._state.values():
            out.put_nowait(dumps(obj))
        if not self.hello.done():
            self.hello.set_result(hello)
        elif self.viewer is not None:
            # A reloaded tab: what the old page never applied is lost with it.
            while self._waiting:
                self._waiting.popleft().set_result(None)
            self._spawn(self._quietly(self.viewer.request_keyframe()))
        writer = asyncio.ensure_future(self._write(ws, out))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    if self.files is None:
                        raise PageProtocolError("file data before the session")
                    self.files.chunk(msg.data)
                else:
                    break
        except PageProtocolError as exc:
            self.protocol_errors += 1
            with contextlib.suppress(Exception):
                await ws.send_str(dumps({"t": "banner", "kind": "error", "text": str(exc)[:200]}))
            await ws.close(code=1008)
        finally:
            if self._out is out:
                self._out = None
                self.page_gone.set()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer

    async def _write(self, ws: web.WebSocketResponse, out: asyncio.Queue[str | bytes]) -> None:
        while True:
            item = await out.get()
            if isinstance(item, str):
                await ws.send_str(item)
            else:
                await ws.send_bytes(item)
            out.task_done()

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait until what is queued for the page has been written, the page
        has gone, or ``timeout`` passed."""
        out = self._out
        if out is None:
            return
        joined = asyncio.ensure_future(out.join())
        gone = asyncio.ensure_future(self.page_gone.wait())
        await asyncio.wait({joined, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        joined.cancel()
        gone.cancel()

    async def _on_text(self, text: str) -> None:
        msg = parse_page_message(text)
        kind = msg["t"]
        viewer = self.viewer
        if kind == "hello":
            raise PageProtocolError("hello twice")
        if kind == "applied":
            if not self._waiting:
                raise PageProtocolError("applied, but no update is waiting")
            self._waiting.popleft().set_result((msg["w"], msg["h"]) if msg["ok"] else None)
            return
        if kind == "file_answer":
            if self.files is not None:
                self.files.answer(msg["id"], msg["accept"])
            return
        if viewer is None:
            return  # still connecting: nothing to forward to yet
        if kind in ("move", "button", "wheel", "key"):
            if CONTROL not in viewer.level:
                self.input_dropped += 1
                return
            await self._quietly(self._input(viewer, msg))
        elif kind == "keyframe":
            await self._quietly(viewer.request_keyframe())
        elif kind == "control":
            if msg["want"] and CONTROL not in viewer.level:
                self._spawn(self.ask_control(viewer))
        elif kind == "chat":
            await self._quietly(viewer.chat(msg["text"]))
            self.send({"t": "chat", "from": "me", "text": msg["text"]})
        elif kind == "monitor":
            await self._quietly(viewer.select_monitor(msg["index"]))
        elif kind == "file_offer":
            assert self.files is not None
            self.files.offer(msg)
            self.send({"t": "file_progress", "id": msg["id"], "state": "uploading"})
        elif kind == "file_done":
            assert self.files is not None
            done = self.files.done(msg["id"])
            if done is not None:
                self._spawn(self._send_file(viewer, msg["id"], *done))
        elif kind == "bye":
            self._bye = True
            self._spawn(viewer.bye("the agent closed the web viewer"))

    async def _input(self, viewer: Viewer, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "move":
            await viewer.pointer_move(msg["x"], msg["y"])
        elif kind == "button":
            await viewer.button(msg["b"], msg["down"])
        elif kind == "wheel":
            await viewer.wheel(msg["dx"], msg["dy"])
        else:
            await viewer.key(msg["keysym"], msg["down"], msg["text"])

    async def ask_control(self, viewer: Viewer) -> None:
        """Ask the host's user for CONTROL; the page sees the question and the
        answer. A refusal the user was not asked about comes with the host's
        own notice (shown as it came): only the user's own is said here, once
        this request's answer is known (a late answer to an earlier one is
        not taken for it)."""
        self.status("Asking the user for remote control...")
        refusal = None
        with contextlib.suppress(RuntimeError, SessionClosedError):  # one already pending
            if not await viewer.request(CONTROL):
                refusal = viewer.refusal
        if refusal is not None and refusal.by_user:
            self.send({"t": "notice", "text": "The user declined remote control."})
        self.send(_level(viewer.level))
        self.status("Connected")

    async def _send_file(self, viewer: Viewer, tid: int, path: Path, name: str) -> None:
        self.send({"t": "file_progress", "id": tid, "state": "offered"})
        try:
            ok = await viewer.sender.send_file(path, name)
        except (SessionClosedError, ProtocolError, OSError):
            ok = False
        self.send({"t": "file_progress", "id": tid, "state": "sent" if ok else "declined"})
        path.unlink(missing_ok=True)

    @staticmethod
    async def _quietly(coro: Any) -> None:
        with contextlib.suppress(SessionClosedError):
            await coro

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        while self._waiting:
            fut = self._waiting.popleft()
            if not fut.done():
                fut.set_result(None)
        if self.files is not None:
            self.files.close()
