"""The web viewer's HTTP and WebSocket server, on loopback only.

Routes (``KEY`` is :attr:`~.access.PageAccess.static_key`):

* ``GET /`` and ``GET /boot.js``: the public bootstrap. It holds nothing
  secret (it is the same file in every wheel) and is needed before the page
  can read the token from the URL's fragment, which the browser never sends.
* ``GET /s/KEY/<file>``: the page's code and style (``static/``), and
  ``GET /s/KEY/files/<n>``: a file the host sent and the agent accepted.
  A wrong key gets an empty 404, as does every other path.
* ``GET /ws``: the page's WebSocket. Its first frame must be a valid
  ``hello`` carrying the token (or the tab's resume key) within a few seconds;
  otherwise the socket is closed without a single byte sent to it (but the
  close), whose code says why only to a page that presented a right key
  while it cannot be admitted (:attr:`.access.PageAccess.refusal`), and
  ``on_refused`` is told that code and whether a page holds the session
  (the terminal says so: web/run.py; review39c: USED comes either way).

Every response carries a strict Content-Security-Policy (scripts, the
page's decoding worker and styles from this origin only, no inline code, no
framing), ``no-store`` and
``nosniff``. Requests whose Host header is not this loopback address are
refused (a DNS-rebinding page cannot reach us under another name), and the
WebSocket also requires this origin.

Runs on one event loop; the server owns its :class:`PageAccess`.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from screencodec.transport.aio import wait_for
from screencodec.transport.channel.framing import stop_listening
from screencodec.web.access import PageAccess
from screencodec.web.schema import MAX_TEXT_FRAME, PageProtocolError, parse_page_message

__all__ = ["STATIC_DIR", "PageHandler", "WebServer", "page_messages"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_PUBLIC = {"/": "index.html", "/boot.js": "boot.js"}
_HELLO_TIMEOUT = 5.0
#: How long a page may take to answer our close, and the server's handlers to
#: end after it: a browser that hangs must not hold the agent's exit (aiohttp
#: waits 10 s and 60 s by default).
_CLOSE_TIMEOUT = 2.0
#: Page -> server binary frames are file data: 4-byte id + 256 KiB (aiohttp refuses at the limit).
_MAX_PAGE_FRAME = 512 * 1024
_TYPES = {
    ".js": "text/javascript", ".css": "text/css", ".html": "text/html",
    ".wasm": "application/wasm",
}  # fmt: skip

#: Called with an admitted socket and its validated hello; returns when the page is gone.
PageHandler = Callable[[web.WebSocketResponse, dict[str, Any]], Awaitable[None]]


def _csp(port: int) -> str:
    # 'wasm-unsafe-eval' lets the page compile WebAssembly (its BLAKE2b for
    # the kept picture's digest, static/decoder/kept.js), not run eval().
    return (
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
        "style-src 'self'; "
        "img-src 'self' blob: data:; "
        f"connect-src 'self' ws://127.0.0.1:{port}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


class WebServer:
    """Serves the page and admits one page socket at a time.

    ``files``: received files the page may download, by number (the bridge
    fills it). ``url`` is known after :meth:`start`.
    """

    def __init__(
        self, on_page: PageHandler, *, port: int = 0, access: PageAccess | None = None,
        on_refused: Callable[[int, bool], None] | None = None,
    ) -> None:  # fmt: skip
        self.access = access or PageAccess()
        self.files: dict[int, Path] = {}
        #: the numbers of the files a page asked for (their Save link): what
        #: the agent may have kept of a temporary folder (walk42)
        self.fetched: set[int] = set()
        #: set once a browser asked for the page itself (``/``): a browser
        #: opened the link, even if its page has not connected yet
        #: (web.run.page_opened says no "no page has opened yet" then)
        self.page_asked = asyncio.Event()
        self._on_page = on_page
        self._on_refused = on_refused
        self._port = port
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/#k={self.access.token}"

    async def start(self) -> str:
        app = web.Application(middlewares=[self._guard], client_max_size=1024)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/s/{key}/files/{n}", self._file)
        app.router.add_get("/s/{key}/{path:.+}", self._static)
        for route in _PUBLIC:
            app.router.add_get(route, self._public)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=_CLOSE_TIMEOUT
        )
        await self._runner.setup()
        # Loopback only, never a wildcard: the page is for this machine's user.
        # SO_REUSEADDR on POSIX (asyncio's default there): the last session's
        # connections, which this side closed, linger in TIME_WAIT on a fixed
        # --web-port for a minute and would refuse the next session; a port
        # that something listens on is still refused. Never on Windows, where
        # it would let us take a port in use.
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=os.name == "posix")
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self.url

    async def close(self) -> None:
        try:
            await asyncio.gather(*(_close_quietly(ws) for ws in list(self._sockets)))
        finally:
            # Also when cancelled while a page answers the close: the port
            # must not stay open behind a run that is gone.
            runner, self._runner = self._runner, None
            if runner is not None:
                try:
                    # Not aiohttp's bare Server.close() first: on 3.11 a
                    # connection the loop accepted just before it is left open
                    # (framing.stop_listening); wrapped, cleanup closes it.
                    for site in runner.sites:
                        if site._server is not None:
                            await stop_listening(site._server)  # type: ignore[arg-type]
                finally:
                    await runner.cleanup()

    # -- HTTP ---------------------------------------------------------------

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            raise web.HTTPNotFound()
        resp = await handler(request)
        resp.headers["Content-Security-Policy"] = _csp(self.port)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return resp

    async def _public(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/":
            self.page_asked.set()
        return _serve(STATIC_DIR / _PUBLIC[request.path])

    async def _static(self, request: web.Request) -> web.StreamResponse:
        if not self.access.static_ok(request.match_info["key"]):
            raise web.HTTPNotFound()
        path = (STATIC_DIR / request.match_info["path"]).resolve()
        if STATIC_DIR not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        return _serve(path)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if not self.access.static_ok(request.match_info["key"]):
            raise web.HTTPNotFound()
        n = request.match_info["n"]
        path = self.files.get(int(n)) if n.isdigit() and len(n) < 10 else None
        if path is None or not path.is_file():
            raise web.HTTPNotFound()
        self.fetched.add(int(n))
        resp = web.FileResponse(path)
        resp.content_type = "application/octet-stream"
        ascii_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in path.name)
        resp.headers["Content-Disposition"] = f'attachment; filename="{ascii_name}"'
        return resp

    # -- WebSocket ------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        if origin not in (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"):
            raise web.HTTPNotFound()
        ws = web.WebSocketResponse(
            compress=False, max_msg_size=_MAX_PAGE_FRAME, heartbeat=None, timeout=_CLOSE_TIMEOUT
        )
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            hello = await self._hello(ws)
            if hello is None:
                return ws
            try:
                await self._on_page(ws, hello)
            finally:
                self.access.release()
        finally:
            self._sockets.discard(ws)
            if not ws.closed:
                await ws.close()
        return ws

    async def _hello(self, ws: web.WebSocketResponse) -> dict[str, Any] | None:
        """The first frame, validated and admitted, or None (the socket is
        then closed by the caller without anything sent)."""
        try:
            msg = await wait_for(ws.receive(), _HELLO_TIMEOUT)
        except asyncio.TimeoutError:
            self.access.refused += 1
            return None
        if msg.type != WSMsgType.TEXT or len(msg.data) > MAX_TEXT_FRAME:
            self.access.refused += 1
            return None
        try:
            hello = parse_page_message(msg.data)
        except PageProtocolError:
            self.access.refused += 1
            return None
        if hello["t"] != "hello":
            self.access.refused += 1
            return None
        resume = self.access.admit(hello["key"])
        if resume is None:
            refusal = self.access.refusal
            if refusal is not None:  # a second tab: the page says why
                if self._on_refused is not None:
                    self._on_refused(refusal, self.access.live)
                await _close_quietly(ws, refusal)
            return None
        hello["resume"] = resume
        return hello


async def page_messages(ws: web.WebSocketResponse, stop: asyncio.Event) -> AsyncIterator[WSMessage]:
    """The page's messages until its socket ends or ``stop`` is set; the
    socket is then closed here, in order.

    In order means by the task that reads: aiohttp's ``close()``, called while
    another task waits in ``receive()``, sends its close frame and shuts the
    connection at once. What the page still sends (a file it copies, ahead of
    its close answer) then meets a closed socket, the kernel answers with a
    reset, and the browser, meeting the reset on its next write, drops what
    it had not read yet: the session's last messages. Closed from here,
    aiohttp reads on (discarding) until the page's answer, for at most
    ``_CLOSE_TIMEOUT``."""
    messages = aiter(ws)
    stopped = asyncio.ensure_future(stop.wait())
    received: asyncio.Future[WSMessage] | None = None
    try:
        while True:
            received = asyncio.ensure_future(anext(messages))
            await asyncio.wait({received, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not received.done():
                # Cancelling a wait in receive() takes nothing from the socket.
                received.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await received
                await _close_quietly(ws)
                return
            try:
                msg = received.result()
            except StopAsyncIteration:
                return
            yield msg
    finally:
        stopped.cancel()
        if received is not None and not received.done():
            received.cancel()  # its reader was cancelled while it waited


async def _close_quietly(ws: web.WebSocketResponse, code: int = WSCloseCode.OK) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code=code)


def _serve(path: Path) -> web.StreamResponse:
    ctype = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    ctype = ctype or "application/octet-stream"
    return web.Response(body=path.read_bytes(), content_type=ctype)
