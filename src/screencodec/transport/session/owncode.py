"""Which session's own code runs in this task (endleft35, owncode35).

``Host.disconnect`` and ``Host.close`` called from a session's own code
must not wait for that session: it ends only once that code returns. Own
code is what the library runs for the session, in the tasks it runs it
in: the session's serve task, the task of its receive loop (its extension
handlers; aio.wait_for's own, with a time limit),
and the task a consent callback is awaited in (:func:`in_own_task`).

A task that code starts and leaves running (``asyncio.ensure_future``)
inherits the context, so the marker, but is another task: it is outside
code, and waits for the session as any other caller does (owncode35: it
was taken for the session's code, its disconnect returned before the
session's cleanup, which then waited 5 s for it)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

__all__ = ["OwnSession", "enter_session", "in_own_task", "leave_session", "own_session"]

T = TypeVar("T")


class OwnSession(Protocol):
    """A session, as this module and the host's close see it
    (:class:`~.link.ViewerLink` is one): the tasks the library runs its code
    in, and the event of its end. A protocol, so that this module, which
    :mod:`.consent` imports, imports nothing of the session layer."""

    @property
    def serve_task(self) -> asyncio.Task[Any] | None: ...
    @property
    def run_task(self) -> asyncio.Task[Any] | None: ...
    @property
    def finished(self) -> asyncio.Event: ...


if TYPE_CHECKING:
    from typing import TypeAlias

    #: A session, and the task the library runs its code in.
    _Here: TypeAlias = tuple[OwnSession, asyncio.Task[Any] | None]

#: The session whose code runs, and the task the library runs it in.
_here: contextvars.ContextVar[_Here | None] = contextvars.ContextVar(
    "screencodec_session_here", default=None)


def enter_session(link: OwnSession) -> contextvars.Token[_Here | None]:
    """Mark this task as running ``link``'s own code (Host.serve)."""
    return _here.set((link, asyncio.current_task()))


def leave_session(entered: contextvars.Token[_Here | None]) -> None:
    _here.reset(entered)


def own_session() -> OwnSession | None:
    """The session whose own code this task runs, or None (outside code,
    a task such code left behind among it)."""
    here = _here.get()
    if here is None:
        return None
    link, task = here
    current = asyncio.current_task()
    if current is not None and current in (task, link.serve_task, link.run_task):
        return link
    return None


async def in_own_task(awaitable: Awaitable[T]) -> T:
    """Await a session's callback as that session's own code, in the task
    that runs this: pass this, not the callback's awaitable, to
    aio.wait_for, whose task of its own is then the one
    recorded. Outside a session it only awaits."""
    here = _here.get()
    if here is None:
        return await awaitable
    entered = _here.set((here[0], asyncio.current_task()))
    try:
        return await awaitable
    finally:
        _here.reset(entered)
