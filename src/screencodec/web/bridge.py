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

The bridge is built in layers, each a module beside this one that imports
only those below it: :mod:`.bridge_words` (what the page is told),
:mod:`.bridge_base` (the state, and the messages out), :mod:`.bridge_chat`,
:mod:`.bridge_control` (the level, input, asking for CONTROL and giving it
back), :mod:`.bridge_uploads`, :mod:`.bridge_page` (the page's socket and its
messages' checks); this module adds the session's side: the viewer's
updates, the host's messages and events, a lost link, the kept picture,
the host's silence, and the end.

Owned by one event loop; one page socket at a time (the server enforces it).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path
from typing import Any

from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import (
    DELIVERED,
    NOT_CONFIRMED,
    NOT_DELIVERED,
    ChatLedger,
)
from screencodec.transport.session.events import (
    ChatDelivery,
    ClipboardReceived,
    ClipboardRefused,
    FileCut,
    FileReceived,
    FileRefused,
    SessionEnded,
)
from screencodec.transport.session.input_gate import ignored_words
from screencodec.transport.session.kept import KEY_SIZE, KeptPicture
from screencodec.transport.session.permissions import CONTROL, VIEW
from screencodec.transport.session.sidechannels import (
    STOPPED_HERE,
    WITHDRAWN_OTHER,
    WITHDRAWN_STOPPED,
)
from screencodec.transport.session.viewer import Viewer
from screencodec.web.bridge_base import _TEXT_MAX, ASK_TIMEOUT, HISTORY
from screencodec.web.bridge_page import BridgePage

# The page's words, all importable from here as before the bridge was split.
from screencodec.web.bridge_words import *  # noqa: F403
from screencodec.web.bridge_words import (
    _SILENT,
    CONNECTED,
    LINK_DOWN,
    NOT_ASKED,
    UNANSWERED,
    UNANSWERED_ENDED,
    UNANSWERED_LOST,
    USER_DID_NOT_ACCEPT,
    _cut_short,
)
from screencodec.web.clip import clip_to_page
from screencodec.web.files import PageFiles
from screencodec.web.schema import fit
from screencodec.web.server import WebServer

__all__ = ["ALIVE_EVERY", "ASK_TIMEOUT", "HISTORY", "KEPT_TIMEOUT", "LINK_DOWN", "PAGE_MAX_PIXELS",
           "PROBED_SILENT_AFTER", "SILENT_AFTER", "UNANSWERED", "USER_DID_NOT_ACCEPT", "WebBridge",
           "capabilities_from"]  # fmt: skip

_MAX_MONITOR = 64  # the highest monitor index the page shows and asks for (schema.js)
_MAX_FPS = 1e6  # the page's bound on a frame rate (schema.js)
#: The page's state of the agent's line, by its ChatDelivery's ("sent" else).
_PAGE_STATES = {DELIVERED: "delivered", NOT_CONFIRMED: "unconfirmed", NOT_DELIVERED: "undelivered"}
#: The largest picture the page's decoder takes (static/worker/main.js,
#: ``maxPixels``; the Viewer's DEFAULT_MAX_PIXELS: an 8K screen, three 4K
#: side by side): it would refuse a bigger one every time, so the bridge's
#: viewer ends the session on one instead.
PAGE_MAX_PIXELS = 48_000_000
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
#: How long :meth:`WebBridge.shut` waits for the page: the page's close answer is
#: bounded by the server's close timeout (2 s), this only by a stalled loop.
_PAGE_CLOSE_WAIT = 5.0


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
    return m.Capabilities(
        ops,
        video,
        m.Capabilities.RECEIPTS
        | m.Capabilities.ZSTD_MED
        | m.Capabilities.COMPACT
        | m.Capabilities.COMPACT_RECTS,
        cache,
    )  # compact: expanded by the Viewer


#: How long after the link was lost the resumed viewer waits for the page's
#: digest of its picture (asked at once: it is usually there long before the
#: new connection is: the page hashes a 1080p picture in 33-170 ms with its
#: WebAssembly BLAKE2b, 0.4-0.9 s with the blakejs fallback; docs/web.md).
KEPT_TIMEOUT = 3.0


class WebBridge(BridgePage):
    """One agent's page and one viewer. ``hello`` resolves with the first
    page's hello; ``page_seen`` is set while a page is connected.

    Counters: ``input_dropped`` (input without CONTROL, or while it is held
    back), ``protocol_errors``. ``held_back``: the agent gave control back, or
    the page went away, and the host has not taken it yet; ``unavailable``: the
    host's reason why it cannot grant CONTROL in this session ("" if none).
    ``ask_timeout``: how long a request for CONTROL waits for the host's
    answer before the page and :attr:`on_refused` are told it did not come.
    """

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

    def update(self, data: bytes, /) -> asyncio.Future[tuple[int, int] | None]:
        loop = asyncio.get_running_loop()
        self._heard = loop.time()
        fut: asyncio.Future[tuple[int, int] | None] = loop.create_future()
        self._waiting.append(fut)
        if self._out is not None:
            self._out.put_nowait(data)
        return fut

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
        self.send_level()  # reconnecting: link_down
        for tid in list(self._unsettled):
            self._upload_failed(tid, LINK_DOWN)

    def resumed(self) -> None:
        """The session goes on over the new connection (joined): the chat
        lines held meanwhile are sent, in order, and the page shows its level
        again (the join's grant came while the link was still down)."""
        self.link_down = False
        self._heard = asyncio.get_running_loop().time()
        self.send_level()  # and flushes the held lines

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
        elif isinstance(msg, m.Notice) and msg.code == m.Notice.KEYS_IGNORED:
            # Not a notice (a count, for the terminal's /type: words45; the
            # page has code 2's words): the stats panel's "ignored" line, in
            # the words of the host's status line (input46). Our own words,
            # of the viewer's figures (ignored_counts read the peer's text).
            words = ignored_words(self.viewer.input_ignored or ()) if self.viewer else ""
            if words:
                self.send({"t": "ignored", "text": words})
        elif isinstance(msg, m.Notice):
            text = safe_text(msg.text, _TEXT_MAX)
            if msg.code == m.Notice.NOT_ASKED:
                # The page asks for nothing but control (walk46: the bare
                # reason, "the host's user refused this less than 10 s ago").
                text = f"{NOT_ASKED}: {text}"
            text = fit(text, _TEXT_MAX)
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
                    why = (
                        f"the user stopped sending it ({amount(max(ev.received, 0))} of"
                        f" {amount(ev.size)} had come); nothing of it was kept"
                    )
                elif ev.why == WITHDRAWN_OTHER:  # /stop while the page asked (walk37:
                    why = "the user withdrew it"  # "the sender withdrew it")
                elif ev.why == STOPPED_HERE:  # the agent's Cancel (rstop36)
                    why = (
                        f"you stopped receiving it ({amount(max(ev.received, 0))} of"
                        f" {amount(ev.size)} had come); nothing of it was kept"
                    )
                elif ev.received >= 0:
                    why = _cut_short(viewer, ev)
                else:
                    why = safe_text(ev.why, 200)
                self.files.not_saved(ev.transfer, ev.name, ev.size, why)
            elif isinstance(ev, SessionEnded) and self.files is not None:
                # After the FileRefused of the offers the host withdrew.
                self.files.session_over(UNANSWERED_LOST if viewer.link_lost
                                        else UNANSWERED_ENDED)  # fmt: skip

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
