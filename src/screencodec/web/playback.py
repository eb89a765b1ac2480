"""Playing a session recording in the web viewer's page.

The page is the live viewer's page (same server, token and access rules); the
source is a recording instead of a host. Python plays: a seek to ``t`` takes
:meth:`~screencodec.recording.Player.frame_at` and sends the page a keyframe
from a fresh-state lossless :class:`~screencodec.ScreenEncoder`; playing
advances the recording's clock at the chosen speed and sends each next
picture as a delta from that same encoder. The page's decoder therefore never
needs the recording's own history or video state, and shows exactly the
recorded framebuffer. Each picture waits for the page's ``applied`` before
the next one is made, so a slow page slows the playback, never queues it.

Page -> server (besides ``hello``, ``applied`` and ``bye``): ``seek`` (``us``),
``play`` (``on``), ``speed`` (``pct``: 50, 100, 200 or 400). Server -> page:
``playback`` (duration and size, once), ``event`` (one audit event as text),
``position`` (after each picture shown, and on every change of state),
``blank`` (there is no picture at the position: before the recording's
first one; the page clears its screen instead of keeping a later picture),
``verdict`` (what checking the recording found, as ``recordings verify``
says it: :func:`page_verdict`; shown above the picture for the whole
playback).
The page's live-session messages (input, chat, files) are dropped.

:class:`PlaybackBridge` is owned by one event loop. The recording is read and
encoded in a worker thread, one call at a time (the player is not thread-safe,
so only the bridge's driver task ever touches it).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from screencodec.capture.base import CursorState
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError, ScreencodecError
from screencodec.motion.cursor import CursorEncoder
from screencodec.recording import RecordingReader, VerifyReport
from screencodec.recording.chain import Chain, ChainCursor, ChainPlayer
from screencodec.recording.event_words import event_words
from screencodec.recording.verdicts import BadPictureError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import safe_text
from screencodec.web.bridge import WebBridge
from screencodec.web.browser import reap_browsers
from screencodec.web.run import page_opened, telling_refusals
from screencodec.web.schema import fit, parse_page_message
from screencodec.web.server import WebServer

__all__ = [
    "CLOSED", "LEFT", "LINK_LOST", "REFUSED_LINES", "STOPPED", "PlaybackBridge",
    "PlaybackOptions", "RecordingPlayback", "chain_verdict", "describe_event", "event_time",
    "link_marks", "page_verdict",
]

_EVENTS_MAX = 5000  # events listed in the page (a longer log is cut, and says so)
#: The page's times are microseconds below 2**42 (51 days: schema.js), exact
#: in a JS number. A chunk time is whatever the file says (2**62 us is
#: 146,000 years), so a longer recording is refused before any page.
MAX_PLAYBACK_US = 1 << 42
_SPEEDS = (50, 100, 200, 400)
#: Why a playback ended, as ``recordings play --web`` prints it ("playback
#: ended: ..."): the auditor pressed Leave in the page, or the page went away
#: and did not come back within ``PlaybackOptions.grace``.
LEFT = "you left the playback in the page"
CLOSED = "the page was closed"
#: ... or it was stopped where it runs (``recordings play --web``: Ctrl-C,
#: SIGTERM, SIGHUP): its run was cancelled, and the page told as a Leave is.
STOPPED = "you stopped the playback here"
_ENDED_TEXT = "Playback ended: you can close this page."


def _cut(text: str, units: int) -> str:
    """At most ``units`` UTF-16 code units: the page's schema counts those."""
    out = text[:units]
    return out if len(out.encode("utf-16-le")) <= 2 * units else out[: units // 2]


def event_time(ev: dict[str, Any]) -> float:
    """The moment on the timeline an audit event names: when it was logged
    (``t``), but for an ``input`` interval its ``start``: the interval is
    logged once it has ended, at the next session message, which on a still
    screen can come seconds later (the row's "Go to this moment" then showed
    the screen after the input). A ``start`` that is not a number from 0 to
    ``t`` (a hostile file) is not taken."""
    t = float(ev["t"])
    start = ev.get("start")
    if (ev.get("type") == "input" and isinstance(start, int | float)
            and not isinstance(start, bool) and 0 <= start <= t):  # fmt: skip
        return float(start)
    return t


def describe_event(ev: dict[str, Any]) -> tuple[str, str]:
    """An audit event as (kind, one line of text), both bounded; the values
    are the recording's and untrusted (the page shows them as text only).
    The line is the event in words (names52: it was the log's fields,
    ``answer=view, asked=view, upgrade=false``), then what the words do not
    say as ``key=value``: :func:`~screencodec.recording.event_words.event_words`.
    A nested value (a resumed link's ``earlier``) is written as its fields,
    ``{bytes=..., file=A.screc, ...}``, and JSON's words as the log has them
    (true, false, null), not as Python's repr (walk34: "{'file': ...}")."""
    kind = safe_text(ev.get("type", "?"), 32)
    # The agent chose its name and chat lines: a bidi override would
    # reorder the auditor's row, a zero-width character hide (event_words
    # cleans each value).
    return kind, _cut(event_words(ev), 1000)


#: The kind of the rows that mark where a link of the session was lost.
LINK_LOST = "link lost"
#: The start of a link's end reason when its connection ended without a Bye
#: (session/host.py).
_GONE = "viewer gone: "


def link_marks(chain: Chain) -> list[tuple[float, str]]:
    """Where a link of the session was lost, as rows for the event log
    (walk34: nothing in the log said so): ``(session time, text)`` at the
    end of each part a later part resumes, and of a last part that ended
    without a goodbye (its END's reason says "viewer gone": the agent's
    connection ended and was not taken up again). The reason is the file's
    own (cleaned here)."""
    marks = []
    for k, part in enumerate(chain.parts):
        try:
            reason = part.reader.meta().get("reason")
        except (ScreencodecError, ValueError):  # a damaged END: said by the verdict
            reason = None
        said = reason.removeprefix(_GONE) if isinstance(reason, str) else "no reason recorded"
        why = safe_text(said, 300)
        if k + 1 < len(chain.parts):
            after = chain.parts[k + 1]
            back = max(0.0, after.offset - part.end)
            marks.append((part.end, f"the connection to the agent was lost ({why}); the agent "
                                    f"came back {back:.1f} s later and the session went on "
                                    f"({safe_text(after.path.name, 255)})"))  # fmt: skip
        elif isinstance(reason, str) and reason.startswith(_GONE):
            marks.append((part.end, f"the connection to the agent was lost ({why}); the "
                                    "session was not taken up again"))  # fmt: skip
    return marks


def page_verdict(report: VerifyReport) -> tuple[str, str]:
    """The check of a recording as the page shows it: ``("verified", ...)``
    only for one complete and signed to its end by a pinned host (``verify
    --hosts``'s exit 0), else ``("unverified", ...)``; the text leads with
    which, then says verify's line (without the file's path: the page's
    title names the file). The line holds what the file says of itself (its
    signer's key id, its problem): cleaned and bounded here, shown as text."""
    said = report.describe().removeprefix(f"{report.path}: ")
    if report.pinned and report.status == "complete" and not report.chain_broken:
        return "verified", fit(safe_text(f"Verified: a pinned host's recording: {said}", 1000),
                               1000)  # fmt: skip
    if report.signer is None:
        signer = "unsigned, it carries no host signature"
    elif report.pinned is None:
        signer = ("its signer was not checked against pinned hosts (play --web --hosts FILE "
                  "checks it)")  # fmt: skip
    elif report.pinned:
        signer = ("signed by a pinned host" if report.status == "complete"
                  else "signed by a pinned host up to where it stops")
    else:
        signer = "not a pinned host's recording"
    if report.status == "incomplete":  # said first: --hosts would not make it whole
        lead = f"NOT verified whole: cut short, {signer}"
    elif report.chain_broken and report.status == "complete":  # verify exits 10
        lead = ("NOT verified as a whole session: the earlier file this resumed link names "
                f"is not the one beside it ({signer})")
    elif report.pinned:
        lead = "NOT verified as a pinned host's recording"
    else:
        lead = f"NOT verified: {signer}"
    return "unverified", fit(safe_text(f"{lead}: {said}", 1000), 1000)


def chain_verdict(reports: list[VerifyReport], chain: Chain) -> tuple[str, str]:
    """:func:`page_verdict` of a session's parts (``reports``, first to last):
    a single recording's own; of several, the first part not verified (its
    file named), else "verified" for them all. Where the chain stops early
    (a part missing, a link broken: ``chain.said``, verify's words) it is
    "unverified" and says so first: the page does not show the whole session."""
    verdicts = [page_verdict(r) for r in reports]
    several = len(reports) > 1
    if not several and not chain.said:
        return verdicts[0]
    kind, text = next(((k, f"{r.path.name}: {t}" if several else t)
                       for r, (k, t) in zip(reports, verdicts, strict=True)
                       if k != "verified"), verdicts[-1])  # fmt: skip
    if several and kind == "verified":
        text = f"Verified, all {len(reports)} parts of this session: {text}"
    if chain.said:
        stops = "; ".join(f"{path.name}: {words}" for path, words in chain.said)
        lead = ("NOT the whole session: a link of its chain is broken (verify exits 10), the "
                "files before it are NOT shown" if chain.broken else
                "NOT the whole session: a part is missing")  # fmt: skip
        kind, text = "unverified", f"{lead}: {stops}; {text}"
    return kind, fit(safe_text(text, 1000), 1000)


class PlaybackBridge(WebBridge):
    """A :class:`WebBridge` whose source is a recording. State (read on the
    loop): ``position`` (seconds), ``playing``, ``speed`` (percent), ``shown``
    (pictures the page applied), ``ended`` (set when the page said bye)."""

    def __init__(
        self, reader: RecordingReader | Chain, who: str = "recording",
        report: VerifyReport | None = None, reports: list[VerifyReport] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(who)
        #: The session played: one recording, or a resumed session's parts
        #: (docs/recording.md "A resumed link"), on the session's clock.
        self.chain = reader if isinstance(reader, Chain) else Chain.of(reader)
        self.reader = self.chain  # its length, updates and log
        #: The check of the last part its caller made (``play --web
        #: --hosts``: against the pinned hosts), or of every part
        #: (``reports``); None: :meth:`survey` checks them, without pinned
        #: hosts. The page is shown their verdict.
        self.report = report
        self.reports = reports
        self.player = ChainPlayer(self.chain)
        self.encoder: ScreenEncoder | None = None
        self.position = 0.0
        self.playing = False
        self.speed = 100
        self.shown = 0
        self.ignored = 0  #: live-session messages the page sent, dropped
        self.ended = asyncio.Event()
        #: The first picture the page was not sent because it is not the
        #: host's (``recordings play --web`` then exits as ``play --at``: 7).
        self.refused: BadPictureError | None = None
        self._seek_to: float | None = None
        self._wake = asyncio.Event()
        self._size = (0, 0)
        self._log: list[dict[str, Any]] = []
        #: the pointer: the recording's CURSOR chunks, re-encoded for the page
        self.track = ChainCursor(self.chain)
        self.pointer = CursorEncoder()
        self._pointer_us = self.chain.cursor_times_us()
        self._pictures = -1  # updates applied in the picture the page has

    # -- state for the page ----------------------------------------------------------

    def survey(self) -> None:
        """Read the recording's size and audit log (blocking; before the driver
        runs, so the player is ours alone). Raises what the recording's
        reading raises: a damaged or sealed one fails here, before any page."""
        # The log first: a sealed recording opened without the key says so
        # here, where the player would only find no picture it can decode.
        self._log = self.reader.events()
        # As `play --at` (docs/recording.md, "What play and export show"):
        # damaged chunks are refused before any page; each picture is
        # checked against its recorded hash as the player decodes it (a bad
        # one is not shown: the page's banner names it).
        if self.reports is None:
            self.reports = [p.reader.verify() for p in self.chain.parts[:-1]]
            self.reports.append(self.report or self.chain.parts[-1].reader.verify())
        for chunks in self.reports:
            if chunks.status == "damaged":
                raise DecodeError(f"{chunks.describe()}: NOT played")
        if self.reader.duration * 1e6 >= MAX_PLAYBACK_US:
            days = self.reader.duration / 86400
            raise DecodeError(f"the recording says it lasts {days:.0f} days, longer than the "
                              "player shows (51 days); are its times forged?")  # fmt: skip
        fb = self.player.frame_at(self.reader.duration)
        self._size = (0, 0) if fb is None else (fb.shape[1], fb.shape[0])

    def announce(self) -> None:
        """The recording's length, size and audit log (replayed to a reloaded
        tab), and a first picture from the start."""
        events = self._log
        assert self.reports is not None  # survey's
        kind, text = chain_verdict(self.reports, self.chain)
        self._remember({"t": "verdict", "kind": kind, "text": text})
        self._remember({"t": "playback", "duration_us": round(self.reader.duration * 1e6),
                        "width": self._size[0], "height": self._size[1],
                        "name": _cut(self.reader.path.name, 255)})  # fmt: skip
        # An event's time is its chunk's (>= 0: the reader refuses less);
        # times may go backwards, so one may lie past the end. Listed in the
        # order of the moments they name (event_time), the log's order kept
        # between equal ones.
        end_us = round(self.reader.duration * 1e6)
        shown = events[:_EVENTS_MAX]
        listed = sorted((min(round(event_time(ev) * 1e6), end_us), i) for i, ev in enumerate(shown))
        # Where a link was lost: after the events of the same moment.
        marks = link_marks(self.chain)
        listed = sorted([*listed, *((min(round(t * 1e6), end_us), len(events) + j)
                                    for j, (t, _) in enumerate(marks))])  # fmt: skip
        for us, i in listed:
            if i >= len(events):
                text = _cut(marks[i - len(events)][1], 1000)
                self._remember({"t": "event", "us": us, "kind": LINK_LOST, "text": text},
                               f"mark{i - len(events)}")  # fmt: skip
                continue
            kind, text = describe_event(events[i])
            self._remember({"t": "event", "us": us, "kind": kind, "text": text}, f"event{i}")
        if len(events) > _EVENTS_MAX:
            self._remember({"t": "event", "us": round(self.reader.duration * 1e6), "kind": "...",
                            "text": f"{len(events) - _EVENTS_MAX} more events are not listed"},
                           "event-cut")  # fmt: skip
        self._seek_to = 0.0
        self._wake.set()

    def _remember(self, obj: dict[str, Any], key: str | None = None) -> None:
        self._state[key or obj["t"]] = obj
        self.send(obj)

    def _position(self) -> None:
        self.send({"t": "position", "us": round(self.position * 1e6), "playing": self.playing,
                   "pct": self.speed})  # fmt: skip

    # -- the page's socket ------------------------------------------------------------

    async def on_page(self, ws: web.WebSocketResponse, hello: dict[str, Any]) -> None:
        if self.hello.done():
            # A reloaded tab: what the old page never applied is lost with it,
            # and the new page starts from a keyframe of where we are.
            self.forget_waiting()
            self._seek_to = self.position
            self._wake.set()
        await super().on_page(ws, hello)

    async def _on_text(self, text: str) -> None:
        msg = parse_page_message(text)
        kind = msg["t"]
        if kind == "seek":
            self._seek_to = min(msg["us"] / 1e6, self.reader.duration)
        elif kind == "play":
            if msg["on"] and self._at_end():
                self._seek_to = 0.0  # play again from the start
            self.playing = msg["on"]
        elif kind == "speed":
            self.speed = msg["pct"]
        elif kind == "bye":
            self.ended.set()
        elif kind in ("hello", "applied"):
            await super()._on_text(text)
            return  # an answer, not a request: the pacing goes on undisturbed
        else:
            # Valid, but for a live session (input, chat, files): nothing to do.
            self.ignored += 1
            return
        self._wake.set()

    # -- the driver --------------------------------------------------------------------

    async def drive(self) -> None:
        """Show what the page asks for, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            if self._seek_to is not None:
                t, self._seek_to = self._seek_to, None
                await self._show(t, keyframe=True)
                continue
            if self.playing and self._at_end():
                self.playing = False
                self.position = self.reader.duration
                self._position()
            if not self.playing:
                self._wake.clear()
                await self._wake.wait()
                if self._seek_to is None:
                    self._position()  # the page sees its play or speed taken
                continue
            # Pacing, not synchronisation: the recording's clock at `speed`;
            # any message from the page (seek, pause, speed) wakes us early.
            due = self._next(self.position)
            start, speed = loop.time(), self.speed
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wake.wait(), (due - self.position) * 100 / speed)
            if self._wake.is_set():
                if self._seek_to is None:  # it played until now (paused, or a new speed)
                    # ...but not up to `due`: that picture is not shown yet.
                    ran = self.position + (loop.time() - start) * speed / 100
                    self.position = max(self.position, min(due - 1e-6, ran))
                    self._position()
                continue
            await self._show(due, keyframe=False)

    def _next(self, t: float) -> float:
        """When the next picture or pointer change after ``t`` is due."""
        us = round(t * 1e6)
        times = []
        n = self.reader.updates_until(t)
        if n < self.reader.update_count:
            times.append(self.reader.update_time(n))
        k = bisect.bisect_right(self._pointer_us, us)
        if k < len(self._pointer_us):
            times.append(self._pointer_us[k] / 1e6)
        return min(times) if times else self.reader.duration

    def _at_end(self) -> bool:
        us = round(self.position * 1e6)
        return (self.reader.updates_until(self.position) >= self.reader.update_count
                and bisect.bisect_right(self._pointer_us, us) >= len(self._pointer_us))  # fmt: skip

    async def _show(self, t: float, *, keyframe: bool) -> None:
        self.position = t
        try:
            data, pointer, blank = await asyncio.to_thread(self._encode, t, keyframe)
        except ScreencodecError as exc:  # a damaged stretch: say so, stay usable
            if isinstance(exc, BadPictureError) and self.refused is None:
                self.refused = exc  # the terminal says it too, at the end
            self.playing = False
            self.banner("error", f"Cannot show {t:.3f} s of this recording: {exc}")
            data, pointer, blank = None, [], False
        if data is None and blank:
            # No picture at t: the page must not keep showing a later one.
            self.send({"t": "blank"})
        elif data is not None and await self.update(data) is not None:
            self.shown += 1
        for msg in pointer:
            self.cursor(msg)
        self._position()

    def _encode(self, t: float, keyframe: bool) -> tuple[bytes | None, list[bytes], bool]:
        """(the picture at ``t`` for the page, or None when it has it already
        or there is none; the pointer messages that bring the page's pointer
        to ``t``; whether the page must clear its screen: no picture at ``t``,
        and the page may show one)."""
        if keyframe:
            self.pointer.reset()  # a keyframe may be a new page: shapes again
        cursor = self.track.at(t)
        if cursor is None:
            state = CursorState(0, 0, visible=False)
        else:  # the hotspot is already applied: the image's corner is the position
            state = CursorState(cursor[1], cursor[2], shape=cursor[0])
        pointer = self.pointer.update(state)
        count = self.reader.updates_until(t)
        if not keyframe and count == self._pictures:
            return None, pointer, False
        fb = self.player.frame_at(t)
        if fb is None:  # before the first picture
            blank = keyframe or self._pictures != 0
            self._pictures = 0  # the page has none: the first one is new to it
            if self.encoder is not None:  # and whole (a reloaded page has no frame)
                self.encoder.request_keyframe()
            return None, pointer, blank
        self._pictures = count
        if self.encoder is None:
            self.encoder = ScreenEncoder(fb.shape[1], fb.shape[0], threads=1)
        if keyframe:
            self.encoder.request_keyframe()
        return self.encoder.encode(fb), pointer, False

    def close(self) -> None:
        super().close()
        if self.encoder is not None:
            self.encoder.close()


@dataclass
class PlaybackOptions:
    """``port`` 0 picks a free one; ``grace``: how long a closed page may take
    to come back (a reload) before playback ends (None: never)."""

    port: int = 0
    open_browser: bool = True
    grace: float | None = 30.0
    private_key: Path | None = None
    #: The check of the recording already made (``play --web --hosts``:
    #: against the pinned hosts, of the reader it passes): the page shows
    #: its verdict. None: the playback checks it, without pinned hosts.
    report: VerifyReport | None = None
    #: The check of each part of a session played as a :class:`Chain`
    #: (``play --web --hosts``), first to last; None: as ``report``.
    reports: list[VerifyReport] | None = None
    on_url: Callable[[str], None] = field(default=lambda url: None)
    #: Told in words what a terminal should know (no browser could be opened).
    on_step: Callable[[str], None] = field(default=lambda text: None)


#: The terminal's line when a page with a right key was refused, by whether
#: a page holds the playback (web.run's REFUSED_LINES, in a playback's words).
REFUSED_LINES = {
    True: "another page tried to open this playback and was refused (a second tab on the link,"
          " or a copy of the page's tab): the playback stays in the page that has it",
    False: "a page tried to open this playback again and was refused (the link opens one page,"
           " once): the playback's own tab gets back in with a reload",
}  # fmt: skip


class RecordingPlayback:
    """``await RecordingPlayback(path, options).run()`` serves the page until it
    leaves (or stays away for ``grace``). ``url`` and ``bridge`` are set once
    it listens (``listening``). ``path`` may be a reader already open (the
    one a check passed: what was checked is what plays), or a resumed
    session's :class:`Chain` (its parts played as one session, the page's
    verdict saying where the chain stops early); it is closed at the end as
    one opened here is."""

    def __init__(
        self, path: Path | RecordingReader | Chain, options: PlaybackOptions | None = None
    ) -> None:
        self.path = path
        self.options = options or PlaybackOptions()
        self.url = ""
        self.bridge: PlaybackBridge | None = None
        self.server: WebServer | None = None
        self.listening = asyncio.Event()

    async def run(self) -> str:
        opts = self.options
        reader = (self.path if isinstance(self.path, RecordingReader | Chain)
                  else RecordingReader(self.path, private_key=opts.private_key))  # fmt: skip
        bridge = self.bridge = PlaybackBridge(reader, report=opts.report, reports=opts.reports)
        # A second page refused is said at the terminal too (tail39: the page
        # said why, the terminal nothing), as view --web says it.
        refused = telling_refusals(opts.on_step, REFUSED_LINES)
        server = self.server = WebServer(bridge.on_page, port=opts.port, on_refused=refused)
        driver: asyncio.Future[None] | None = None
        reaping: asyncio.Future[None] | None = None
        try:
            await asyncio.to_thread(bridge.survey)
            self.url = await server.start()
            self.listening.set()
            opts.on_url(self.url)
            await page_opened(self.url, bridge.hello, opts.on_step, open_it=opts.open_browser,
                              asked=server.page_asked)  # fmt: skip
            if opts.open_browser:  # a browser that ends mid-playback is no zombie (odds40)
                reaping = asyncio.ensure_future(reap_browsers())
            bridge.announce()
            driver = asyncio.ensure_future(bridge.drive())
            reason = await self._until_left(bridge)
            bridge.banner("ended", _ENDED_TEXT)
            bridge.send({"t": "ended", "reason": reason})
            await bridge.drain()  # the page gets the banner before the socket closes
            return reason
        except asyncio.CancelledError:
            # Stopped where it runs (STOPPED): a page that is there reads the
            # end, not "The viewer program stopped or lost this page" (walk33).
            if bridge.hello.done():
                bridge.banner("ended", _ENDED_TEXT)
                bridge.send({"t": "ended", "reason": STOPPED})
                with contextlib.suppress(asyncio.CancelledError):  # a second Ctrl-C
                    await bridge.drain()
            raise
        finally:
            if reaping is not None:
                reaping.cancel()
            if driver is not None:
                driver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver
            try:
                await bridge.shut(server)  # in order: the page read all we sent
            finally:
                reader.close()

    async def _until_left(self, bridge: PlaybackBridge) -> str:
        """Why the playback ends: :data:`LEFT` (the page's Leave button), or
        :data:`CLOSED` (the page went and did not come back within ``grace``)."""
        ended = asyncio.ensure_future(bridge.ended.wait())
        try:
            while not ended.done():
                gone = asyncio.ensure_future(bridge.page_gone.wait())
                await asyncio.wait({ended, gone}, return_when=asyncio.FIRST_COMPLETED)
                gone.cancel()
                if ended.done():
                    break
                bridge.page_seen.clear()
                if not bridge.page_gone.is_set():
                    continue  # it came back before this task woke up
                seen = asyncio.ensure_future(bridge.page_seen.wait())
                await asyncio.wait({ended, seen}, timeout=self.options.grace,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                seen.cancel()
                if not ended.done() and not bridge.page_seen.is_set():
                    return CLOSED
            return LEFT
        finally:
            ended.cancel()
