"""Opening the page's link in this machine's browser, and reaping the
browser processes started for it.

Python's ``webbrowser`` chooses the browser (``$BROWSER``, then the ones
it finds); the processes are started here, as it would start them, so that
each one's ``Popen`` is kept (:data:`STARTED`) and polled until it has
ended: ``webbrowser`` drops the ``Popen`` of a browser it leaves running,
and one that ended later stayed a zombie of this process (web39). Before
odds40 those were reaped through CPython's private ``subprocess._cleanup``
and ``_active``, which missed a browser still being waited for when the
page opened (odds40). Only the pids started here are waited for, never
any other child of the process (an embedder's).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
import webbrowser
from collections.abc import Iterator

__all__ = ["BACKGROUND_SETTLE", "REAP_EVERY", "STARTED", "TEXT_BROWSERS", "Started",
           "open_browser", "reap_browsers"]  # fmt: skip


class Started:
    """The browser processes started here that may not have ended yet, and
    how many browsers are being opened (a daemon thread each:
    :func:`open_browser`). Thread-safe: opened in those threads, reaped
    in the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[bytes]] = []
        self._opening = 0

    def keep(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """Keep ``proc`` until :meth:`reap` finds it ended; returns it."""
        with self._lock:
            self._procs.append(proc)
        return proc

    @contextlib.contextmanager
    def opening(self) -> Iterator[None]:
        """While a browser is being opened: what it starts comes later."""
        with self._lock:
            self._opening += 1
        try:
            yield
        finally:
            with self._lock:
                self._opening -= 1

    def reap(self) -> bool:
        """Reap each kept process that has ended (``Popen.poll``: its pid
        only) and forget it; whether any is left, or still to come."""
        with self._lock:
            self._procs = [proc for proc in self._procs if proc.poll() is None]
            return bool(self._procs) or self._opening > 0


#: This process's browsers (one list: a browser outlives the run that started it).
STARTED = Started()

#: How often :func:`reap_browsers` looks at them.
REAP_EVERY = 1.0


async def reap_browsers(started: Started = STARTED) -> None:
    """Reap the browser processes started here every :data:`REAP_EVERY`
    seconds while any is left or still being started: one that exits
    mid-session (its window closed, a launcher that hands the link on and
    ends) stayed a zombie until ``view --web`` ended (web39)."""
    while started.reap():
        await asyncio.sleep(REAP_EVERY)


def open_browser(url: str) -> asyncio.Future[bool]:
    """Open ``url`` in this machine's browser; the future is whether one was
    opened (False: none could be). Asked in a daemon thread, not awaited
    before the page is watched for: a program ``webbrowser`` runs in the
    foreground (``$BROWSER`` naming the browser itself, or a wrapper around
    one) is waited for until it ends, which a browser does when it is
    closed, and the page that opened meanwhile waited with it (web39:
    "Opening...", the host never contacted). A daemon thread: one of
    asyncio's executor would hold the process's exit until the browser
    closed."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bool] = loop.create_future()

    def settle(ok: bool) -> None:
        if not answer.done():
            answer.set_result(ok)

    def ask() -> None:
        with STARTED.opening():
            try:
                ok = _open_in_browser(url)
            except Exception:  # webbrowser.Error, OSError: no browser was opened
                ok = False
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, ok)

    threading.Thread(target=ask, name="web-browser", daemon=True).start()
    return answer


def _open_in_browser(url: str) -> bool:
    """``webbrowser.open(url)``, each browser started here (:data:`STARTED`
    keeps it) as ``webbrowser`` starts it, but for three things. A program it
    would run in the foreground and wait for (``GenericBrowser``: a
    ``$BROWSER`` whose name it does not know) is started in a session of its
    own, as every other browser is (``start_new_session``): in this
    terminal's process group, the agent's Ctrl-C at ``view --web`` reached
    it too, and with it the browser the agent works in (webtail39). And a
    program given the terminal's output gets /dev/null when that is a pipe
    or a file (:func:`_not_inherited`). And a text browser is not started
    (:data:`TEXT_BROWSERS`: none runs the page). The browsers are tried in
    ``webbrowser``'s order (:func:`_candidates`): one whose program is not
    there is passed over, as ``webbrowser.open`` passes it over, and the
    first that starts answers. Another kind (Konqueror) opens the link its
    own way, its processes left to it."""
    for browser in _candidates():
        if _draws_in_terminal(browser):
            continue
        try:
            return _open_one(browser, url)
        except OSError:  # not there: the next one, as webbrowser.open goes on
            continue
    return False


def _candidates() -> Iterator[webbrowser.BaseBrowser]:
    """The browsers ``webbrowser.open`` tries, in its order: ``$BROWSER``'s
    entries (``os.pathsep``-separated), then those it found. review40b: only
    the first was started here, and when its program was missing the link
    went to ``webbrowser.open``, which started the next entry its own way
    (in this terminal's process group, with ``view``'s pipes, not kept).
    The order is ``webbrowser``'s list of names (read, never changed); a
    Python without it gives the first browser only."""
    try:
        first = webbrowser.get()  # also makes webbrowser find its browsers
    except webbrowser.Error:
        return
    order = getattr(webbrowser, "_tryorder", None)
    if not isinstance(order, list) or not order:
        yield first
        return
    for name in list(order):
        try:
            yield webbrowser.get(name)
        except webbrowser.Error:
            continue


#: The text browsers ``webbrowser`` chooses where there is a terminal and
#: no display (as over SSH), by program name: none is started (review40b).
#: None runs the page (it showed "The viewer needs JavaScript."), and w3m
#: started on ``view``'s terminal drew over its lines and put the terminal
#: in raw mode: the agent's Ctrl-C no longer reached ``view`` until w3m was
#: quit. ``www-browser`` is Debian's name for the text one.
TEXT_BROWSERS = frozenset({"elinks", "links", "links2", "lynx", "w3m", "www-browser"})


def _draws_in_terminal(browser: webbrowser.BaseBrowser) -> bool:
    """Whether ``browser`` is a text browser (:data:`TEXT_BROWSERS`), also
    named by a path or with arguments in ``$BROWSER``."""
    words = str(getattr(browser, "name", "") or "").split()
    return bool(words) and os.path.basename(words[0]) in TEXT_BROWSERS


def _open_one(browser: webbrowser.BaseBrowser, url: str) -> bool:
    """Open ``url`` in ``browser`` (OSError: its program is not there)."""
    if isinstance(browser, webbrowser.UnixBrowser):  # Chromium, Firefox...
        return _open_unix(browser, url)
    # These two exactly: a subclass may open otherwise.
    if isinstance(browser, webbrowser.GenericBrowser) and type(browser) in (
            webbrowser.GenericBrowser, webbrowser.BackgroundBrowser):
        return _open_generic(browser, url)
    return bool(browser.open(url))


def _open_generic(browser: webbrowser.GenericBrowser, url: str) -> bool:
    """A program started with the link (``args``' ``%s``): in the
    background (``BackgroundBrowser``: xdg-open, gio, x-www-browser),
    :func:`_started_in_background`; else waited for, its exit status."""
    cmdline = [browser.name, *(arg.replace("%s", url) for arg in browser.args)]
    proc = STARTED.keep(subprocess.Popen(
        cmdline, close_fds=True, start_new_session=True,
        stdout=_not_inherited(1), stderr=_not_inherited(2)))  # fmt: skip
    if type(browser) is webbrowser.BackgroundBrowser:
        return _started_in_background(proc)
    return proc.wait() == 0


def _open_unix(browser: webbrowser.UnixBrowser, url: str) -> bool:
    """``UnixBrowser.open(url)`` (CPython 3.8 to 3.13): the browser asked
    to open the link in its running instance (``remote_args``, raised),
    waited for up to 5 s; if that failed, started with the link
    (``args``), in the background or waited for."""
    action = browser.remote_action or ""
    remote = [arg.replace("%s", url).replace("%action", action) for arg in browser.remote_args]
    if _invoke(browser, [arg for arg in remote if arg], remote=True):
        return True
    return _invoke(browser, [arg.replace("%s", url) for arg in browser.args], remote=False)


def _invoke(browser: webbrowser.UnixBrowser, args: list[str], *, remote: bool) -> bool:
    """One start of ``browser`` with ``args``, as ``UnixBrowser`` does it."""
    raised = browser.raise_opts[1] if remote and browser.raise_opts else ""
    cmdline = [browser.name, *([raised] if raised else []), *args]
    quiet = remote or browser.background
    inout = subprocess.DEVNULL if quiet else None  # a text browser draws on the terminal
    proc = STARTED.keep(subprocess.Popen(
        cmdline, close_fds=True, start_new_session=True, stdin=inout,
        stdout=inout if quiet and browser.redirect_stdout else _not_inherited(1),
        stderr=inout if quiet else _not_inherited(2)))  # fmt: skip
    if remote:
        # A remote call still running after 5 s has (hopefully) started a
        # new instance, as webbrowser takes it.
        try:
            return proc.wait(timeout=5) == 0
        except subprocess.TimeoutExpired:
            return True
    if browser.background:
        return proc.poll() is None
    return proc.wait() == 0


#: How long a program :func:`_open_in_browser` starts in the background
#: (xdg-open) is given to fail before it is taken to have opened the link.
#: Well inside ``web.run.PAGE_NUDGE_AFTER``; the wait is in a daemon thread.
BACKGROUND_SETTLE = 1.5


def _started_in_background(proc: subprocess.Popen[bytes]) -> bool:
    """Whether a program started in the background (xdg-open) opened the
    link: still running after :data:`BACKGROUND_SETTLE`, or ended with 0.
    ``webbrowser`` asks only whether it is still running the moment after
    it started, so an xdg-open that handed the link to the desktop's
    browser and exited at once read as no browser, some of the time (the
    last CI, exit 2 after 588 s), and one that failed slowly as
    a browser."""
    try:
        return proc.wait(timeout=BACKGROUND_SETTLE) == 0
    except subprocess.TimeoutExpired:
        return True  # still running: as a browser does


def _not_inherited(fd: int) -> int | None:
    """What a browser program started here gets as ``fd`` (1: stdout, 2:
    stderr): the terminal (None: inherited) when ``fd`` is one, as a text
    browser draws there; else /dev/null. tail39b: a pipe or file given to
    the browser (and the browser it starts) stayed open as long as it ran,
    so a script reading ``view --web``'s output to its end waited until the
    browser was closed, long after ``view`` exited."""
    try:
        return None if os.isatty(fd) else subprocess.DEVNULL
    except OSError:  # closed
        return subprocess.DEVNULL
