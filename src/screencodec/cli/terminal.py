"""Writing to a terminal that may be gone, and keeping what the person types
whole while lines are printed.

After SIGHUP (the terminal window was closed) every write to it fails with
EIO. The commands still end their sessions cleanly then; what they meant to
print goes nowhere. A line left in stdout's buffer would fail once more at
exit and make the exit status 120, so once a write fails stdout is pointed at
/dev/null.

A chat or status line printed while the person has typed half a line used to
land in the middle of it ("/say helagent 'Dana' says: hi", then "lo" alone
on the next row). :class:`TypedLine` edits the line itself, as readline
does: the terminal echoes nothing, the typed text is kept, and a line
printed meanwhile takes the typed text's place, which is typed again after
it.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import io
import os
import re
import shutil
import signal
import sys
import threading
import unicodedata
from collections.abc import Hashable, Iterator
from typing import Any, TextIO, cast

from screencodec.transport.channel.display import in_words

try:
    import termios
except ImportError:  # not a POSIX system: lines are read as typed, echoed by the terminal
    termios = None  # type: ignore[assignment]

__all__ = [
    "LOG_EVERY", "MOVING_AFTER", "STILL_AFTER", "StatusLines", "TypedLine", "drop_stdout",
    "ending_signals", "in_words", "rtt_band", "rtt_shown", "settle_stdout", "signals_given_back",
    "tell",
]  # fmt: skip

def ending_signals() -> list[int]:
    """The signals a command ends its session on, as the user's Ctrl-C:
    SIGTERM (a logout, a service manager) and SIGHUP (the terminal window
    closed), each unless it is ignored: started under ``nohup`` a command
    must outlive its terminal, as the user asked."""
    names = ("SIGTERM", "SIGHUP")
    sigs = [getattr(signal, name) for name in names if hasattr(signal, name)]
    return [sig for sig in sigs if signal.getsignal(sig) is not signal.SIG_IGN]


@contextlib.contextmanager
def signals_given_back(*sigs: int) -> Iterator[None]:
    """While inside, a command may handle ``sigs`` itself (its event loop's
    handlers); after, each has the handler it had before. An event loop
    that closes puts the default back (SIG_DFL; SIGINT's, Python's), so a
    program that ran ``host`` or ``relay`` inside it (``cli.main`` called
    in-process) then died of its next SIGTERM, its own handler never called
    (walk34; ``view`` gives them back itself: cli/view.py). One not set from
    Python (``getsignal`` None) is left as the loop left it; outside the
    main thread nothing can be set, nor was."""
    previous = {sig: signal.getsignal(sig) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                with contextlib.suppress(ValueError):  # not the main thread
                    signal.signal(sig, handler)


def tell(text: str) -> None:
    """Print a line and flush it; when the terminal is gone, drop stdout."""
    try:
        print(text, flush=True)
    except OSError:
        drop_stdout()


def settle_stdout() -> None:
    """Flush what stdout still holds; when the terminal is gone, drop it."""
    try:
        sys.stdout.flush()
    except OSError:
        drop_stdout()


def drop_stdout() -> None:
    """Point stdout's file descriptor at /dev/null: what its buffer still
    holds then goes nowhere instead of failing at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def _columns() -> int:
    """The width of the terminal stdout is, asked of the terminal itself:
    ``shutil.get_terminal_size`` takes $COLUMNS first, which a parent (make,
    a CI runner) may have set to another window's width. A terminal that
    says 0 (a pseudo-terminal nobody sized) has no width: then shutil's
    answer ($COLUMNS, else 80)."""
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns if columns > 0 else shutil.get_terminal_size().columns


#: Seconds a picture shows 0 fps before its status line says so again, and
#: 1 fps or more before it says that (:meth:`StatusLines.due`).
STILL_AFTER = 10.0
MOVING_AFTER = 1.5
#: Seconds between a log's status lines while nothing in them changes
#: (:class:`StatusLines`' ``log_every``); shorter with
#: $SCREENCODEC_TEST_LOG_EVERY (tests only): a test that lets a stopped view
#: go reads its decoded count grow, where nothing new may be due for a minute.
LOG_EVERY = float(os.environ.get("SCREENCODEC_TEST_LOG_EVERY", "60"))


class StatusLines:
    """When a status line (the host's ``[shared]``, the agent's ``[view]``)
    is worth printing, and how wide it may be.

    A status line is printed when what a person cares about in it changed
    (its ``news``: the picture's size, decode errors, the link getting slow,
    input dropped, the picture starting or ceasing to change: :meth:`due`'s
    ``fps``), for each ``who`` at most once per ``gap`` seconds (a
    change that comes sooner waits for the next tick). Its first line is
    printed at once. Written to a log (stdout not a terminal) a line is also
    printed every ``log_every`` seconds while nothing changes, with the
    figures of the moment; on a terminal never: the lines printed every
    second drowned out the chat and the questions. On a terminal a line is
    cut to the terminal's width (:meth:`fit`): a wrapped line took two or
    three rows of a 40-column window.

    Whole lines only, each printed by the caller: nothing is rewritten in
    place, so a status never lands in the middle of a chat line, a question
    or what the person is typing. One event loop; ``now`` is its clock.
    """

    def __init__(self, out: TextIO | None = None, *, gap: float = 5.0,
                 log_every: float = LOG_EVERY) -> None:  # fmt: skip
        self._out = out
        self.gap = gap
        self.log_every = log_every
        self._last: dict[str, tuple[tuple[Hashable, bool | None], float]] = {}
        #: Per ``who``: whether its picture counts as changing, whether the
        #: last fps showed a change, and since when it has (or has not).
        self._moving: dict[str, tuple[bool, bool, float]] = {}

    @property
    def on_terminal(self) -> bool:
        out = self._out or sys.stdout
        try:
            return out.isatty()
        except (OSError, ValueError):  # closed: the program is ending
            return False

    def due(self, who: str, news: Hashable, now: float, fps: float | None = None) -> bool:
        """Whether ``who``'s status line is to be printed now (it is then
        counted as printed). With ``fps`` (the picture's rate now), whether
        the picture changes (:meth:`_moving_now`) is news too, and is told at
        once, the gap not waited for: its changes are spaced by
        :data:`STILL_AFTER` already, and the line printed 5 s late read
        ``0 fps`` for a picture told as having started to change."""
        moving = None if fps is None else self._moving_now(who, fps, now)
        last = self._last.get(who)
        if last is not None:
            (told, told_moving), at = last
            # The first figures (told_moving None) wait the gap as any news.
            if now - at < self.gap and told_moving in (None, moving):
                return False
            if (news, moving) == (told, told_moving) and (
                    self.on_terminal or now - at < self.log_every):  # fmt: skip
                return False
        self._last[who] = ((news, moving), now)
        return True

    def forget(self, who: str) -> None:
        """``who`` is gone: its next line, if it comes back, is a first one."""
        self._last.pop(who, None)
        self._moving.pop(who, None)

    def still(self, who: str) -> bool:
        """Whether ``who``'s picture counts as still (:meth:`_moving_now`,
        as the last :meth:`due` with ``fps`` judged it). A line says
        "still" then, not the fps of the moment: the join's picture, or a
        clock's minute, read "1 fps" on a still screen."""
        state = self._moving.get(who)
        return state is not None and not state[0]

    def _moving_now(self, who: str, fps: float, now: float) -> bool:
        """Whether ``who``'s picture changes: once ``fps`` has shown 1 or
        more for :data:`MOVING_AFTER` seconds, and until it has shown 0 for
        :data:`STILL_AFTER` seconds. So a customer typing in bursts is one
        change, and a lone update (a clock's minute, the join's picture) is
        none: not two lines a minute. walk41: ``[view] 1280x720 decoded 1:
        0 fps`` stayed the last line for minutes while pictures flowed (only
        the size, errors and round trip were news)."""
        was, changing, since = self._moving.get(who, (False, False, now))
        if (fps >= 0.5) != changing:  # shown as 1 fps or more, or as 0: a new run
            changing, since = not changing, now
        run = now - since
        moving = (was or run >= MOVING_AFTER) if changing else (was and run < STILL_AFTER)
        self._moving[who] = (moving, changing, since)
        return moving

    def fit(self, text: str, keep: str = "", head: str = "") -> str:
        """``head``, ``text`` and ``keep`` in a line cut to the terminal's
        width (one column spare, so the cursor does not wrap); whole in a
        log. What is cut, marked "...", is ``text`` first, at a blank
        (its figures: "rtt 1 ...", never a number cut in two), then
        ``head``'s end; ``keep`` stays whole while 12 columns fit before
        it (walk52: "their input ignored: 1..." of 12 keys, the news the
        line was printed for, read as one key)."""
        whole = head + text + keep
        if not self.on_terminal:
            return whole
        width = max(_columns() - 1, 20)
        if len(whole) <= width:
            return whole
        room = width - len(head) - len(keep)
        if room >= 12:
            return head + _cut_at_blank(text, room) + keep
        room = width - len(keep)
        if room >= 12:
            return (head + text)[: room - 3] + "..." + keep
        return whole[: width - 3] + "..."


def _cut_at_blank(text: str, room: int) -> str:
    """``text`` cut to ``room`` columns with "..." at its end, at a blank:
    a figure is left out whole, and with it a number whose unit did not
    fit ("24 ..." of "24 kbit/s")."""
    words = text.split(" ")
    while words and len(" ".join(words)) + 4 > room:
        words.pop()
    if words and words[-1].replace(".", "").isdigit():
        words.pop()
    return " ".join([*words, "..."])


def rtt_band(rtt_ms: float) -> str:
    """The round trip in the words a person would use of it: a status line
    is printed again when it goes from one to another (as when the first
    round trip is measured: 0 stands for none yet, :func:`rtt_shown`)."""
    if rtt_ms <= 0:
        return "not measured"
    if rtt_ms < 200:
        return "fast"
    return "slow" if rtt_ms < 1000 else "very slow"


def rtt_shown(rtt_ms: float, decimals: int = 0) -> str:
    """`` rtt N ms`` for a status line, or "" before a round trip is
    measured: the host reports 0 until its first receipt (session/link.py),
    and "rtt 0 ms" was shown for a link of 40 ms (walk3) or of 1.2 s. A
    measured one that rounds to 0 is "<1" (or "<0.1")."""
    if rtt_ms <= 0:
        return ""
    least = 10.0**-decimals
    shown = f"<{least:.{decimals}f}" if rtt_ms < least / 2 else f"{rtt_ms:.{decimals}f}"
    return f" rtt {shown} ms"


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide characters two, combining
    marks none."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)  # fmt: skip


def _echoed(typed: str) -> str:
    """``typed`` as the terminal echoed it: a control character as ``^X``
    (an Escape, a cursor key's sequence), a tab as a space."""
    return "".join(" " if c == "\t" else f"^{chr(ord(c) ^ 0x40)}"
                   if unicodedata.category(c) == "Cc" else c for c in typed)  # fmt: skip


class TypedLine:
    """The line a person is typing at a terminal, kept whole while other
    lines are printed (what readline's redisplay does for a chat client).

    The terminal is put in non-canonical mode without echo (signals stay
    on: Ctrl-C is still SIGINT); :meth:`readline` reads the keys itself,
    echoes them and edits the line as the terminal did: Backspace, Ctrl-U
    (the whole line), Ctrl-W (a word), Enter, Ctrl-D on an empty line (end
    of input); any other key goes into the line, a control character shown
    as ``^X`` (a cursor key as ``^[[D``, as the terminal did). Everything the program
    prints goes through :attr:`stdout`: a line printed while something is
    typed first takes the typed text off the screen, is printed where the
    typed text began (after a question's "[y/N] ", say), and the typed text
    is put back after it, so the person sees it whole and goes on typing.
    :meth:`close` (also at exit) puts the terminal's modes back.

    State, under one lock (the reader thread echoes, the event loop
    prints): the text typed so far, what was printed since the last newline
    (:attr:`_tail`, on the row before the typed text) and what was written
    and not yet shown (shown at each newline and flush).
    """

    def __init__(self, fd: int, out: TextIO) -> None:
        assert termios is not None
        self._fd = fd
        self._real = out
        self._saved = termios.tcgetattr(fd)
        cc = self._saved[6]
        self._erase = {cc[termios.VERASE], b"\x7f", b"\x08"}
        self._kill, self._werase = cc[termios.VKILL], cc[termios.VWERASE]
        self._eof = cc[termios.VEOF]
        self._lock = threading.Lock()
        self._typed = ""
        self._tail = ""
        self._unshown = ""
        self._unread = ""  # keys read past the end of the last line
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._closed = False
        mode = termios.tcgetattr(fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSANOW, mode)
        self._mode = mode
        # Ctrl-Z, then fg: the shell gives the job the terminal back in its
        # own modes (canonical, echo), and every key showed twice (walk33).
        self._on_cont: Any = None
        with contextlib.suppress(ValueError, AttributeError):  # not the main thread; no SIGCONT
            self._on_cont = signal.signal(signal.SIGCONT, self._continued)
        atexit.register(self.close)
        self.stdout = cast(TextIO, _KeptLineOut(self, out))

    def _continued(self, signum: int, frame: Any) -> None:
        """SIGCONT (``fg`` after Ctrl-Z): this line's mode again. In the
        main thread, between two of its steps: no lock (it may hold it)."""
        if not self._closed:
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(self._fd, termios.TCSANOW, self._mode)
        if callable(self._on_cont):
            self._on_cont(signum, frame)

    @classmethod
    def on_terminal(cls, stdin: TextIO, stdout: TextIO) -> TypedLine | None:
        """A TypedLine when both ``stdin`` and ``stdout`` are a terminal,
        else None (a pipe, a log: lines are read as they come)."""
        if termios is None:
            return None
        try:
            if not (stdin.isatty() and stdout.isatty()):
                return None
            return cls(stdin.fileno(), stdout)
        except (OSError, ValueError, termios.error):
            return None

    def close(self) -> None:
        """Put the terminal's modes back (the typed text, never sent, is
        taken off the screen). Once; also at exit."""
        with self._lock:
            if self._closed:
                return
            with contextlib.suppress(OSError, ValueError):
                if self._typed:
                    self._real.write(self._back_to_typed())
                    self._typed = ""
                self._show_unshown()
                self._real.flush()
            self._closed = True
        with contextlib.suppress(OSError, ValueError, termios.error):
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        if self._on_cont is not None:
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(signal.SIGCONT, self._on_cont)

    # -- reading (a thread of its own) ------------------------------------

    def readline(self) -> str:
        """The next line typed, with its newline; "" at the end of input
        (Ctrl-D on an empty line, the terminal gone, :meth:`close`)."""
        while True:
            while self._unread:
                key, self._unread = self._unread[0], self._unread[1:]
                line = self._key(key)
                if line is not None:
                    return line
            if self._closed:
                return ""
            try:
                data = os.read(self._fd, 1024)
            except OSError:
                data = b""
            if not data:
                return ""
            self._unread = self._decoder.decode(data)

    def _key(self, key: str) -> str | None:
        """Take one key; the line when it ends one ("" at the end of input)."""
        with self._lock:
            if self._closed:
                return None
            if key in "\r\n":
                line, self._typed = self._typed + "\n", ""
                self._real.write("\n")
                self._real.flush()
                self._tail = ""
                return line
            raw = key.encode()
            if raw == self._eof:
                return "" if not self._typed else None
            if raw in self._erase:
                self._retype(self._typed[:-1])
            elif raw == self._kill:
                self._retype("")
            elif raw == self._werase:
                self._retype(re.sub(r"\S*\s*$", "", self._typed))
            else:  # as the terminal did, any other key goes into the line
                self._typed += key
                self._real.write(_echoed(key))
                self._real.flush()
            return None

    def _retype(self, typed: str) -> None:
        """Show ``typed`` in place of the typed text (lock held)."""
        if self._typed:
            self._real.write(self._back_to_typed())
        self._typed = typed
        self._real.write(_echoed(typed))
        self._real.flush()

    # -- printing --------------------------------------------------------

    def write(self, text: str) -> int:
        with self._lock:
            self._unshown += text
            if "\n" in text:
                self._show_unshown()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._show_unshown()
            self._real.flush()

    def _show_unshown(self) -> None:
        """Print what was written where the typed text began, then the typed
        text again after it (lock held)."""
        text, self._unshown = self._unshown, ""
        if not text:
            return
        if self._typed:
            self._real.write(self._back_to_typed() + text + _echoed(self._typed))
        else:
            self._real.write(text)
        self._tail = (self._tail + text).rpartition("\n")[2]
        self._real.flush()

    def _back_to_typed(self) -> str:
        """The control sequence that takes the cursor back to where the
        typed text begins and clears the screen from there (the text may
        have wrapped over rows; a terminal that wraps late keeps the cursor
        on a full row's last column)."""
        try:
            columns = os.get_terminal_size(self._real.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        columns = columns if columns > 0 else shutil.get_terminal_size().columns
        start = _width(self._tail) % columns
        rows = (start + _width(_echoed(self._typed)) - 1) // columns
        up = f"\x1b[{rows}A" if rows > 0 else ""
        right = f"\x1b[{start}C" if start else ""
        return f"{up}\r{right}\x1b[J"


class _KeptLineOut(io.TextIOBase):
    """stdout, through a :class:`TypedLine` (see there)."""

    def __init__(self, line: TypedLine, real: TextIO) -> None:
        super().__init__()
        self._line = line
        self._real = real

    def write(self, text: str) -> int:
        return self._line.write(text)

    def flush(self) -> None:
        self._line.flush()

    def fileno(self) -> int:
        return self._real.fileno()

    def isatty(self) -> bool:
        return self._real.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._real.encoding
