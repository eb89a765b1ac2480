"""How ``screencodec view`` takes Ctrl-C, SIGTERM and SIGHUP: while a
session is on (one scope from the first connection to the end line), the
first of them leaves it in order (:func:`_leave_on_signals`: the host gets
the agent's Bye); a wait on anything is cut short by the leaving
(:func:`_unless_left`); once the session is left, files the host's user
sent are saved first, unless the signal comes again (:func:`_saved_first`);
after it, Ctrl-C is ignored and SIGTERM and SIGHUP noted (ends53: the
default, given back, made a late SIGTERM exit -15) until the terminal is
put back; then each has the handler from before (cli/view.py ``run_view``).

Apart from the session loop because the handlers' order and the moments
they change hands are what its comments argue, and a reader checks them
here alone; it imports nothing of the other view modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from screencodec.cli.saving import again_words, finish_saving
from screencodec.cli.terminal import ending_signals, tell

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = [
    "_Left",
    "_again_on_ctrl_c",
    "_again_on_ending_signals",
    "_ctrl_c_ignored",
    "_given_back",
    "_leave_on_signals",
    "_saved_first",
    "_unless_left",
]

T = TypeVar("T")


class _Left(asyncio.Event):
    """Set when the agent leaves by a signal; ``signals``: those received."""

    def __init__(self) -> None:
        super().__init__()
        self.signals: list[int] = []

    def stop(self, sig: int) -> None:
        self.signals.append(sig)
        self.set()


@contextlib.contextmanager
def _leave_on_signals() -> Iterator[_Left]:
    """While inside, the first Ctrl-C (SIGINT), SIGTERM and SIGHUP set the
    event instead of ending the program: the session is then left like
    ``--duration`` leaves it (the host gets a Bye, the snapshot is still
    written). A second Ctrl-C interrupts at once; SIGTERM and SIGHUP again
    change nothing (the session is being left already), unless a file is
    being saved (:func:`_saved_first`). After, Ctrl-C is ignored and
    SIGTERM and SIGHUP are noted and let be (:func:`_noted`): the command
    has ended (its end line told), and a signal while the program closes
    (the page's server and browser, the event loop, the terminal) must not
    change its status (asyncio's Ctrl-C handler, given back, made it 130
    after a session the host had ended in order: the agent's Ctrl-C at its
    end line; SIGTERM's default, given back, killed ``view --web`` as it
    closed: -15, read as a crash by a shell or a service manager, ends53).
    cli/view.py's run_view gives each the handler from before the command
    once the terminal is put back."""
    left = _Left()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    ending = ending_signals()  # SIGTERM and SIGHUP, unless ignored (started under nohup)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *ending)}

    def first() -> None:
        left.stop(signal.SIGINT)
        installed.remove(signal.SIGINT)
        _given_back(loop, signal.SIGINT, previous[signal.SIGINT])

    try:
        loop.add_signal_handler(signal.SIGINT, first)
        installed.append(signal.SIGINT)
        for sig in ending:
            loop.add_signal_handler(sig, left.stop, sig)
            installed.append(sig)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        pass
    try:
        yield left
    finally:
        _ctrl_c_ignored(loop, mine=signal.SIGINT in installed)
        for sig in installed:
            if sig != signal.SIGINT:
                _given_back(loop, sig, _noted)


def _ctrl_c_ignored(loop: asyncio.AbstractEventLoop, *, mine: bool) -> None:
    """Ctrl-C ignored from now on, this command's handler (``mine``) taken
    off ``loop`` first. Not the handler before it meanwhile, even for a
    moment: asyncio's then cancelled the command that had ended, Python's
    raised KeyboardInterrupt, either an exit status 130 (1 run in 30 of a
    Ctrl-C sent as the end line was read). Taking the loop's off puts
    Python's back until the next line: a Ctrl-C there is ignored too."""
    try:
        if mine:
            loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _noted(signum: int, frame: Any) -> None:
    """SIGTERM's and SIGHUP's handler once the end line is told: the
    command finishes closing and exits with the status its end line stands
    for. A handler, not SIG_IGN: a process started from here meanwhile
    does not inherit it."""


def _given_back(loop: asyncio.AbstractEventLoop, sig: int, previous: Any) -> None:
    """Take this command's handler of ``sig`` off ``loop`` and put back
    ``previous``, the one before it (:func:`signal.getsignal`'s). The loop
    alone would leave the default (SIG_DFL): a program that runs this
    command inside it then died of its next SIGTERM, its own handler
    never called. None: the handler before was not set from Python; the
    default is the best guess."""
    loop.remove_signal_handler(sig)
    if previous is not None:
        signal.signal(sig, previous)


async def _unless_left(aw: Awaitable[T], left: asyncio.Event, timeout: float | None = None,
                       *, cancel: bool = False) -> tuple[bool, T | None]:  # fmt: skip
    """``(True, result)`` once ``aw`` is done, or ``(False, None)`` when the
    person left (or ``timeout`` passed) first; ``aw`` keeps running then,
    unless ``cancel`` (it is then cancelled and waited for)."""
    task = asyncio.ensure_future(aw)
    leaving = asyncio.ensure_future(left.wait())
    try:
        await asyncio.wait({task, leaving}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        leaving.cancel()
        # Python 3.11's wait_for drops a cancellation that meets its inner
        # future's result (a TCP connect completing as SIGTERM came): it
        # then went on with the handshake for its 10 s. So ask again.
        while cancel and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.2)
    if task.done() and not task.cancelled():
        return True, task.result()
    return False, None


async def _saved_first(run: Awaitable[T], viewer: Viewer, left: _Left) -> T:
    """``run``, the session being left, once the files the host's user sent
    whose end came are saved (it waits for them), said as the host says it
    (cli/saving.py): which files it waits for, at once, then each one's
    outcome; a Ctrl-C more leaves without them (otherwise it interrupts at
    once, as ever), and so does the SIGTERM or SIGHUP that made it leave,
    sent again (a service manager has no Ctrl-C to press)."""
    files = viewer.files
    again = asyncio.Event()
    stopped_by = left.signals[0] if left.signals else None

    def waits() -> list[object]:  # a half file being removed from the disk too (deflake39)
        return [*files.saving(), *files.removing()]

    with _again_on_ctrl_c(again, waits), _again_on_ending_signals(again, waits, left):
        return await finish_saving(run, files.saving, files.give_up, again=again, say=tell,
                                   sender=lambda f: "the host", outcomes=viewer.events(),
                                   leave=lambda: again_words(stopped_by),
                                   removing=files.removing)  # fmt: skip


@contextlib.contextmanager
def _again_on_ending_signals(
    again: asyncio.Event, saving: Callable[[], list[Any]], left: _Left
) -> Iterator[None]:
    """While inside, SIGTERM or SIGHUP while ``saving()`` has files sets
    ``again``; after, they leave as :func:`_leave_on_signals` made them."""
    loop = asyncio.get_running_loop()
    installed: list[int] = []

    def received(sig: int) -> None:
        if saving():
            again.set()
        else:
            left.stop(sig)

    try:
        for sig in ending_signals():
            loop.add_signal_handler(sig, received, sig)
            installed.append(sig)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
        pass
    try:
        yield
    finally:
        for sig in installed:
            loop.add_signal_handler(sig, left.stop, sig)


@contextlib.contextmanager
def _again_on_ctrl_c(again: asyncio.Event, saving: Callable[[], list[Any]]) -> Iterator[None]:
    """While inside, a Ctrl-C while ``saving()`` has files sets ``again``;
    else it does what it did before (the handler in place: asyncio's
    interrupts the program at once)."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT) or signal.default_int_handler

    def interrupted(signum: int, frame: Any) -> None:
        if saving():
            loop.call_soon_threadsafe(again.set)
        elif callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, interrupted)
    except ValueError:  # not the main thread: as before
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
