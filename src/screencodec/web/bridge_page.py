"""The page's socket in the web bridge (:mod:`screencodec.web.bridge`): what the
page says, checked and acted on, and what is written to it.

Each page message is parsed and checked (:mod:`screencodec.web.schema`)
before it acts: one the page may not send now is a protocol error, and the
page is closed with its reason. The page's answers to updates resolve them;
its input goes to the viewer only under CONTROL; its chat lines, file
offers, data and answers, and its digest of the picture it kept, go to
their sides. A reloaded page is shown the state, chat lines and file rows
it had, and its unanswered updates count as refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

from aiohttp import WSMsgType, web

from screencodec.transport.session.endreasons import VIEWER_LEFT
from screencodec.transport.session.permissions import CONTROL
from screencodec.web.bridge_base import HISTORY, _answer
from screencodec.web.bridge_control import BridgeControl
from screencodec.web.bridge_uploads import BridgeUploads
from screencodec.web.bridge_words import UPLOAD_PAGE_GONE
from screencodec.web.clip import clip_from_page
from screencodec.web.schema import PageProtocolError, dumps, parse_kept, parse_page_message
from screencodec.web.server import page_messages

__all__ = ["BridgePage"]


class BridgePage(BridgeControl, BridgeUploads):
    """The bridge's side that faces the page's socket (:meth:`on_page`)."""

    async def on_page(self, ws: web.WebSocketResponse, hello: dict[str, Any]) -> None:
        """Serve one admitted page until its socket closes (WebServer's handler)."""
        out: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._out = out
        self.page_gone.clear()
        self.page_seen.set()
        out.put_nowait(dumps({"t": "welcome", "resume": hello["resume"], "who": self.who}))
        for obj in [*self._state.values(), *self.logged(), *self._rows.values()]:
            out.put_nowait(dumps(obj))
        if not self.hello.done():
            self.hello.set_result(hello)
        elif self.viewer is not None:
            # A reloaded tab: what the old page never applied is lost with it.
            self._stale = 0
            self.forget_waiting()
            self._spawn(self._quietly(self.viewer.request_keyframe))
        writer = asyncio.ensure_future(self._write(ws, out))
        try:
            async for msg in page_messages(ws, self._ending):
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    if self._closed:
                        continue
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
                if self.files is not None and not self._closed:
                    for tid in self.files.page_gone():
                        self._upload_failed(tid, UPLOAD_PAGE_GONE)
                if self._kept_out is out and self._kept is not None and not self._kept.done():
                    self._kept.set_result(None)  # no answer is coming
                # Nobody watches what control would do: held back at once
                # (the session itself waits out the grace for a reload).
                if self.viewer is not None:
                    self._spawn(self._quietly(self.hold_back, self.viewer))
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
        if self._closed:
            # The session has ended. The page may still be finishing an update
            # that close() resolved ("applied"), or have input in flight: none
            # of it is an error, and none of it goes anywhere.
            return
        kind = msg["t"]
        viewer = self.viewer
        if kind == "hello":
            raise PageProtocolError("hello twice")
        if kind == "applied":
            if self._stale:
                self._stale -= 1  # an update of the connection before: gone with it
                return
            if not self._waiting:
                raise PageProtocolError("applied, but no update is waiting")
            _answer(self._waiting.popleft(), (msg["w"], msg["h"]) if msg["ok"] else None)
            return
        if kind == "file_answer":
            if self.files is not None:
                self.files.answer(msg["id"], msg["accept"])
            row = self._rows.get(f"in{msg['id']}")
            if row is not None:
                row["answered"] = "accepted" if msg["accept"] else "declined"
            return
        if kind == "chat":
            self._spawn(self._say_in_turn(viewer, msg["text"]))  # held until joined
            return
        if kind == "kept":
            self._on_kept(msg)
            return
        if kind == "file_cancel":
            self._cancel_upload(msg["id"])
            return
        if viewer is None:
            return  # still connecting: nothing to forward to yet
        if kind == "download_cancel":
            # The agent's Cancel on a host's file being received (rstop36):
            # its FileRefused (STOPPED_HERE) ends the row, with the amounts.
            transfer = None if self.files is None else self.files.transfer_of(msg["id"])
            if transfer is not None:
                self._spawn(self._quietly(viewer.stop_receiving, transfer))
            return
        if kind == "clip":
            # Awaited here, before the page's next message: the V key that
            # follows it reaches the host after the text (web/clip.py).
            await clip_from_page(viewer, msg["text"], self.held_back, self.send)
            return
        if kind in ("move", "button", "wheel", "key"):
            if CONTROL not in viewer.level or self.held_back:
                self.input_dropped += 1
                return
            await self._quietly(self._input, viewer, msg)
        elif kind == "keyframe":
            await self._quietly(viewer.request_keyframe)
        elif kind == "control":
            if not msg["want"]:
                await self._quietly(self.hold_back, viewer)
            elif CONTROL not in viewer.level and not self.unavailable:
                self._spawn(self.ask_control(viewer))
        elif kind == "monitor":
            await self._quietly(viewer.select_monitor, msg["index"])
        elif kind == "file_offer":
            assert self.files is not None
            self.files.offer(msg)
            self._upload_names[msg["id"]] = msg["name"]
            while len(self._upload_names) > HISTORY:
                del self._upload_names[next(iter(self._upload_names))]
            self.send({"t": "file_progress", "id": msg["id"], "state": "uploading"})
        elif kind == "file_done":
            assert self.files is not None
            done = self.files.done(msg["id"])
            if done is not None:
                task = self._spawn(self._send_file(viewer, msg["id"], *done))
                if task is not None:
                    self._uploads.add(task)
                    task.add_done_callback(self._uploads.discard)
                    self._upload_tasks[msg["id"]] = task
                    task.add_done_callback(functools.partial(self._upload_over, msg["id"]))
        elif kind == "bye":
            self.left = True
            self._spawn(viewer.bye(VIEWER_LEFT))  # the Leave button

    def _on_kept(self, msg: dict[str, Any]) -> None:
        """The page's answer to the ask of the same number; an answer to an
        earlier one is dropped. A malformed one is refused: no picture."""
        asked = self._kept
        if asked is None or asked.done() or msg["n"] != self._kept_n:
            return
        try:
            asked.set_result(parse_kept(msg, self._kept_key))
        except PageProtocolError:
            self.protocol_errors += 1
            asked.set_result(None)
