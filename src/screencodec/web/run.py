"""One web viewer session, start to end: serve the page, wait for it, join the
host with what the page decodes, bridge until the session ends.

The page is opened *before* the host is contacted: its WebCodecs support
decides the Capabilities the viewer declares, and the host's user is asked
for consent only once the agent is actually looking.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from screencodec.errors import AccessRefusedError, ConsentDeniedError, ScreencodecError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.base import Channel
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.connect.reconnect import (
    LOST_WORDS,
    EndedAway,
    attempt_words,
    ended_while_away,
    lost_words,
    not_let_back_in,
    reconnect,
    reconnected_line,
    reconnecting_line,
    refused,
)
from screencodec.transport.session.endreasons import VIEWER_LEFT, VIEWER_STOPPED
from screencodec.transport.session.events import SessionEnded, SessionRejoined, Subscription
from screencodec.transport.session.kept import KeptPicture
from screencodec.transport.session.permissions import VIEW, Permission
from screencodec.transport.session.resume import MOVED
from screencodec.transport.session.viewer import Viewer
from screencodec.web.bridge import PAGE_MAX_PIXELS, WebBridge, capabilities_from
from screencodec.web.bridge_words import plain_attempt
from screencodec.web.browser import REAP_EVERY, STARTED, open_browser, reap_browsers
from screencodec.web.files import PageFiles
from screencodec.web.schema import fit
from screencodec.web.server import WebServer

__all__ = ["AWAY", "FAILED", "GONE", "LEFT_HERE", "NOT_BACK_IN", "PAGE_NUDGE_AFTER",
           "REAP_EVERY", "REASKED_BANNER", "REASKED_LINE", "REASKED_STATUS", "REFUSALS_QUIET",
           "REFUSED_LINES", "STOPPED_BY", "STOPPED_TEXT", "UNANSWERED", "LostEnd", "WebOptions",
           "WebViewer", "lost_banner", "not_opened_line", "page_opened", "page_words",
           "reap_browsers", "telling_refusals"]

T = TypeVar("T")

#: Why the run ended when the agent left: the page's Leave button, or
#: :meth:`WebViewer.leave` (the terminal's Ctrl-C, SIGTERM, SIGHUP, --duration).
LEFT_HERE = VIEWER_LEFT


@dataclass
class WebOptions:
    """``port`` 0 picks a free one; ``page_timeout``: how long to wait for the
    page to open (None: forever); ``grace``: how long a closed page may take
    to come back (a reload) before the session ends, watching only (control
    is held back as soon as the page goes, web/bridge.py); ``download_dir``: where
    accepted files from the host go (None: a private temporary directory);
    ``max_pixels``: the largest picture the page is given (``Viewer.max_pixels``):
    a host's screen over it ends the session with a banner saying so. At
    most :data:`~screencodec.web.bridge.PAGE_MAX_PIXELS`, what the page's own
    decoder takes (48 M: an 8K screen, three 4K side by side)."""

    who: str = "support"
    port: int = 0
    control: bool = False
    open_browser: bool = True
    page_timeout: float | None = None
    grace: float = 10.0
    download_dir: Path | None = None
    max_pixels: int = PAGE_MAX_PIXELS
    #: How long a lost link is retried (the host keeps a lost session this
    #: long by default: HostConfig.resume_window).
    resume_within: float = 60.0
    #: After a lost link, resume on the picture the page kept when the host
    #: offers it (the page's digest of it: web/bridge.py ``ask_kept``): the
    #: host's first update paints only the tiles that differ. False: a
    #: keyframe, as a host that does not offer it sends.
    kept: bool = True
    #: The host is reached directly, not through a relay: a reconnection its
    #: machine refuses means the host program is gone (connect/reconnect.py).
    host_direct: bool = False
    on_url: Callable[[str], None] = field(default=lambda url: None)
    #: Told each step in words (page opened, connected, granted): a terminal prints them.
    on_step: Callable[[str], None] = field(default=lambda text: None)
    #: Told each line the host's user writes while asked whether to let the
    #: agent in (``Viewer.on_early_chat``: sanitised there; the page shows
    #: it too): a terminal prints it as ``view`` does (web39: it did not).
    on_early_chat: Callable[[str], None] = field(default=lambda text: None)


@dataclass(frozen=True)
class LostEnd:
    """How a run whose link was lost ended once it was not taken up again,
    set where :meth:`WebViewer.run` words its reason (``view --web`` reads
    this for its last line and its exit status: audit38, it read them back
    from the end of the reason's text, which carries the host's words).

    ``lost``: the lost link's reason; ``how``: "gone" (a relay saw the
    host's program stop: :data:`GONE`), "no answer" (a host reached
    directly refused every reconnection: :data:`UNANSWERED`), "failed"
    (reconnecting failed, ``why`` the words: :data:`FAILED`), "away" (the
    session ended meanwhile, ``away`` how: :data:`AWAY`), or "not back in"
    (reconnected, the host's user asked again said no, ``why`` the host's
    answer: :data:`NOT_BACK_IN`)."""

    lost: str
    how: str
    why: str = ""
    away: EndedAway | None = None


#: Said (``on_step``) when the link could not be opened in a browser here
#: (no display, as over SSH, and no text browser either).
NO_BROWSER = "no browser could be opened here: open the link above in a browser on this machine"


#: How long after the browser was started without a page connecting
#: :func:`not_opened_line` is said (walk38: run as root, Chromium refuses to
#: start without --no-sandbox and exits at once, ``webbrowser.open`` is True
#: all the same). A browser starting cold takes a second or two.
PAGE_NUDGE_AFTER = 5.0


def not_opened_line(url: str) -> str:
    """Said once when no page connected :data:`PAGE_NUDGE_AFTER` seconds
    after the browser was started: the link to open by hand."""
    return f"no page has opened yet: open {url} in your browser"


async def page_opened(url: str, hello: asyncio.Future[T], say: Callable[[str], None], *,
                      open_it: bool = True,
                      asked: asyncio.Event | None = None) -> T:  # fmt: skip
    """The page's hello (``hello``: the bridge's), once a page opened ``url``;
    with ``open_it``, the browser is started as it is waited for
    (:func:`open_browser`): ``say`` :data:`NO_BROWSER` when none could be
    opened (the terminal said it was opening it) and no page came first.
    A browser started that has not brought a page within
    :data:`PAGE_NUDGE_AFTER` seconds is told once (``say``,
    :func:`not_opened_line`): it said nothing more, and the agent waited
    for a page that never came (walk38). Not when ``asked`` (the server's
    WebServer.page_asked) was set by then: a browser asked for the page,
    which is on its way (flake48e: headless Chromium at load 23-30 loaded
    it and connected more than 5 s after it was started, and was told to
    open by hand the link it had open). Either way the browser's process
    is reaped if it has ended (:data:`~screencodec.web.browser.STARTED`)."""
    if open_it:
        loop = asyncio.get_running_loop()
        until = loop.time() + PAGE_NUDGE_AFTER
        opened = open_browser(url)
        first: set[asyncio.Future[Any]] = {hello, opened}
        done, _ = await asyncio.wait(first, timeout=PAGE_NUDGE_AFTER,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if opened in done and not hello.done() and not opened.result():
            say(NO_BROWSER)
        elif not hello.done():
            # Started (or still being started); the page has the rest of its time.
            waits: set[asyncio.Future[Any]] = {hello}
            seen = None if asked is None else asyncio.ensure_future(asked.wait())
            if seen is not None:
                waits.add(seen)
            try:
                await asyncio.wait(waits, timeout=max(0.0, until - loop.time()),
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            finally:
                if seen is not None:
                    seen.cancel()
            STARTED.reap()
            if not hello.done() and not (asked is not None and asked.is_set()):
                say(not_opened_line(url))
        STARTED.reap()
    return await hello


#: The terminal's line when a page with a right key was refused
#: (:attr:`~.access.PageAccess.refusal`), by whether a page holds the session.
REFUSED_LINES = {
    True: "another page tried to open this session and was refused (a second tab on the link,"
          " or a copy of the page's tab): the session stays in the page that has it",
    False: "a page tried to open this session again and was refused (the link opens one page,"
           " once): the session's own tab gets back in with a reload",
}  # fmt: skip
#: Refusals closer together than this are one burst, said once.
REFUSALS_QUIET = 10.0


def telling_refusals(
    say: Callable[[str], None], lines: dict[bool, str] = REFUSED_LINES
) -> Callable[[int, bool], None]:
    """The server's ``on_refused`` for a terminal: ``lines`` (by whether a
    page holds it; :data:`REFUSED_LINES`, a recording's playback its own),
    once per burst of refusals (another comes :data:`REFUSALS_QUIET` seconds
    after the last one): webtail39, the page was told and the agent at the
    terminal nothing; a page refused over and over is not a flood of lines."""
    last: list[float] = []

    def refused(code: int, held: bool) -> None:
        # By held, not by code: USED (a spent resume key) comes while a page
        # holds the session or none does (review39c: it said "reload" to the
        # agent whose tab held it).
        now = time.monotonic()
        if not last or now - last[0] >= REFUSALS_QUIET:
            say(lines[held])
        last[:] = [now]

    return refused


def lost_banner(reason: str) -> str:
    """The page's banner as a lost link (``reason``: the viewer's) is taken
    up again, with why in the terminal's words (:func:`lost_words`, which
    sanitises the channel's): web39, it said only "...was lost:
    reconnecting..." where the terminal said "(nothing came from the host
    for 10 s)"."""
    words = lost_words(reason) or LOST_WORDS
    why = words.removeprefix(LOST_WORDS)  # "" or " (...)"
    return f"The connection to the user's computer was lost{why}: reconnecting..."


def page_words(hello: dict[str, Any]) -> str:
    """The terminal's line once the page opened: what its browser's video
    support means for the agent (walk38: "page opened (H.264 in the browser:
    4:4:4 yes, 4:2:0 yes)" is jargon to a support agent). H.264 4:4:4 is
    the host's video in full colour detail, 4:2:0 with colour at half
    resolution (softer text and edges in video areas); with neither, the
    host sends moving areas as pictures instead (capabilities_from)."""
    if hello["h264_444"]:
        how = "video areas play in the browser"
    elif hello["h264_420"]:
        how = "video areas look softer (this browser cannot show full colour detail)"
    else:
        how = ("this browser cannot play video: moving areas come as still pictures instead,"
               " which may move less smoothly")  # fmt: skip
    return f"page opened; {how}; connecting to the host"


class WebViewer:
    """Runs the session: ``await WebViewer(connect, options).run()`` returns why
    it ended. ``url`` is set once the server listens; ``viewer`` once joined.
    :meth:`leave` ends it from outside the page, at whatever stage it is.

    ``connect`` opens the sealed channel to the host (direct or relay).
    """

    def __init__(
        self, connect: Callable[[], Awaitable[Channel]], options: WebOptions | None = None
    ) -> None:
        self.options = options or WebOptions()
        self._connect = connect
        self.bridge: WebBridge | None = None
        self.server: WebServer | None = None
        self.viewer: Viewer | None = None
        self.url = ""
        self.listening = asyncio.Event()
        self._page_left = False  # the watchdog ended the session: the page stayed away
        self._leaving = asyncio.Event()
        #: The signal that stopped the viewer program, by name ("SIGTERM",
        #: "SIGHUP": :meth:`leave`), else None (the agent's own leaving).
        self.stopped_by: str | None = None
        #: The page's Leave was pressed before :meth:`leave` was called: the
        #: run's end is the agent's own leaving, whatever stopped the program.
        self.page_left_first = False
        #: The session was joined (the page's stop banner says whether it began).
        self._began = False
        #: A lost link is being taken up again (no Bye reaches the host).
        self._away = False
        #: Set when the run ended on a lost link it did not take up again.
        self.lost_end: LostEnd | None = None

    @property
    def ended_away(self) -> bool:
        """The session ended while the agent was away (the host's user ended
        it, or its display went, meanwhile): an end, not a lost link."""
        return self.lost_end is not None and self.lost_end.how == "away"

    @property
    def not_back_in(self) -> bool:
        """Reconnected after a lost link, the host's user asked again did
        not let the agent back in: a refusal."""
        return self.lost_end is not None and self.lost_end.how == "not back in"

    def leave(self, stopped_by: str | None = None) -> None:
        """Leave the session as the page's Leave button does, whatever the
        run is doing: joined, or while the host's user is being asked, the
        host gets the agent's Bye (a question is withdrawn); the page is told
        the session ended; the server closes. :meth:`run` then returns
        :data:`LEFT_HERE` (before the page opened, at once).

        ``stopped_by``: the signal that stopped the viewer program
        (:data:`STOPPED_BY`: a service manager, a logout, a closed terminal
        window), not the agent's own leaving (Ctrl-C, --duration): the page
        says the program was stopped, by which signal, not "You left the
        session." (page51), and so do the rows of uploads it cut short."""
        if self.bridge is not None and self.bridge.left and not self._leaving.is_set():
            # The page's Leave came first: its Bye went, the host read "the
            # agent left the session"; a stop right after it is not told as
            # the end (words52: the page and the terminal said "stopped by
            # SIGTERM" of a session the agent had left with Leave).
            self.page_left_first = True
        elif stopped_by in STOPPED_BY and self.stopped_by is None:
            self.stopped_by = stopped_by
        self._leaving.set()

    async def _unless_leaving(self, aw: Awaitable[T]) -> T:
        """``await aw``, unless :meth:`leave` is called first: ``aw`` is then
        cancelled and :class:`_LeftError` raised."""
        task = asyncio.ensure_future(aw)
        leaving = asyncio.ensure_future(self._leaving.wait())
        try:
            done, _ = await asyncio.wait({task, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leaving.cancel()
            # Asked again while it runs: Python 3.11's wait_for drops a
            # cancellation that meets its inner future's result (cli/view_signals.py).
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.2)
        if task not in done:
            raise _LeftError
        return task.result()

    async def run(self) -> str:
        opts = self.options
        bridge = self.bridge = WebBridge(opts.who)
        server = self.server = WebServer(bridge.on_page, port=opts.port,
                                         on_refused=telling_refusals(opts.on_step))  # fmt: skip
        tmp = None
        reaping: asyncio.Future[None] | None = None
        try:
            self.url = await server.start()
            self.listening.set()
            opts.on_url(self.url)
            try:
                hello = await self._unless_leaving(wait_for(
                    page_opened(self.url, bridge.hello, opts.on_step, open_it=opts.open_browser,
                                asked=server.page_asked),
                    opts.page_timeout))  # fmt: skip
            except _LeftError:  # nothing is connected: the page, if it is there, is told
                return self._ended(bridge, LEFT_HERE)
            opts.on_step(page_words(hello))
            if opts.open_browser:
                reaping = asyncio.ensure_future(reap_browsers())
            if opts.download_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="screencodec-files-")
            else:  # it stays there: the terminal says where (walk43)
                bridge.on_saved = lambda path, size: opts.on_step(
                    f"saved {safe_text(path.name, 255)!r} ({amount(size)}) from the user in"
                    f" {safe_text(path, 1000)}")  # fmt: skip
            files = bridge.make_files(server.files)
            files.kept_in = opts.download_dir
            bridge.status("Connecting to the host...")
            try:
                channel = await self._unless_leaving(self._connect())
            except _LeftError:
                bridge.status("Not connected")
                return self._ended(bridge, LEFT_HERE)
            except (ScreencodecError, OSError, ValueError) as exc:
                # ValueError: a code or password that is not of the right form
                # (transport/channel/codes.py); the page must say so too, not
                # only the terminal.
                bridge.status("Not connected")
                bridge.banner("error", f"Could not connect: {exc}")
                raise
            make = self._viewer_maker(bridge, hello, files, tmp)
            viewer = make(channel, None, None)
            bridge.status("Waiting for the user to accept...")
            joined = await self._join(viewer, bridge, VIEW)
            if isinstance(joined, str):
                return joined
            if opts.control:
                asking = asyncio.ensure_future(bridge.ask_control(viewer))
                asking.add_done_callback(lambda _t: None)
            self._began = True
            reason = await self._bridge_until_end(viewer, bridge)
            # A lost link (no Bye; the agent's Wi-Fi, a relay restarting) is
            # taken up again with the session's ticket, the host's user not
            # asked again (transport/session/resume.py).
            while viewer.link_lost and viewer.resume_ticket is not None:
                lost = reason
                self._away = True
                bridge.reconnecting()
                if opts.kept and viewer.host_keeps:
                    # Now, while reconnecting: the page's picture no longer
                    # changes, and hashing it takes a while (docs/web.md).
                    bridge.ask_kept()
                bridge.status(f"Reconnecting, for up to {opts.resume_within:.0f} s...")
                bridge.banner("lost", lost_banner(lost))
                # Why, as view says it (walk38: "(nothing came from the host for 10 s)").
                opts.on_step(reconnecting_line(lost_words(lost) or LOST_WORDS,
                                               opts.resume_within))  # fmt: skip
                try:
                    channel = await self._unless_leaving(
                        reconnect(self._connect, within=opts.resume_within,
                                  on_attempt=_telling(bridge, opts.resume_within),
                                  refused_is_final=opts.host_direct))
                except _LeftError:
                    bridge.status("Not connected")
                    return self._ended(bridge, LEFT_HERE)
                except (ScreencodecError, OSError, asyncio.TimeoutError) as exc:
                    bridge.status("Not connected")
                    how = ended_while_away(exc)  # a relay's word: said as the terminal says it
                    if opts.host_direct and refused(exc):  # all it knows (words39)
                        self.lost_end = LostEnd(lost, "no answer")
                        return self._ended(bridge, f"{lost}{UNANSWERED}",
                                           f"{_LOST_TEXT}, and {_NO_ANSWER_TEXT}.")
                    if how is EndedAway.STOPPED:  # a relay saw its program stop
                        self.lost_end = LostEnd(lost, "gone")
                        return self._ended(bridge, f"{lost}{GONE}", f"{_LOST_TEXT}, and the"
                                           " host no longer answers (its program has stopped).")
                    if how is not None:  # the host ended it meanwhile: not lost (ends36)
                        self.lost_end = LostEnd(lost, "away", away=how)
                        return self._ended(bridge, f"{lost}{AWAY[how]}",
                                           f"{_LOST_TEXT}, and {_AWAY_TEXT[how]}.")
                    why = attempt_words(exc, opts.resume_within)
                    self.lost_end = LostEnd(lost, "failed", why)
                    return self._ended(bridge, f"{lost}{FAILED}{why})",
                                       f"{_LOST_TEXT}; could not reconnect: {why[:200]}.")
                self._away = False  # reconnected: a Bye reaches the host again
                held = viewer.level
                viewer = make(channel, viewer, await bridge.kept_picture())
                # The host may ask its user again (the session ended meanwhile):
                # said while it waits (walk36: "Reconnecting, for up to 56 s
                # more: ..." stayed, the count stopped, until the answer).
                bridge.status(REASKED_STATUS)
                bridge.banner("lost", REASKED_BANNER)  # it said "was lost: reconnecting..."
                opts.on_step(reconnected_line(channel))  # REASKED_LINE, or where it got in
                try:
                    joined = await self._join(viewer, bridge, held, again=True)
                except ConsentDeniedError as exc:  # asked again, and no: a refusal
                    self.lost_end = LostEnd(lost, "not back in", str(exc))
                    return self._ended(bridge, f"{lost}{NOT_BACK_IN}{exc})",
                                       f"{_LOST_TEXT}, and {not_let_back_in(exc, 'the user')}.")
                if isinstance(joined, str):
                    return joined
                bridge.resumed()
                # Said once the host's hello (which run() reads next) tells
                # whether it took the session up or began a new one.
                told = asyncio.ensure_future(_tell_rejoined(viewer.events(), viewer, bridge,
                                                            self.options.on_step))  # fmt: skip
                try:
                    reason = await self._bridge_until_end(viewer, bridge)
                finally:
                    told.cancel()
            if reason == _CLOSED_HERE:
                # Our own bye closed the channel (Leave, or the page stayed away):
                # say which, not the channel's words.
                reason = (
                    f"the agent closed the web viewer page (it did not come back within "
                    f"{self.options.grace:g} s)"
                    if self._page_left
                    else LEFT_HERE
                )
            return self._ended(bridge, reason)
        finally:
            # Each stage runs even when the run is cancelled in an earlier one
            # (--duration running out as the session ends): a cancellation
            # interrupts only the await it lands in.
            try:
                bridge.settle()  # what was held for a resume that will not come
                await bridge.uploads_over()  # each upload's row says how it ended
                if tmp is not None and bridge.files is not None:
                    self._not_kept(bridge.files, server.fetched)
                await bridge.drain()  # the page gets the last banner before the socket closes
            finally:
                try:
                    await bridge.shut(server)  # in order: the page read all we sent
                finally:
                    if tmp is not None:
                        tmp.cleanup()
                    if reaping is not None:
                        reaping.cancel()

    def _not_kept(self, files: PageFiles, fetched: set[int]) -> None:
        """The files received into the temporary folder that the page never
        saved are said lost, on the page and in the terminal, before the
        folder goes (walk42: the row kept a Save link that fetched nothing,
        and nothing was said)."""
        for name, size in files.not_kept(fetched):
            self.options.on_step(
                f"not kept: {safe_text(name, 255)!r} ({amount(size)}) from the user was not"
                " saved from the page before the session ended; its copy was removed with"
                " the viewer's temporary folder (view --web --download-dir DIR keeps each"
                " file you accept)")

    def _viewer_maker(
        self, bridge: WebBridge, hello: dict[str, Any],
        files: PageFiles, tmp: tempfile.TemporaryDirectory[str] | None,
    ) -> Callable[[Channel, Viewer | None, KeptPicture | None], Viewer]:
        """How a Viewer for the page is made, on the first channel and on each
        new one after a lost link (``before``: the viewer it resumes;
        ``picture``: the page's digest of the picture it kept)."""
        opts = self.options

        def make(on: Channel, before: Viewer | None, picture: KeptPicture | None) -> Viewer:
            viewer = self.viewer = Viewer(
                on,
                who=opts.who,
                capabilities=capabilities_from(hello),
                sink=bridge,
                download_dir=opts.download_dir or Path(tmp.name if tmp else "."),
                file_consent=files.ask,
                max_pixels=min(opts.max_pixels, PAGE_MAX_PIXELS),
                resume=None if before is None else before.resume_ticket,
                picture=None if before is None else picture,
            )
            viewer.on_early_chat = opts.on_early_chat
            bridge.attach(viewer)
            return viewer

        return make

    async def _join(
        self, viewer: Viewer, bridge: WebBridge, level: Permission, *, again: bool = False
    ) -> str | None:
        """Ask the host for ``level`` (its user is asked, unless the viewer
        resumes a session); None once granted, else why the run ended.
        ``again``: after a lost link, said as ``view`` in a terminal says it."""
        try:
            await self._unless_leaving(viewer.start(level))
        except _LeftError:
            # The host's user is being asked: the Bye withdraws the question.
            with contextlib.suppress(ScreencodecError, OSError):
                await viewer.bye(self._bye_words())
            bridge.status("Not connected")
            return self._ended(bridge, LEFT_HERE)
        except ConsentDeniedError as exc:
            bridge.status("Not connected")
            if not again:  # else the run's end banner says it (not let back in)
                bridge.banner("ended", f"Not shared: {exc}.")
            raise
        except (ScreencodecError, OSError) as exc:
            # The channel failed before the answer (the host went away):
            # the page would otherwise keep "Waiting for the user to accept".
            bridge.status("Not connected")
            bridge.banner("error", f"The session could not start: {exc}")
            raise
        bridge.send_level()
        bridge.status("Connected")
        if not again:  # else told by _tell_rejoined, once the host said what it took up
            self.options.on_step(f"connected to {viewer.channel.peer}, granted: {viewer.level}")
        return None

    async def _bridge_until_end(self, viewer: Viewer, bridge: WebBridge) -> str:
        """Run the joined session with the page until it ends; its reason.
        A session the viewer ends with an error (a record that fails
        authentication, a host breaking the protocol) is told to the page
        too, before the error goes on to the caller."""
        task = asyncio.ensure_future(viewer.run())
        watchdog = asyncio.ensure_future(self._watch_page(viewer, bridge))
        leaving = asyncio.ensure_future(self._leave_when_asked(viewer))
        try:
            return await task
        except (ScreencodecError, OSError) as exc:
            bridge.status("Not connected")
            self._ended(bridge, f"channel closed: {exc}")
            raise
        finally:
            for helper in (watchdog, leaving):
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper

    def _ended(self, bridge: WebBridge, reason: str, text: str | None = None) -> str:
        """Tell the page the session ended and why (its banner ``text``, by
        default the reason's words: :func:`_ended_text`); returns ``reason``.
        The agent's own leaving (:data:`LEFT_HERE`) cancels its uploads; a
        stop by a signal (:meth:`leave`'s ``stopped_by``) is said as such,
        its ``ended`` message naming the signal (the page's own words for
        the rows it was still copying: app/main.js)."""
        stopped = self.stopped_by if reason == LEFT_HERE else None
        if stopped is not None:
            bridge.stopped_by = stopped  # before settle: its upload rows' words
        bridge.settle(left=reason == LEFT_HERE)
        if stopped is None:
            bridge.banner("ended", text or _ended_text(reason))
            bridge.send({"t": "ended", "reason": fit(reason, 300)})
            return reason
        how = "away" if self._away else "began" if self._began else "before"
        bridge.banner("ended", STOPPED_TEXT[how].format(stopped))
        bridge.send({"t": "ended", "reason": f"the viewer was stopped by {stopped}",
                     "stopped": stopped})  # fmt: skip
        return reason

    async def _leave_when_asked(self, viewer: Viewer) -> None:
        """Say the agent's Bye once :meth:`leave` is called (the run then ends)."""
        await self._leaving.wait()
        if self.bridge is not None:
            if self.bridge.left and self.stopped_by is not None:
                # The page's Leave came as the signal did, before this woke:
                # its Bye went first, and the end is the agent's (words52).
                self.stopped_by, self.page_left_first = None, True
            self.bridge.left = True  # before the Bye: a file it cuts short was cancelled
            self.bridge.stopped_by = self.stopped_by  # by a signal: said so (page51)
        with contextlib.suppress(ScreencodecError, OSError):  # the run reads why it ended
            await viewer.bye(self._bye_words())

    def _bye_words(self) -> str:
        """What the agent's Bye tells the host: the agent left (Leave,
        Ctrl-C, --duration), or a signal stopped the viewer program
        (words52: the host's user read "the agent left the session" of a
        service manager's stop)."""
        return LEFT_HERE if self.stopped_by is None else VIEWER_STOPPED.format(self.stopped_by)

    async def _watch_page(self, viewer: Viewer, bridge: WebBridge) -> None:
        """End the session when the page has been gone for ``grace`` seconds."""
        while True:
            await bridge.page_gone.wait()
            bridge.page_seen.clear()
            if not bridge.page_gone.is_set():
                continue  # it came back before this task woke up
            try:
                await wait_for(bridge.page_seen.wait(), self.options.grace)
            except asyncio.TimeoutError:
                self._page_left = True
                await viewer.bye("the agent closed the web viewer")
                return


class _LeftError(Exception):
    """:meth:`WebViewer.leave` was called before the session was joined."""


#: The signals :meth:`WebViewer.leave` is told of by name: those that stop
#: ``view --web`` (cli/view_signals.ending_signals), the page's schema.js
#: takes no other in an ``ended`` message's ``stopped``.
STOPPED_BY = ("SIGTERM", "SIGHUP")
#: The page's end banner when a signal stopped the viewer program (page51:
#: it said "You left the session." to an agent who had not): once the
#: session was joined, before, and while a lost link was being taken up
#: again (no Bye could reach the host: the terminal says so too,
#: cli/view_ending.LEFT_AWAY).
_PROGRAM = "the viewer program (screencodec view --web)"
STOPPED_TEXT = {
    "began": f"The session has ended: {_PROGRAM} was stopped by {{}}.",
    "before": f"{_PROGRAM[0].upper()}{_PROGRAM[1:]} was stopped by {{}} before the session began.",
    "away": f"The session has ended: {_PROGRAM} was stopped by {{}} while reconnecting; the"
            " user's computer could not be told, and its user may be told for a minute or more"
            " that you can still come back.",
}  # fmt: skip


#: Viewer.run's reason when this side closed the channel (viewer.bye).
_CLOSED_HERE = "channel closed: closed locally"
#: Why a host's side ends a session when its user stops sharing: its session
#: layer's goodbye (link.py; Host.disconnect's default), its listener's
#: close when the host program itself stops (connect/accept.py), and
#: ``screencodec host``'s ``/end``, Ctrl-C, SIGTERM and SIGHUP (cli/host_lines.py
#: ENDED_BY_USER).
_USER_STOPPED = (
    "the local user stopped sharing", "host ended", "the host ended the session",
    "the host's user ended the session",
)  # fmt: skip


#: How :meth:`WebViewer.run` words a lost link it could not take up again:
#: ``LOST`` (the viewer's reason for the lost link) followed by :data:`GONE`
#: (a relay saw the host's program stop), by :data:`UNANSWERED` (a host
#: reached directly refused: why, it cannot know), by one of :data:`AWAY`
#: (the session ended while the agent was away: not a lost one), or by
#: :data:`FAILED`, why, and ")".
#: The run sets :attr:`WebViewer.lost_end` as it makes them: cli/view.py
#: words the terminal's last line and its exit status from that (before
#: audit38 it read them back from the reason's end, the host's words in it).
GONE = " (its program has stopped)"
UNANSWERED = " (the host no longer answers)"
FAILED = " (reconnecting failed: "
#: ... or by this, the host's answer and ")": reconnected, the host's user
#: was asked again and did not let the agent back in (exit status 3).
NOT_BACK_IN = " (not let back in: "
#: The page's status and the terminal's line once reconnected, until the host
#: answers (the terminal view's words: cli/view_ending.py).
REASKED_STATUS = ("Reconnected; waiting for the user's computer (the user is asked again if"
                  " the session could not be resumed)...")  # fmt: skip
REASKED_BANNER = ("The connection to the user's computer is back: waiting for it to take"
                  " the session up (the user is asked again if it could not be resumed)..."
                  )  # fmt: skip
REASKED_LINE = ("reconnected; waiting for the host (its user is asked again if the session"
                " could not be resumed)")  # fmt: skip
AWAY = {
    EndedAway.ENDED: " (the host's user ended the session meanwhile)",
    EndedAway.DISPLAY_GONE: " (the host's X display went meanwhile)",
}
#: The start of the page's end banner for such a link.
_LOST_TEXT = "The session has ended: the connection to the user's computer was lost"
#: What follows it, after ", and ", for a host reached directly that refused
#: every reconnection (the terminal's words: cli/view_ending.NO_ANSWER).
_NO_ANSWER_TEXT = ("it no longer answers: the user may have ended the session, or their"
                   " computer went offline or the program stopped")  # fmt: skip
#: What follows it, after ", and ", for a session that ended while the
#: agent was away (the terminal's words: cli/view_ending._AWAY_WORDS).
_AWAY_TEXT = {
    EndedAway.ENDED: "the user had ended the session while you were away",
    EndedAway.DISPLAY_GONE: "the user's X display was gone while you were away: its screen,"
                            " mouse and keyboard could no longer be used, and the host stopped",
}  # fmt: skip


def _telling(bridge: WebBridge, within: float) -> Callable[[int, BaseException | None], None]:
    """``reconnect``'s ``on_attempt`` for the page: the status says, at each
    failed attempt, how long the run goes on trying and why the attempt
    failed (the relay's word on the host: how long it has not been heard
    from), as ``view``'s "still reconnecting" lines do."""
    loop = asyncio.get_running_loop()
    until = loop.time() + within

    def tried(_attempt: int, error: BaseException | None) -> None:
        if error is not None:
            # A refusal in the relay's or host's own words, as view's "still
            # reconnecting" lines say it, not a first connection's advice
            # (walk42: "no session with that code ...: check the 9-digit code"
            # of the code that opened this session; cli/view_connect.py's
            # error keeps what it explains).
            inner = getattr(error, "explains", None)
            if isinstance(inner, AccessRefusedError):
                error = inner
            left = max(0.0, until - loop.time())
            # A socket's words plainly (page46: "the peer closed the connection").
            bridge.status(f"Reconnecting, for up to {left:.0f} s more: "
                          f"{plain_attempt(attempt_words(error, within))}")  # fmt: skip

    return tried


#: The page's banner once the host said what it took up after a lost link
#: (:class:`~screencodec.transport.session.events.SessionRejoined`'s ``resumed``).
REJOINED_TEXT = {
    True: "Reconnected: the session goes on.",
    False: "Reconnected, in a new session: the user had ended the session while you were away"
           " (or it had run out) and let you in again; what they wrote meanwhile did not come.",
    None: "Reconnected (this host's version does not say whether the session went on or a"
          " new one began).",
}  # fmt: skip


async def _tell_rejoined(events: Subscription, viewer: Viewer, bridge: WebBridge,
                         say: Callable[[str], None]) -> None:  # fmt: skip
    """Tell the page and the terminal, once the host's hello came after a lost
    link (``events``: the resuming viewer's, subscribed before its run reads),
    whether the session goes on or a new one began: walk32 read "Reconnected:
    the session goes on." of a session its user had ended while it was away."""
    try:
        async for ev in events:
            if isinstance(ev, SessionRejoined):
                bridge.banner("resumed", REJOINED_TEXT[ev.resumed])
                say(ev.describe(viewer.level))
                return
            if isinstance(ev, SessionEnded):
                return
    finally:
        events.close()


def _ended_text(reason: str) -> str:
    """The end banner in the words a support agent reads: who ended it and why,
    without the channel's layers ("channel closed: closed by peer: ...")."""
    if reason.startswith("the agent "):
        return "You left the session."  # a closed page sees no banner; a reload does not end it
    why = reason
    for layer in ("host said bye: ", "channel closed: closed by peer: "):
        if reason.startswith(layer):
            why = reason.removeprefix(layer)
            if why in _USER_STOPPED:
                return "The session has ended: the user ended the session."
            if why == MOVED:  # the agent's newer connection took it over (resume38)
                return ("The session has ended here: a newer connection of yours took it"
                        " over (the same session, resumed elsewhere).")
            return f"The session has ended: {why[:200]}."
    if reason.startswith("channel closed: "):
        why = reason.removeprefix("channel closed: ")[:200]
        return f"The session has ended: the connection to the user's computer was lost ({why})."
    return f"The session has ended ({why[:200]})."
