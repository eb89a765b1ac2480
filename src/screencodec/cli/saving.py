"""A program that ends while received files are still being written to
the disk, for the ``host`` and ``view --web`` terminals alike (review4).

The last files whose end came are saved on the receiver's disk thread (the
fsync, then the name: transport/session/sidechannels.py), and the session
ends once they are, so that its user is told "saved" before "ended". On a
slow or stalled disk (a USB stick, a network share, a FUSE file system
that stopped answering) that is seconds, or for good: the program said
nothing meanwhile, did not end, and a second Ctrl-C changed nothing.

:func:`finish_saving` runs the program's end and says at once which files
it waits for and how to stop waiting, in the terms of what stopped it
(:func:`again_words`: Ctrl-C, or under a service manager the SIGTERM it
sent); it ends as soon as they are saved (each program tells that as it
tells a file saved), and a Ctrl-C (or that signal) meanwhile (``again``)
stops waiting: the sessions end, and it says which files may
not be saved and what of them stays in the folder. The disk thread is a
daemon: the interpreter then ends without waiting for it. The kernel may
still hold the process's very end while the disk does not answer: a thread
in a wait no signal interrupts (a block device's write-back, a FUSE
request its daemon took) ends only with that wait, and closing a file of a
FUSE file system waits for its daemon (the flush). Everything the program
says and does is done by then; measured with the FUSE daemon stopped: the
lines at once, the interpreter gone, the process reaped when the daemon
went on.

A half file (its end not come: cut short by the stop) whose removal waits
on such a disk is said, waited for and given up the same way, in its own
words (:func:`removing_words`, :func:`left_halves_words`; deflake39: the
host said "nothing of it was kept" at once, then waited 10 s silent, and
a second Ctrl-C did not make it leave).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session.events import FileReceived, FileRefused
from screencodec.transport.session.files.wire import CUT_SHORT, NOT_SAVED

if TYPE_CHECKING:
    from screencodec.transport.session.events import Subscription
    from screencodec.transport.session.sidechannels import FileOfferInfo

__all__ = ["CTRL_C_AGAIN", "LOOK_EVERY", "again_words", "ending_removal_words", "finish_saving",
           "left_halves_words", "left_words", "removing_words", "say_ending_removals",
           "stopped_waiting_words", "waiting_words"]

T = TypeVar("T")

#: How often the files being saved are looked at while the program ends (s).
LOOK_EVERY = 0.1
#: How a person at the terminal leaves without waiting for the disk.
CTRL_C_AGAIN = "press Ctrl-C again"


def again_words(sig: int | None = None) -> str:
    """How to leave without waiting for the disk, for the signal that
    stopped the program (None: the person's Ctrl-C or /end): Ctrl-C again,
    or the same signal again (a service manager's SIGTERM: nobody is at a
    terminal to press Ctrl-C)."""
    if sig is None or sig == signal.SIGINT:
        return CTRL_C_AGAIN
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    return f"send {name} again"


def _files(files: list[FileOfferInfo], sender: Callable[[FileOfferInfo], str]) -> str:
    return ", ".join(f"{safe_text(f.name, 200)} ({amount(f.size)}) from {sender(f)}"
                     for f in files)  # fmt: skip


def waiting_words(files: list[FileOfferInfo], sender: Callable[[FileOfferInfo], str],
                  again: str = CTRL_C_AGAIN) -> str:  # fmt: skip
    """The line said when the program waits for ``files`` to be written;
    ``again``: how to stop waiting (:func:`again_words`)."""
    it = "it" if len(files) == 1 else "they"
    return (f"waiting for the disk to finish saving {_files(files, sender)}; {again}"
            f" to leave now: {it} may then not be saved")  # fmt: skip


def _halves(halves: list[tuple[FileOfferInfo, int]],
            sender: Callable[[FileOfferInfo], str]) -> str:  # fmt: skip
    return ", ".join(f"{safe_text(f.name, 200)} ({amount(came)} of {amount(f.size)}) from"
                     f" {sender(f)}" for f, came in halves)  # fmt: skip


def removing_words(halves: list[tuple[FileOfferInfo, int]], sender: Callable[[FileOfferInfo], str],
                   again: str = CTRL_C_AGAIN) -> str:  # fmt: skip
    """The line said when the program waits for the disk to remove what
    came of files not received whole (``halves``: each with the bytes of it
    that came); ``again``: how to stop waiting (deflake39)."""
    it = "it" if len(halves) == 1 else "they"
    files = "a hidden temporary file" if len(halves) == 1 else "hidden temporary files"
    return (f"waiting for the disk to remove what came of {_halves(halves, sender)}, not"
            f" received; {again} to leave now: {it} may then stay in the folder as {files}")


def ending_removal_words(halves: list[tuple[FileOfferInfo, int]],
                         sender: Callable[[FileOfferInfo], str],
                         goes_on: bool = False, lost: bool = False) -> str:  # fmt: skip
    """The line said while the program runs on when a session that is over
    (its agent left mid-file) waits for the disk to remove what came of
    ``halves``: its end line waits for it (review40a: nothing was said, the
    sharing banner still up, for as long as the disk did not answer).
    ``goes_on``: other sessions go on, and a Ctrl-C stops waiting for
    these only (files41: it stopped the host, ending the others too).
    ``lost``: their link was lost, the session not over (files41: said
    "the session's end")."""
    it = "it" if len(halves) == 1 else "they"
    files = "a hidden temporary file" if len(halves) == 1 else "hidden temporary files"
    whose = ("the lost connection's end (the session is not over: the agent may come back)"
             if lost else "the session's end")  # fmt: skip
    if goes_on:
        return (f"{whose} waits for the disk to remove what came of"
                f" {_halves(halves, sender)}, not received; press Ctrl-C to stop waiting:"
                f" {it} may then stay in the folder as {files}, and the other sessions go"
                " on")  # fmt: skip
    return (f"{whose} waits for the disk to remove what came of"
            f" {_halves(halves, sender)}, not received; press Ctrl-C to leave now: {it} may"
            f" then stay in the folder as {files}")  # fmt: skip


def stopped_waiting_words(halves: list[tuple[FileOfferInfo, int]],
                          sender: Callable[[FileOfferInfo], str]) -> str:  # fmt: skip
    """The line said when a Ctrl-C stopped waiting for the removal of
    ``halves`` (:func:`ending_removal_words`, ``goes_on``): their session
    ends now, the program and the other sessions go on (files41)."""
    files = "a hidden temporary file" if len(halves) == 1 else "hidden temporary files"
    return (f"stopped waiting for the disk: what came of {_halves(halves, sender)}, not"
            f" received, may stay in the folder as {files}, removed by a later file received"
            " there; the other sessions go on")  # fmt: skip


async def say_ending_removals(removing: Callable[[], list[tuple[FileOfferInfo, int]]],
                              say: Callable[[str], None], sender: Callable[[FileOfferInfo], str],
                              told: set[tuple[str, int]], *,
                              goes_on: Callable[[], bool] = lambda: False,
                              lost: Callable[[], list[tuple[FileOfferInfo, int]]] = list,
                              ) -> None:  # fmt: skip
    """Until cancelled: say each half file of ``removing()`` (those of
    sessions over whose end waits for the disk) once, as soon as it is
    there (:func:`ending_removal_words`; ``goes_on()``: other sessions go
    on; those of ``lost()`` are a lost link's), and add it to ``told``,
    the files a Ctrl-C now gives up (:func:`finish_saving`, or those
    sessions' only while others go on)."""
    while True:
        new = [got for got in removing() if (got[0].peer, got[0].transfer) not in told]
        if new:
            told.update((f.peer, f.transfer) for f, _ in new)
            of_lost = {(f.peer, f.transfer) for f, _ in lost()}
            for was_lost in (False, True):
                these = [got for got in new if ((got[0].peer, got[0].transfer) in of_lost)
                         == was_lost]  # fmt: skip
                if these:
                    say(ending_removal_words(these, sender, goes_on(), was_lost))
        await asyncio.sleep(LOOK_EVERY)


def left_halves_words(halves: list[tuple[FileOfferInfo, int]],
                      sender: Callable[[FileOfferInfo], str]) -> str:  # fmt: skip
    """The line said when the person left without waiting for the removal
    of ``halves`` (:func:`removing_words`). What came of them *may* stay:
    the disk thread goes on with a removal given up, and a disk that
    answers while the program still ends removes it (review40a: it said
    "stays", and "a hidden temporary file" for two)."""
    files = "a hidden temporary file" if len(halves) == 1 else "hidden temporary files"
    return (f"left without waiting for the disk: what came of {_halves(halves, sender)}, not"
            f" received, may stay in the folder as {files}, removed by a later file received"
            " there; while the disk does not answer, the system may hold this program's very"
            " end")  # fmt: skip


def left_words(files: list[FileOfferInfo], sender: Callable[[FileOfferInfo], str]) -> str:
    """The line said when the person left without waiting for ``files``."""
    what = "it" if len(files) == 1 else "them"
    return (f"left without waiting for the disk: {_files(files, sender)} may not be saved"
            f" (what of {what} was written stays in the folder as a hidden temporary file,"
            " removed by a later file received there); while the disk does not answer, the"
            " system may hold this program's very end")  # fmt: skip


async def finish_saving(
    ending: Awaitable[T],
    saving: Callable[[], list[FileOfferInfo]],
    give_up: Callable[[], list[FileOfferInfo]],
    *,
    again: asyncio.Event,
    say: Callable[[str], None],
    sender: Callable[[FileOfferInfo], str],
    outcomes: Subscription | None = None,
    leave: Callable[[], str] = lambda: CTRL_C_AGAIN,
    removing: Callable[[], list[tuple[FileOfferInfo, int]]] = list,
    told: set[tuple[str, int]] | None = None,
) -> T:
    """Await ``ending`` (the sessions' end, which waits for the files being
    saved); meanwhile say each file of ``saving()`` it waits for, once, as
    soon as it is there. ``again`` set (the person pressed Ctrl-C again)
    once the files being saved were all said: ``give_up()``, and the files
    it gave up are said; set before that, the new files are said first
    (the person did not know of them). ``outcomes``: the receiver's events,
    for a program that does not tell a file saved already (``view --web``:
    its page does): what became of each file said here is said too, until
    ``ending`` is done. ``leave()``: how the person stops waiting, read
    as the files are said (:func:`again_words`; the program sets ``again``
    on it). ``removing()``: the half files whose removal ``ending`` waits
    for too, each with the bytes of it that came, said and given up
    (``give_up()`` gives them up too) in their own words (deflake39).
    ``told``: the files (peer, transfer) said already, with how to leave
    (:func:`say_ending_removals`): ``again`` set at the start leaves
    without them. Cancelled: ``ending`` is too."""
    task = asyncio.ensure_future(ending)
    told = set() if told is None else set(told)  # (peer, transfer)
    pressed = asyncio.ensure_future(again.wait())
    telling = None if outcomes is None else asyncio.ensure_future(_tell(outcomes, told, say))
    try:
        while not task.done():
            files, halves = saving(), removing()
            new = [f for f in files if (f.peer, f.transfer) not in told]
            new_halves = [got for got in halves if (got[0].peer, got[0].transfer) not in told]
            if new or new_halves:
                told.update((f.peer, f.transfer) for f in new)
                told.update((f.peer, f.transfer) for f, _ in new_halves)
                if new:
                    say(waiting_words(new, sender, leave()))
                if new_halves:
                    say(removing_words(new_halves, sender, leave()))
                again.clear()
            elif again.is_set():
                again.clear()
                if files or halves:
                    gone = give_up()
                    if gone:
                        say(left_words(gone, sender))
                    if halves:
                        say(left_halves_words(halves, sender))
            if pressed.done():
                pressed = asyncio.ensure_future(again.wait())
            await asyncio.wait({task, pressed}, timeout=LOOK_EVERY,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if outcomes is not None and telling is not None:
            outcomes.close()  # what came until now is still told
            await telling
        return task.result()
    finally:
        pressed.cancel()
        task.cancel()
        if telling is not None:
            telling.cancel()


async def _tell(outcomes: Subscription, told: set[tuple[str, int]],
                say: Callable[[str], None]) -> None:  # fmt: skip
    """Say what became of each file of ``told`` (by its transfer: one
    receiver's events) that ``outcomes`` tells of."""
    async for ev in outcomes:
        if not any(transfer == getattr(ev, "transfer", None) for _, transfer in told):
            continue
        if isinstance(ev, FileReceived):
            say(f"saved {safe_text(ev.path, 300)} ({amount(ev.size)})")
        elif isinstance(ev, FileRefused) and ev.why.startswith(CUT_SHORT):
            # A half file, told once removed (files40: before, "not saved:
            # ...: could not be saved: the connection ended ...").
            say(f"not received: {safe_text(ev.name, 200)} ({amount(max(ev.received, 0))} of"
                f" {amount(ev.size)} had come); nothing of it was kept")  # fmt: skip
        elif isinstance(ev, FileRefused):
            why = safe_text(ev.why, 300)  # one that says "could not be saved" is said as it is
            said = "" if ev.why.startswith(NOT_SAVED) else "not saved: "
            say(f"{said}{safe_text(ev.name, 200)} ({amount(ev.size)}): {why}")
