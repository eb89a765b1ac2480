"""The web bridge's state, and its one way to the page (:mod:`screencodec.web.bridge`).

:class:`BridgeBase` holds what the bridge between a viewer and its page
keeps (the page's queue, the updates it owes an answer for, its replayed
state, chat lines and file rows, keys and buttons pressed, uploads) and
sends the page its JSON messages, remembering those a reloaded page is
shown again. The layers above it (chat, control, uploads, the page's
socket, :class:`~screencodec.web.bridge.WebBridge`) each add one side.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from screencodec.errors import SessionClosedError
from screencodec.transport.session.events import FileCut
from screencodec.transport.session.kept import KeptPicture
from screencodec.transport.session.permissions import VIEW
from screencodec.transport.session.refusal import Refusal
from screencodec.transport.session.sidechannels import FileSender
from screencodec.transport.session.viewer import Viewer
from screencodec.web.files import PageFiles
from screencodec.web.schema import dumps, fit

__all__ = ["ASK_TIMEOUT", "HISTORY", "BridgeBase"]

_TEXT_MAX = 1000  # peer strings are cut to this (UTF-16 units, schema.fit) for the page
#: A replayed log: each message with its place in the page's chat log.
_Log = collections.deque[tuple[int, dict[str, Any]]]
_STATUS_MAX = 200  # the page's status line (schema.js)
_REPLAYED = ("status", "level", "monitors", "stats", "banner", "ignored")
#: Chat lines, the host's notices (in the page's chat log between them), and
#: file rows, replayed to a reloaded page (each the latest this many).
HISTORY = 100
#: How long the page's request for CONTROL waits for the host's answer (the
#: default of ``WebBridge.ask_timeout``).
ASK_TIMEOUT = 60.0


class BridgeBase:
    """The state of one agent's page and one viewer (:class:`~screencodec.web.bridge.WebBridge`
    says what each public attribute is), and the page's messages out."""

    def __init__(self, who: str = "support", ask_timeout: float = ASK_TIMEOUT) -> None:
        self.who = who
        self.ask_timeout = ask_timeout
        self.viewer: Viewer | None = None
        self.hello: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.page_seen = asyncio.Event()
        self.page_gone = asyncio.Event()
        self.page_gone.set()
        #: Set by :meth:`close`: the page's socket is closed in order (page_messages).
        self._ending = asyncio.Event()
        self.files: PageFiles | None = None
        self.input_dropped = 0
        self.protocol_errors = 0
        self._out: asyncio.Queue[str | bytes] | None = None
        self._waiting: collections.deque[asyncio.Future[tuple[int, int] | None]] = (
            collections.deque()
        )
        #: Answers the page still owes for updates of a previous connection
        #: (:meth:`new_connection`): dropped when they come.
        self._stale = 0
        self._state: dict[str, dict[str, Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: The uploads being offered or sent (:meth:`uploads_over`).
        self._uploads: set[asyncio.Task[Any]] = set()
        #: The same by the page's id (its Cancel: :meth:`_cancel_upload`),
        #: the ids the agent cancelled whose task has not ended yet, and
        #: those under way when cancelled, whose FileCut gives the amounts.
        self._upload_tasks: dict[int, asyncio.Task[Any]] = {}
        self._cancelling: set[int] = set()
        self._stopped_sending: set[int] = set()
        #: The agent left: the page's Leave, or where the view runs
        #: (WebViewer.leave: Ctrl-C, SIGTERM, SIGHUP). Its uploads cut short
        #: are "cancelled", not "failed".
        self.left = False
        #: The signal that stopped the viewer program ("SIGTERM", "SIGHUP":
        #: WebViewer.leave), else None: the rows it cut short say the
        #: program was stopped, not "you left the session" (page51).
        self.stopped_by: str | None = None
        self._closed = False  # the session is over: the page's words go nowhere
        self.held_back = False
        #: Called with the viewer's refusal when a request for CONTROL was
        #: refused (None: the host did not answer within ask_timeout); not
        #: when granted (the grant is a message) or when the session ended.
        self.on_refused: Callable[[Refusal | None], None] | None = None
        #: Called with each file from the host saved where it stays (``view
        #: --web --download-dir``): its path and size (walk43: the page
        #: said "received" and the terminal nothing of where it was).
        self.on_saved: Callable[[Path, int], None] | None = None
        self.unavailable = ""
        # What this bridge pressed on the host and has not released (keysym -> None,
        # in order), so that giving control back never leaves a key down there.
        self._keys_down: dict[int, None] = {}
        self._buttons_down: dict[int, None] = {}
        # The chat log's lines and the host's notices, each bounded on its
        # own (a notice the host repeats must not push the chat out), each
        # with its place in the log (:meth:`logged`).
        self._chat: _Log = collections.deque(maxlen=HISTORY)
        self._notices: _Log = collections.deque(maxlen=HISTORY)
        self._logged = 0
        self._rows: dict[str, dict[str, Any]] = {}  # file rows by the page's row key
        self._upload_names: dict[int, str] = {}
        #: The link to the host is lost and not taken up again yet (reconnecting).
        self.link_down = False
        #: The agent's chat lines not sent yet (typed while the link was down,
        #: or before the session was joined), in order; each is the page's
        #: line (its "id", and "state" "held" or "waiting").
        self._held: list[dict[str, Any]] = []
        self._chat_ids = 0
        #: The agent's lines sent and not settled yet, by the viewer's id of
        #: the line (its ChatDelivery): the page's line, marked "sent" until
        #: "delivered", "unconfirmed" or "undelivered" (a host of an older version leaves it
        #: "sent"; the oldest go past :data:`HISTORY`).
        self._sent: dict[int, dict[str, Any]] = {}
        self._flushing = False
        #: The page's chat lines go one at a time, in order, each in a task
        #: (:meth:`_say_in_turn`).
        self._saying = asyncio.Lock()
        #: Uploads whose offer met a closed channel before it was known
        #: whether the link was lost or the session ended (id -> None).
        self._unsettled: dict[int, None] = {}
        #: Uploads offered (the viewer's sender and its number for the
        #: transfer -> page id), until their FileCut comes or their send
        #: ends otherwise: what ties a FileCut to its row, never the file's
        #: name (files36: two uploads of one name were confused; a viewer
        #: after a lost link numbers its transfers from 1 again); the cuts
        #: (page id -> FileCut), what their ended rows say
        #: (:meth:`_upload_ended`); the ids whose ended row was sent (a
        #: FileCut that comes after it sends it again).
        self._streaming: dict[tuple[FileSender, int], int] = {}
        self._cuts: dict[int, FileCut] = {}
        self._told_ended: set[int] = set()
        self._settled = False  # the session is over: settle() said so
        self._heard = 0.0  # loop time of the host's last word
        self._alive_at = 0.0  # loop time of the last "alive" to the page
        self._silence: asyncio.Task[None] | None = None
        #: The page's digest of its picture (ask_kept): the ask's number, key,
        #: deadline (loop time), the page connection asked, and the answer.
        self._kept_n = 0
        self._kept_key = b""
        self._kept_by = 0.0
        self._kept_out: asyncio.Queue[str | bytes] | None = None
        self._kept: asyncio.Future[KeptPicture | None] | None = None

    def send(self, obj: dict[str, Any]) -> None:
        """Queue a JSON message to the page (remembered for replay if it is
        state, a chat line or a file row)."""
        kind = obj["t"]
        if kind in _REPLAYED:
            self._state[kind] = obj
        elif kind == "chat":
            self._add_logged(self._chat, obj)
        elif kind == "notice":
            # page46: a reload lost the notices its chat log showed among the lines.
            self._add_logged(self._notices, obj)
        elif kind == "file_progress":
            name = fit(self._upload_names.get(obj["id"], ""), 255)
            self._row(f"out{obj['id']}", {**obj, "name": name})
        elif kind == "file_offer":
            self._row(f"in{obj['id']}", obj)
        elif kind == "file_received":
            self._row(f"got{obj['id']}", obj)
        elif kind == "file_failed":
            self._row(f"in{obj['offer']}" if "offer" in obj else f"lost{obj['id']}", obj)
        self._to_page(obj)

    def _add_logged(self, log: _Log, obj: dict[str, Any]) -> None:
        self._logged += 1
        log.append((self._logged, obj))

    def logged(self) -> list[dict[str, Any]]:
        """The chat log to replay: the last :data:`HISTORY` chat lines and
        the last :data:`HISTORY` notices, in the order they were said (each
        line as its latest state: the same dict); a notice marked replayed
        (the page's chat log only: its bar is about now)."""
        merged = heapq.merge(self._chat, self._notices, key=lambda said: said[0])
        return [{**obj, "replayed": True} if obj["t"] == "notice" else obj for _, obj in merged]

    def _to_page(self, obj: dict[str, Any]) -> None:
        if self._out is not None:
            self._out.put_nowait(dumps(obj))

    def _row(self, key: str, obj: dict[str, Any]) -> None:
        self._rows.pop(key, None)  # the latest state of a row moves it last
        self._rows[key] = obj
        while len(self._rows) > HISTORY:
            del self._rows[next(iter(self._rows))]

    def status(self, text: str) -> None:
        # Within the page's bound (schema.js): a relay's long words would
        # otherwise close the page.
        self.send({"t": "status", "text": fit(text, _STATUS_MAX)})

    def banner(self, kind: str, text: str) -> None:
        self.send({"t": "banner", "kind": kind, "text": fit(text, _TEXT_MAX)})

    def forget_waiting(self) -> None:
        """Answer every update still waiting for the page as not applied
        (the page that had them is gone, or the session is)."""
        while self._waiting:
            _answer(self._waiting.popleft(), None)

    @property
    def joined(self) -> bool:
        """The host granted the session on the current viewer (VIEW at least)."""
        return self.viewer is not None and VIEW in self.viewer.level

    @staticmethod
    async def _quietly(fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """``await fn(*args)``, a session already closed ignored. The coroutine
        is made here, inside the task: a spawned call cancelled before it
        starts then leaves no coroutine that was never awaited."""
        with contextlib.suppress(SessionClosedError):
            await fn(*args)

    def _spawn(self, coro: Any) -> asyncio.Task[Any] | None:
        if self._closed:
            coro.close()  # never started: nothing of the session is left to call
            return None
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _answer(fut: asyncio.Future[tuple[int, int] | None], size: tuple[int, int] | None) -> None:
    """Resolve an update's future, unless its viewer stopped waiting for it:
    a session that ends cancels its wait (Viewer.run), and the page may still
    answer for that update afterwards, or a tab come back with it unanswered."""
    if not fut.done():
        fut.set_result(size)
