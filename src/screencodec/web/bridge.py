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
replayed to it, and the last :data:`HISTORY` chat lines and file rows.

A lost link (web/run.py reconnects): :meth:`WebBridge.reconnecting` and
:meth:`WebBridge.resumed` mark the time between. Chat lines the agent types
then (or whose send met the closed channel) are held and sent once the
session is taken up again, the page told which ("held", then sent, or
"lost" when the session ended instead: :meth:`WebBridge.settle`); a file is
not offered over a link that is down, its row says so, not that the
session ended. Input goes only as far as the viewer sends it: what it
withholds (blind after a resume, docs/api.md) is not counted as pressed.

The picture the page kept (docs/web.md): when the link is lost and the host
offered to go on from a kept picture (``Viewer.host_keeps``),
:meth:`WebBridge.ask_kept` asks the page for the digest of the picture its
decoder holds, under a random key chosen here (``kept``, answered with
``kept``), while the run reconnects: the picture does not change until the
resumed session's first update. :meth:`WebBridge.kept_picture` gives it to
the resumed Viewer, or None (the host then sends a keyframe, as before): no
answer within :data:`KEPT_TIMEOUT` of the ask, a page with no picture to go
on from, a malformed answer (counted in ``protocol_errors``; the page stays),
or a page that went or was reloaded since it answered.

A silent link (no reset: Wi-Fi gone, a NAT dropped): the viewer's sealed
channel asks the host for an answer after 2 s without a byte from it (a
probe, transport/channel/sealed.py), so a live host is heard from at least
every 2 s and a round trip, however still its screen. After
:data:`PROBED_SILENT_AFTER` seconds without a byte the page's status says
so, instead of "Connected" beside a picture that may be frozen, and
"Connected" again as soon as anything arrives. A host of an earlier version
answers no probe (nor a channel that cannot tell, the in-memory one): its
Stats come at least every 10 s, so the page waits :data:`SILENT_AFTER`
seconds. The channel's idle limit (45 s) then ends the link and the run
reconnects.

Chat typed before the session is joined (the host's user not asked yet, or
not answered) waits, marked "waiting", and is sent in order once the host
grants the session; it is "lost" if the session never starts.

Control given back: the agent may give control back (``control``, ``want:
false``), and the page going away does it too. The bridge releases every key
and button it pressed on the host, forwards no more input, and gives CONTROL
back to the host (``Viewer.release``), whose user sees it taken back. "Request
control" then asks the host's user again.

Owned by one event loop; one page socket at a time (the server enforces it).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import (
    DELIVERED,
    NOT_CONFIRMED,
    NOT_DELIVERED,
    ChatBacklogError,
    ChatLedger,
)
from screencodec.transport.session.events import (
    CUT_LOST,
    ChatDelivery,
    ClipboardReceived,
    ClipboardRefused,
    FileCut,
    FileReceived,
    FileRefused,
    SessionEnded,
)
from screencodec.transport.session.kept import KEY_SIZE, KeptPicture
from screencodec.transport.session.permissions import CONTROL, VIEW, Permission
from screencodec.transport.session.refusal import Refusal
from screencodec.transport.session.sidechannels import (
    BEFORE_AN_ANSWER,
    NOT_READ,
    REFUSED_UNASKED,
    STOPPED_HERE,
    STOPPED_THERE_WHY,
    USER_SAID_NO,
    WITHDRAWN_OTHER,
    WITHDRAWN_STOPPED,
    FileSender,
)
from screencodec.transport.session.viewer import Viewer
from screencodec.web.clip import clip_from_page, clip_to_page
from screencodec.web.files import PageFiles
from screencodec.web.schema import (
    PageProtocolError,
    dumps,
    fit,
    parse_kept,
    parse_page_message,
)
from screencodec.web.server import WebServer, page_messages

__all__ = ["ALIVE_EVERY", "ASK_TIMEOUT", "HISTORY", "KEPT_TIMEOUT", "LINK_DOWN", "PAGE_MAX_PIXELS",
           "PROBED_SILENT_AFTER", "SILENT_AFTER", "UNANSWERED", "USER_DID_NOT_ACCEPT", "WebBridge",
           "capabilities_from"]  # fmt: skip

_TEXT_MAX = 1000  # peer strings are cut to this (UTF-16 units, schema.fit) for the page
_MAX_MONITOR = 64  # the highest monitor index the page shows and asks for (schema.js)
_MAX_FPS = 1e6  # the page's bound on a frame rate (schema.js)
_REPLAYED = ("status", "level", "monitors", "stats", "banner")
#: The page's state of the agent's line, by its ChatDelivery's ("sent" else).
_PAGE_STATES = {DELIVERED: "delivered", NOT_CONFIRMED: "unconfirmed", NOT_DELIVERED: "undelivered"}
#: The largest picture the page's decoder takes (static/worker/main.js,
#: ``maxPixels``; the Viewer's DEFAULT_MAX_PIXELS: an 8K screen, three 4K
#: side by side): it would refuse a bigger one every time, so the bridge's
#: viewer ends the session on one instead.
PAGE_MAX_PIXELS = 48_000_000
#: Chat lines, and file rows, replayed to a reloaded page (each the latest this many).
HISTORY = 100
#: The page's notice when the host's user did not grant CONTROL: a no and an
#: unanswered question are one answer on the wire (walk43: "declined", of a
#: question the user never answered).
USER_DID_NOT_ACCEPT = ("The user did not accept remote control (they said no, or did not"
                       " answer in time).")  # fmt: skip
#: Seconds without a word from the host after which the page is told the
#: link is silent: a live host sends its Stats at least every 10 s
#: (transport/session/stats.py REFRESH_PERIODS of its 1 s stats_period).
SILENT_AFTER = 12.0
#: The same over a channel whose host answers probes (it is heard from
#: within a round trip of 2 s of silence: Timeouts.probe): a round trip of
#: up to a second is not taken for silence.
PROBED_SILENT_AFTER = 3.0
#: How often the silence is looked at (the page is told within this of it).
_SILENCE_CHECK = 0.25
#: While the page shows "Connected" (or the host's silence), the bridge says
#: it runs this often: a page that hears nothing from it for 3.5 s says the
#: viewer program is silent (walk40: a view stopped 20 s left the page saying
#: "Connected" over a still picture; the host had taken the link for lost).
ALIVE_EVERY = 1.0
#: Why a file the agent sends while the link is down is not offered.
LINK_LOST = "the connection to the user's computer was lost"
LINK_DOWN = f"not sent: {LINK_LOST}; send it again once reconnected"
#: Why a host's file question the agent had not answered ends (its row):
#: the link was lost (the host asks again, if at all, after the resume),
#: or the session ended.
UNANSWERED_LOST = f"{LINK_LOST} before you answered; the user may send it again"
UNANSWERED_ENDED = "the session ended before you answered"
#: Why an upload the session's end cut short went no further (its row, state
#: "failed"), and, when the agent left (the page's Leave; Ctrl-C, SIGTERM or
#: SIGHUP where the view runs), state "cancelled": walk34 read "failed: the
#: session ended" after its own Leave.
UPLOAD_ENDED = "the session ended"
UPLOAD_LEFT = "you left the session before it was all sent"
#: An offer's row while the host that said this session it takes no files
#: answers (files41: it said "waiting for the user", nobody there asked).
TAKES_NONE = "the host said this session that it takes no files"
UPLOAD_LEFT_UNANSWERED = "you left the session before the user answered"
#: Why an upload the agent cancelled on its row (cancel36) went no further
#: (state "cancelled"): still copied by the page, asked about at the host,
#: under way (with how much of it had arrived: its FileCut).
UPLOAD_CANCELLED = "you stopped it before it was sent"
UPLOAD_WITHDRAWN = "you withdrew it before the user answered"
UPLOAD_STOPPED = "you stopped sending it"
#: Why an upload the page was still copying when its socket closed went no
#: further (state "failed"): that page had the file, the reloaded one has not.
UPLOAD_PAGE_GONE = ("not sent: the page was reloaded or closed before it was all copied;"
                    " send it again")
#: How long :meth:`WebBridge.shut` waits for the page: the page's close answer is
#: bounded by the server's close timeout (2 s), this only by a stalled loop.
_PAGE_CLOSE_WAIT = 5.0
#: The page's status while the session is joined and the host is heard from.
CONNECTED = "Connected"
_SILENT = "No word from the user's computer"


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
                          | m.Capabilities.COMPACT | m.Capabilities.COMPACT_RECTS,
                          cache)  # compact: expanded by the Viewer


#: How long after the link was lost the resumed viewer waits for the page's
#: digest of its picture (asked at once: it is usually there long before the
#: new connection is: the page hashes a 1080p picture in 33-170 ms with its
#: WebAssembly BLAKE2b, 0.4-0.9 s with the blakejs fallback; docs/web.md).
KEPT_TIMEOUT = 3.0

#: How long the page's request for CONTROL waits for the host's answer (the
#: default of ``WebBridge.ask_timeout``).
ASK_TIMEOUT = 60.0
#: What the page is told when the host did not answer a request for CONTROL.
UNANSWERED = "The host did not answer the request for remote control."


class WebBridge:
    """One agent's page and one viewer. ``hello`` resolves with the first
    page's hello; ``page_seen`` is set while a page is connected.

    Counters: ``input_dropped`` (input without CONTROL, or while it is held
    back), ``protocol_errors``. ``held_back``: the agent gave control back, or
    the page went away, and the host has not taken it yet; ``unavailable``: the
    host's reason why it cannot grant CONTROL in this session ("" if none).
    ``ask_timeout``: how long a request for CONTROL waits for the host's
    answer before the page and :attr:`on_refused` are told it did not come.
    """

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
        self._chat: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
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

    def attach(self, viewer: Viewer) -> None:
        """Start bridging ``viewer`` (before its ``start``)."""
        self.viewer = viewer
        viewer.on_message = self._from_host
        if self.files is not None:
            self.files.timeout = viewer.files.timeout  # its questions close first
        self._spawn(self._events(viewer))
        self._heard = asyncio.get_running_loop().time()
        if self._silence is None and not self._closed:
            self._silence = asyncio.ensure_future(self._watch_silence())
            self._tasks.add(self._silence)

    def make_files(self, served: dict[int, Path]) -> PageFiles:
        self.files = PageFiles(self.send, served)
        return self.files

    # -- to the page -----------------------------------------------------------------

    def send(self, obj: dict[str, Any]) -> None:
        """Queue a JSON message to the page (remembered for replay if it is
        state, a chat line or a file row)."""
        kind = obj["t"]
        if kind in _REPLAYED:
            self._state[kind] = obj
        elif kind == "chat":
            self._chat.append(obj)
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

    def _to_page(self, obj: dict[str, Any]) -> None:
        if self._out is not None:
            self._out.put_nowait(dumps(obj))

    def _row(self, key: str, obj: dict[str, Any]) -> None:
        self._rows.pop(key, None)  # the latest state of a row moves it last
        self._rows[key] = obj
        while len(self._rows) > HISTORY:
            del self._rows[next(iter(self._rows))]

    def send_level(self, *, reconnecting: bool = False) -> None:
        """Tell the page the level it can use: the host's grant, without
        CONTROL while it is held back or the link is down (``reconnecting``:
        the page shows no control and lets go of its keys until the session
        is taken up again), and why CONTROL cannot be had, if so. The first
        grant (web/run.py tells it once the session is joined) sends the
        chat lines typed before it."""
        self._start_flush()
        level = self.viewer.level if self.viewer is not None else Permission()
        control = CONTROL in level and not self.held_back and not reconnecting
        if control and self._state.get("banner", {}).get("kind") == "revoked":
            # Control came again: "you can only watch now" is not replayed
            # to a reloaded page (the page takes its banner down itself).
            del self._state["banner"]
        self.send({"t": "level", "view": VIEW in level, "control": control,
                   "unavailable": self.unavailable})  # fmt: skip

    def status(self, text: str) -> None:
        self.send({"t": "status", "text": text})

    def banner(self, kind: str, text: str) -> None:
        self.send({"t": "banner", "kind": kind, "text": fit(text, _TEXT_MAX)})

    def update(self, data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
        loop = asyncio.get_running_loop()
        self._heard = loop.time()
        fut: asyncio.Future[tuple[int, int] | None] = loop.create_future()
        self._waiting.append(fut)
        if self._out is not None:
            self._out.put_nowait(data)
        return fut

    def forget_waiting(self) -> None:
        """Answer every update still waiting for the page as not applied
        (the page that had them is gone, or the session is)."""
        while self._waiting:
            _answer(self._waiting.popleft(), None)

    def new_connection(self) -> None:
        """The session goes on over a new connection (a lost link resumed):
        the updates the page has not answered yet belonged to the old one.
        They count as not applied now, and the page's answers to them are
        dropped when they come, not taken for the new connection's."""
        self._stale += len(self._waiting)
        self.forget_waiting()

    def cursor(self, data: bytes, /) -> None:
        self._heard = asyncio.get_running_loop().time()
        if self._out is not None:
            self._out.put_nowait(data)

    # -- a lost link and the session's end --------------------------------------------

    def reconnecting(self) -> None:
        """The link to the host was lost and the run reconnects: the page
        shows no control (it lets go of its keys) until :meth:`resumed`;
        an upload that met the closed channel is told it was not sent."""
        self.link_down = True
        self.new_connection()
        self.send_level(reconnecting=True)
        for tid in list(self._unsettled):
            self._upload_failed(tid, LINK_DOWN)

    def resumed(self) -> None:
        """The session goes on over the new connection (joined): the chat
        lines held meanwhile are sent, in order."""
        self.link_down = False
        self._heard = asyncio.get_running_loop().time()
        self._start_flush()

    def ask_kept(self) -> None:
        """Ask the page for the digest of the picture it holds, under a new
        random key (the link is lost: see :meth:`kept_picture`)."""
        self._drop_kept()
        loop = asyncio.get_running_loop()
        self._kept = loop.create_future()
        if self._out is None or self._closed:
            self._kept.set_result(None)
            return
        self._kept_n = self._kept_n % 0xFFFFFFFF + 1
        self._kept_key = secrets.token_bytes(KEY_SIZE)
        self._kept_by = loop.time() + KEPT_TIMEOUT
        self._kept_out = self._out
        self._to_page({"t": "kept", "n": self._kept_n, "key": self._kept_key.hex()})

    async def kept_picture(self) -> KeptPicture | None:
        """The page's answer to :meth:`ask_kept`, waited for until
        :data:`KEPT_TIMEOUT` after the ask; None if it did not come, said no
        picture, was malformed, or the page went or was reloaded since."""
        asked = self._kept
        if asked is None:
            return None
        remaining = self._kept_by - asyncio.get_running_loop().time()
        with contextlib.suppress(asyncio.TimeoutError):
            await wait_for(asyncio.shield(asked), max(remaining, 0.0))
        kept = asked.result() if asked.done() else None
        if self._out is not self._kept_out:
            kept = None  # not the page that answered: its decoder has no such picture
        self._drop_kept()
        return kept

    def _drop_kept(self) -> None:
        if self._kept is not None and not self._kept.done():
            self._kept.set_result(None)
        self._kept = None
        self._kept_out = None

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

    def settle(self, *, left: bool = False) -> None:
        """The session is over (it ended, or could not be taken up again;
        ``left``: the agent left it): held chat lines and unsettled uploads
        are told never sent, uploads "cancelled" when the agent left.
        Idempotent: the first call says why."""
        if self._settled:
            return
        self._settled = True
        self.left = self.left or left
        chats = getattr(self.viewer, "chats", None)
        if isinstance(chats, ChatLedger):
            chats.give_up()  # kept for a resume that did not come
            for line_id, _ in chats.unconfirmed_lines:
                self._mark(line_id, "unconfirmed")
            for line_id, _ in chats.lost_lines:
                self._mark(line_id, "undelivered")
        for line in self._held:
            line["state"] = "lost"  # the replayed line too: the same dict
            self._to_page(line)
        self._held.clear()
        for tid in list(self._unsettled):
            self._upload_ended(tid)

    @property
    def joined(self) -> bool:
        """The host granted the session on the current viewer (VIEW at least)."""
        return self.viewer is not None and VIEW in self.viewer.level

    def _hold(self, text: str) -> None:
        self._chat_ids += 1
        state = ("lost" if self._settled else "held" if self.link_down or self.joined
                 else "waiting")  # fmt: skip
        line = {"t": "chat", "from": "me", "text": text, "id": self._chat_ids, "state": state}
        if not self._settled:
            self._held.append(line)
        self.send(line)

    def _start_flush(self) -> None:
        """Send the held chat lines, if the session is joined and up and no
        sending of them is under way already."""
        if self._held and self.joined and not self.link_down and not self._flushing:
            assert self.viewer is not None
            self._flushing = True  # one at a time: two would send a line twice
            self._spawn(self._flush(self.viewer))

    async def _flush(self, viewer: Viewer) -> None:
        """Send the held chat lines on ``viewer``, lines held meanwhile too;
        those left when the link is lost again wait for the next resume."""
        try:
            while self._held and not self.link_down and self.joined:
                line = self._held[0]
                try:
                    line_id = await viewer.chat(line["text"])
                except SessionClosedError:
                    return
                except ChatBacklogError:
                    line_id = None
                self._held.pop(0)
                self._sent_line(line, line_id)
        finally:
            self._flushing = False

    async def _say_in_turn(self, viewer: Viewer | None, text: str) -> None:
        """:meth:`_say`, after the lines the page sent before. Not awaited by
        the page's loop: a line may wait up to BACKLOG_WAIT for room (64 of
        the agent's lines wait for the host's confirmation), and the page's
        other messages (its input, Leave, what it applied) do not wait
        behind it."""
        async with self._saying:
            await self._say(viewer, text)

    async def _say(self, viewer: Viewer | None, text: str) -> None:
        """The agent's chat line: sent and shown as said, or held (the link
        is down, or its send met the closed channel) until :meth:`resumed`,
        or (not joined yet) until the host grants the session."""
        if self.link_down or self._held or self._settled or viewer is None or not self.joined:
            self._hold(text)
            return
        try:
            line_id: int | None = await viewer.chat(text)
        except SessionClosedError:
            self._hold(text)  # the link broke under it, or the session ended
            return
        except ChatBacklogError:
            line_id = None
        self._chat_ids += 1
        line = {"t": "chat", "from": "me", "text": text, "id": self._chat_ids}
        self._chat.append(line)  # replayed as its latest state: the same dict
        self._sent_line(line, line_id)

    def _sent_line(self, line: dict[str, Any], line_id: int | None) -> None:
        """The page's ``line`` went to the viewer as ``line_id`` ("sent",
        until its ChatDelivery), or was refused (None: too many lines wait
        for the host's confirmation)."""
        if line_id is None:
            line["state"] = "backlog"
        else:
            line["state"] = "sent"
            self._sent[line_id] = line
            while len(self._sent) > HISTORY:
                del self._sent[next(iter(self._sent))]
        self._to_page(line)

    def _mark(self, line_id: int, state: str) -> None:
        """The page's line sent as ``line_id`` is now ``state``."""
        line = self._sent.pop(line_id, None) if state != "sent" else self._sent.get(line_id)
        if line is not None and line.get("state") != state:
            line["state"] = state
            self._to_page(line)

    async def _watch_silence(self) -> None:
        """While joined and not reconnecting: the status says how long the
        host has been silent once it is :data:`PROBED_SILENT_AFTER` seconds
        (:data:`SILENT_AFTER` for a host that answers no probe), and
        "Connected" again when it is heard from."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_SILENCE_CHECK)
            shown = self._state.get("status", {}).get("text", "")
            silent = shown.startswith(_SILENT)
            if self.link_down or self.viewer is None or (shown != CONNECTED and not silent):
                continue  # connecting, asking, reconnecting, ended: said otherwise
            if loop.time() - self._alive_at >= ALIVE_EVERY:
                self._alive_at = loop.time()
                self._to_page({"t": "alive"})  # not state: nothing to replay
            channel = self.viewer.channel
            heard = max(self._heard, getattr(channel, "last_heard", self._heard))
            probed = getattr(channel, "answers_probes", False)
            after = PROBED_SILENT_AFTER if probed else SILENT_AFTER
            quiet = loop.time() - heard
            if quiet >= after:
                text = f"{_SILENT} for {quiet:.0f} s: the picture may not be live"
                if text != shown:
                    self.status(text)
            elif silent:
                self.status(CONNECTED)

    def _from_host(self, msg: m.Message) -> None:
        self._heard = asyncio.get_running_loop().time()
        if isinstance(msg, m.PermissionGrant | m.PermissionRevoke | m.PermissionDeny):
            assert self.viewer is not None
            taken = isinstance(msg, m.PermissionRevoke) and bool(msg.revoked & CONTROL.bits)
            given_back = taken and self.held_back  # the agent's own give-back
            if taken:
                # The host released what was held; asking again asks its user.
                self._keys_down.clear()
                self._buttons_down.clear()
                self.held_back = False
            self.send_level()
            # Not when VIEW went too: the session ends (Permission.taking),
            # and its end is what the page says.
            if taken and not given_back and msg.level & VIEW.bits:
                self.banner("revoked", "The user took back remote control: you can only watch now.")
        elif isinstance(msg, m.MonitorList):
            # The host's numbers within what the page's schema takes (schema.js),
            # here and in stats: the wire allows more, and the page closes on a
            # value out of its bounds.
            mons = [
                {"index": x.index, "width": x.width, "height": x.height, "primary": x.primary}
                for x in msg.monitors
                if x.index <= _MAX_MONITOR  # the page could not ask for it anyway
            ]
            self.send({"t": "monitors", "list": mons, "current": msg.current})
        elif isinstance(msg, m.Stats):
            self.send({"t": "stats", "fps": min(msg.fps_milli / 1000, _MAX_FPS),
                       "kbps": msg.kbps, "rtt": msg.rtt_us / 1000,
                       "skipped": msg.skipped})  # fmt: skip
        elif isinstance(msg, m.Notice) and msg.code == m.Notice.HOST_FAILED:
            pass  # the Bye it explains comes next: the end banner says it
        elif isinstance(msg, m.Notice) and msg.code == m.Notice.TAKES_NO_FILES:
            pass  # an upload's row says it (files41), not a notice at each join
        elif isinstance(msg, m.Notice):
            text = fit(safe_text(msg.text, _TEXT_MAX), _TEXT_MAX)
            self.send({"t": "notice", "text": text, "code": msg.code})
            if msg.code == m.Notice.CONTROL_UNAVAILABLE and text != self.unavailable:
                # For the rest of the session (docs/transport.md): the page
                # disables "Request control" and says why.
                self.unavailable = text or "the host cannot grant remote control"
                self.send_level()
        elif isinstance(msg, m.Chat):
            # The page shows it with textContent; safe_text also drops what
            # could spoof it there (bidi overrides, control characters).
            text = fit(safe_text(msg.text, _TEXT_MAX * 4), _TEXT_MAX * 4)
            self.send({"t": "chat", "from": "host", "text": text})

    async def _events(self, viewer: Viewer) -> None:
        async for ev in viewer.events():
            if isinstance(ev, ChatDelivery):
                state = _PAGE_STATES.get(ev.state, "sent")
                for line_id in range(ev.first, ev.last + 1):
                    self._mark(line_id, state)
            elif isinstance(ev, FileCut):
                self._file_cut(ev, viewer.sender)
            elif isinstance(ev, ClipboardReceived | ClipboardRefused):
                self.send(clip_to_page(ev))
            elif isinstance(ev, FileReceived) and self.files is not None:
                self.files.received(Path(ev.path), ev.size, ev.transfer)
                if self.on_saved is not None:
                    self.on_saved(Path(ev.path), ev.size)
            elif isinstance(ev, FileRefused) and self.files is not None:
                if ev.why == WITHDRAWN_STOPPED:  # the host's program stopped sending it
                    why = (f"the user stopped sending it ({amount(max(ev.received, 0))} of"
                           f" {amount(ev.size)} had come); nothing of it was kept")
                elif ev.why == WITHDRAWN_OTHER:  # /stop while the page asked (walk37:
                    why = "the user withdrew it"  # "the sender withdrew it")
                elif ev.why == STOPPED_HERE:  # the agent's Cancel (rstop36)
                    why = (f"you stopped receiving it ({amount(max(ev.received, 0))} of"
                           f" {amount(ev.size)} had come); nothing of it was kept")
                elif ev.received >= 0:
                    why = _cut_short(viewer, ev)
                else:
                    why = safe_text(ev.why, 200)
                self.files.not_saved(ev.transfer, ev.name, ev.size, why)
            elif isinstance(ev, SessionEnded) and self.files is not None:
                # After the FileRefused of the offers the host withdrew.
                self.files.session_over(UNANSWERED_LOST if viewer.link_lost
                                        else UNANSWERED_ENDED)  # fmt: skip

    # -- the page's socket -----------------------------------------------------------

    async def on_page(self, ws: web.WebSocketResponse, hello: dict[str, Any]) -> None:
        """Serve one admitted page until its socket closes (WebServer's handler)."""
        out: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._out = out
        self.page_gone.clear()
        self.page_seen.set()
        out.put_nowait(dumps({"t": "welcome", "resume": hello["resume"], "who": self.who}))
        for obj in [*self._state.values(), *self._chat, *self._rows.values()]:
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

    async def uploads_over(self, timeout: float = 2.0) -> None:
        """Once the session is over (:meth:`settle`), until each upload under
        way has said how it ended (its send fails or is answered at once on
        the closed channel), or ``timeout`` passed: :meth:`close` cancels
        what is left, and a row it cancelled kept "sending N%" for good
        (walk34, after the agent's Leave mid-file)."""
        if self._uploads:
            await asyncio.wait(set(self._uploads), timeout=timeout)
        # Those still under way are cancelled by close(): their rows say
        # now that the session's end cut them (cancel36: they kept their
        # last state, "sending N%", for good), before the page is drained.
        for tid, task in list(self._upload_tasks.items()):
            if not task.done() and tid not in self._told_ended:
                self._upload_ended(tid)

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

    async def shut(self, server: WebServer) -> None:
        """:meth:`close`, then ``server``'s close once the page's socket has
        closed in order (the page answered our close, or its timeout passed):
        the server's own close would cut it short (:func:`page_messages`).
        The server is closed also when this is cancelled."""
        self.close()
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self.page_gone.wait(), _PAGE_CLOSE_WAIT)
        finally:
            await server.close()

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
            self._spawn(viewer.bye("the agent left the session"))  # the Leave button

    async def _input(self, viewer: Viewer, msg: dict[str, Any]) -> None:
        kind = msg["t"]
        if kind == "move":
            await viewer.pointer_move(msg["x"], msg["y"])
        elif kind == "button":
            b = msg["b"]
            await self._press(self._buttons_down, b, msg["down"], viewer.button(b, msg["down"]))
        elif kind == "wheel":
            await viewer.wheel(msg["dx"], msg["dy"])
        else:
            keysym = msg["keysym"]
            sent = viewer.key(keysym, msg["down"], msg["text"])
            await self._press(self._keys_down, keysym, msg["down"], sent)

    async def _press(self, down: dict[int, None], what: int, pressed: bool,
                     sending: Awaitable[bool]) -> None:  # fmt: skip
        """A key or button going down or up on the host: tracked before it is
        sent (a give-back meanwhile releases it), and as it was if the viewer
        withheld it (False: blind after a resume, docs/api.md) or could not
        send it (a closed channel): only what was sent is pressed there, and
        released later."""
        was = what in down
        _track(down, what, pressed)
        sent = False
        try:
            sent = await sending
        finally:
            if not sent and not self.held_back:
                _track(down, what, was)

    async def hold_back(self, viewer: Viewer) -> None:
        """Stop using CONTROL (the agent gave it back, or the page went away):
        release on the host what this bridge pressed, in reverse, forward no
        more input, and give CONTROL back to the host (its user sees it)."""
        if self.held_back or CONTROL not in viewer.level:
            return
        self.held_back = True
        self.send_level()
        buttons, keys = list(self._buttons_down), list(self._keys_down)
        self._buttons_down.clear()
        self._keys_down.clear()
        for b in reversed(buttons):
            await viewer.button(b, False)
        for keysym in reversed(keys):
            await viewer.key(keysym, False, "")
        await viewer.release(CONTROL)
        self.send_level()

    async def ask_control(self, viewer: Viewer) -> None:
        """Ask the host's user for CONTROL; the page sees the question and the
        answer. A refusal the user was not asked about comes with the host's
        own notice (shown as it came): only the user's own is said here, once
        this request's answer is known (a late answer to an earlier one is
        not taken for it), and no answer within :attr:`ask_timeout`."""
        self.status("Asking the user for remote control...")
        refusal = None
        unanswered = False
        loop = asyncio.get_running_loop()
        start = loop.time()
        with contextlib.suppress(RuntimeError, SessionClosedError):  # one already pending
            if not await viewer.request(CONTROL, self.ask_timeout):
                refusal = viewer.refusal
                # No refusal and no timeout: the session ended, which is told.
                unanswered = refusal is None and loop.time() - start >= self.ask_timeout
                if self.on_refused is not None and (refusal is not None or unanswered):
                    self.on_refused(refusal)
        if refusal is not None and refusal.by_user:
            # Its no and its question's timeout are one answer (walk43).
            self.send({"t": "notice", "text": USER_DID_NOT_ACCEPT, "code": 0})
        elif unanswered:
            self.send({"t": "notice", "text": UNANSWERED, "code": 0})
        # A give-back under way stays one (held_back is cleared by the host's
        # revoke only); a grant that came after the page went away is given
        # back at once, as the page's going away gives it back.
        if self._out is None:
            await self._quietly(self.hold_back, viewer)
        self.send_level()
        self.status("Connected")

    def _upload_over(self, tid: int, task: asyncio.Task[Any]) -> None:
        if self._upload_tasks.get(tid) is task:
            del self._upload_tasks[tid]
        self._cancelling.discard(tid)

    def _cancel_upload(self, tid: int) -> None:
        """The agent's Cancel on upload ``tid``'s row: the page stopped
        copying it (what came of it here is removed), or its send is
        cancelled: its sender withdraws it at the host, which closes its
        question or removes what it has of it (files36's STOPPED). An
        upload already over: nothing (its row says how it ended)."""
        if self.files is not None and self.files.cancel(tid):
            self._upload_failed(tid, UPLOAD_CANCELLED, "cancelled")
            return
        task = self._upload_tasks.get(tid)
        if task is not None and not task.done() and not self._settled:
            self._cancelling.add(tid)
            task.cancel()

    def _upload_failed(self, tid: int, why: str, state: str = "failed") -> None:
        self._unsettled.pop(tid, None)
        self.send({"t": "file_progress", "id": tid, "state": state, "text": fit(why, 200)})

    def _upload_ended(self, tid: int) -> None:
        """An upload the session's end (:meth:`settle`) cut short: with how
        much of it had arrived, and that none of it was kept, once its
        FileCut is known (:meth:`_file_cut`), as the terminal says it
        (walk35: the row read only "failed: the session ended")."""
        self._told_ended.add(tid)
        cut = self._cuts.get(tid)
        if self.left:
            why = UPLOAD_LEFT if cut is None else f"{UPLOAD_LEFT} ({_how_much(cut)})"
            self._upload_failed(tid, why, "cancelled")
        elif cut is None:
            self._upload_failed(tid, UPLOAD_ENDED)
        else:
            host_ended = self.viewer is not None and self.viewer.host_bye is not None
            end = "the host ended the session" if host_ended else UPLOAD_ENDED
            self._upload_failed(tid, f"{end}, {_how_much(cut)}")

    def _file_cut(self, ev: FileCut, sender: FileSender) -> None:
        """An upload's bytes stopped before its end (the FileCut of
        ``sender``, the viewer's, matched to the page's upload by its
        transfer number). A lost link's cut keeps the link's words (the
        session may go on); an ended session's row, if already told, is
        told again with the amounts."""
        tid = self._streaming.pop((sender, ev.transfer), None)
        if tid is not None and tid in self._stopped_sending:  # the agent's Cancel
            self._stopped_sending.discard(tid)
            self._upload_failed(tid, f"{UPLOAD_STOPPED} ({_how_much(ev)})", "cancelled")
            return
        if tid is None or ev.cause == CUT_LOST:
            return
        self._cuts[tid] = ev
        if tid in self._told_ended:
            self._upload_ended(tid)

    async def _send_file(self, viewer: Viewer, tid: int, path: Path, name: str) -> None:
        if self.link_down:  # nothing to offer it to: the old channel is closed
            self._upload_failed(tid, LINK_DOWN)
            path.unlink(missing_ok=True)
            return
        row: dict[str, Any] = {"t": "file_progress", "id": tid, "state": "offered"}
        if viewer.sender.peer_takes_none:  # said up front or by an offer (files41)
            row["text"] = TAKES_NONE
        self.send(row)
        shown = -1  # the percentage the page shows

        def sending(sent: int, size: int) -> None:
            # The host said yes: the row says so, and how much has gone
            # (each whole percent once), not that it waits for the user.
            nonlocal shown
            went[:] = [sent, size]
            pct = 100 * sent // size if size else 100
            if pct != shown:
                shown = pct
                self.send({"t": "file_progress", "id": tid, "state": "sending", "pct": pct})

        sender = viewer.sender
        offered: list[tuple[FileSender, int]] = []  # its key in _streaming, once numbered
        went = [-1, 0]  # bytes handed to the link, of size: -1 before the host's yes

        def numbered(transfer: int) -> None:
            offered.append((sender, transfer))
            self._streaming[offered[0]] = tid

        try:
            outcome = await sender.send(path, name, on_sending=sending, on_offered=numbered)
        except asyncio.CancelledError:
            if tid in self._cancelling:  # the agent's Cancel (_cancel_upload)
                self._cancelled(tid, offered, went)
                return
            if self._settled and tid not in self._told_ended:
                self._upload_ended(tid)  # the bridge closed with it under way
            raise
        except SessionClosedError:
            # A lost link or the session's end: told when known (reconnecting,
            # settle), not guessed here.
            if self._settled:
                self._upload_ended(tid)
            elif self.link_down:
                self._upload_failed(tid, LINK_DOWN)
            else:
                self._unsettled[tid] = None
        except (ProtocolError, OSError) as exc:
            # The file's copy here went away (OSError), or the host broke
            # the file protocol: its words, not an errno's repr.
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._not_streaming(offered)
            self._upload_failed(tid, f"not sent: {safe_text(why, 150).lower()}")
        else:
            self._not_streaming(offered)  # not cut (kept after a SessionClosedError)
            # A refusal: the host's FileAccept does not say whether its user
            # was asked (no download directory refuses unasked), so the page
            # says "not accepted by the host", never "declined by the user";
            # a host that says why it refused unasked is shown its reason.
            # "sent": to a host of the previous version, which does not say
            # whether it saved it (docs/transport.md "File results").
            state = {"delivered": "delivered", "unconfirmed": "sent",
                     "failed": "failed"}.get(outcome.outcome, "declined")  # fmt: skip
            msg = {"t": "file_progress", "id": tid, "state": state}
            if outcome.outcome == "failed" and outcome.why.startswith(NOT_READ):
                # This side's copy went after the yes, not the host's failure
                # (as the terminals say it: cli/view_commands.py _sent_words).
                msg["text"] = fit(f"not sent whole: it {outcome.why}", 200)
            elif outcome.outcome == "failed" and outcome.why == STOPPED_THERE_WHY:
                # The host's user stopped receiving it (rstop36): not a failure there.
                gone = f"{amount(max(went[0], 0))} of {amount(went[1])} had been sent"
                msg["text"] = (f"the user stopped receiving it ({gone}); nothing of it was"
                               " kept there")  # fmt: skip
            elif outcome.outcome == "failed":
                msg["text"] = fit(f"the host could not save it: {outcome.why}", 200)
            elif outcome.outcome == "unconfirmed" and outcome.why:
                # It all went, and the session ended (or its link broke)
                # before the host said whether it saved it.
                end = LINK_LOST if viewer.link_lost else "the session ended"
                msg["text"] = f"{end} before the host said whether it saved it"
            elif state == "declined" and self.left and outcome.why.endswith(BEFORE_AN_ANSWER):
                # The agent's own Leave withdrew the offer: no refusal.
                msg.update(state="cancelled", text=UPLOAD_LEFT_UNANSWERED)
            elif state == "declined" and viewer.link_lost and outcome.why.endswith(
                    BEFORE_AN_ANSWER):  # fmt: skip
                # The link broke while the host's user was asked: neither a
                # refusal nor the session's end (it may resume), as the
                # terminal says it (cli/view_commands.py _sent_words).
                msg.update(state="failed", text=LINK_DOWN)
            elif state == "declined" and outcome.why.startswith(REFUSED_UNASKED):
                msg["text"] = fit(outcome.why[len(REFUSED_UNASKED):], 200)  # its code's words
            elif state == "declined" and outcome.why:
                msg["text"] = fit(outcome.why, 200)  # "no answer in time"
            elif state == "declined" and viewer.host_gives_reasons:  # no code: its user's no
                msg["text"] = USER_SAID_NO
            self.send(msg)
        finally:
            path.unlink(missing_ok=True)

    def _cancelled(self, tid: int, offered: list[tuple[FileSender, int]], went: list[int]
                   ) -> None:  # fmt: skip
        """Upload ``tid``'s send was cancelled by the agent: before the
        host's answer (its question closes there), or under way: said now
        with what went, then with what had arrived once its FileCut comes
        (:meth:`_file_cut`)."""
        sent, size = went
        if sent < 0:
            self._not_streaming(offered)
            self._upload_failed(tid, UPLOAD_WITHDRAWN, "cancelled")
        elif sent >= size:  # all of it went: the host may have it whole (no FileCut)
            self._not_streaming(offered)
            self._upload_failed(tid, f"{UPLOAD_STOPPED}, but all of it had been sent: the host"
                                " may have saved it", "cancelled")  # fmt: skip
        else:
            self._stopped_sending.add(tid)
            self._upload_failed(tid, f"{UPLOAD_STOPPED} ({amount(sent)} of {amount(size)} had"
                                " been sent; nothing of it was kept there)", "cancelled")

    def _not_streaming(self, offered: list[tuple[FileSender, int]]) -> None:
        """An upload's send ended with an outcome or an error: no FileCut
        of it is waited for (:meth:`_file_cut`)."""
        for key in offered:
            self._streaming.pop(key, None)

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

    def close(self) -> None:
        """End the bridge; the page's socket then closes in order (:meth:`shut`)."""
        self.settle()
        self._closed = True
        self._ending.set()
        self._drop_kept()
        for task in list(self._tasks):
            task.cancel()
        self.forget_waiting()
        if self.files is not None:
            self.files.close()


def _answer(fut: asyncio.Future[tuple[int, int] | None], size: tuple[int, int] | None) -> None:
    """Resolve an update's future, unless its viewer stopped waiting for it:
    a session that ends cancels its wait (Viewer.run), and the page may still
    answer for that update afterwards, or a tab come back with it unanswered."""
    if not fut.done():
        fut.set_result(size)


def _cut_short(viewer: Viewer, ev: FileRefused) -> str:
    """A host's file the agent accepted that the session's end cut short, in
    the page's words (PageFiles.not_saved puts "not saved: " first): the
    session ended (the user's /end, the agent's Leave), or the link was lost
    (the user may send it again), with how much of it came in a person's
    units. It read the Viewer's CUT_SHORT, "could not be saved: the
    connection ended before all of it came (11968542 of 400000000 bytes)",
    after the user's /end (walk33)."""
    came = f"{amount(ev.received)} of {amount(ev.size)}"
    if viewer.link_lost:
        return (f"{LINK_LOST} before all of it came ({came}); nothing of it was"
                " kept; the user may send it again")  # fmt: skip
    return f"the session ended before all of it came ({came}); nothing of it was kept"


def _how_much(cut: FileCut) -> str:
    """How much of an upload ``cut`` short had reached the host (what it
    said it has, else what was sent), and that the host kept none of it
    (its receiver removes a file cut short)."""
    if cut.arrived >= 0:
        went = f"{amount(cut.arrived)} of {amount(cut.size)} had arrived"
    else:
        went = f"{amount(cut.sent)} of {amount(cut.size)} had been sent"
    return f"{went}; nothing of it was kept there"


def _track(down: dict[int, None], what: int, pressed: bool) -> None:
    """Keep ``down`` the set of what is pressed, in the order it was pressed."""
    if pressed:
        down[what] = None
    else:
        down.pop(what, None)
