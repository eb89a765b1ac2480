"""What a question's callback is, and what it can know of the question
being put while it runs: why its asker went (:func:`question_gone`), what
became of its answer (:func:`if_answer_dropped`), and a block in which it is
not shown yet (its interface's hold, not counted in its timeout).

:class:`~.consent.QuestionQueue` sets these for each question it puts; an
interface (:mod:`.terminal_questions`) reads them. Split from :mod:`.consent`
(split42b), which hands every public name on, so that both can import this
module and neither imports the other both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator

from screencodec.transport.session.permissions import ConsentRequest, Grant

__all__ = ["ConsentCallback", "if_answer_dropped", "question_gone"]

ConsentCallback = Callable[[ConsentRequest], Awaitable[Grant]]


class _Shown:
    """How long the question being asked waited to be shown (its
    interface's hold, :func:`_not_shown_yet`): not counted in its timeout."""

    def __init__(self) -> None:
        self.held = 0.0
        self.since: float | None = None  #: loop time the wait began, while it goes on

    def waited(self, now: float) -> float:
        return self.held + (0.0 if self.since is None else now - self.since)


_SHOWN: contextvars.ContextVar[_Shown | None] = contextvars.ContextVar(
    "question_shown", default=None
)


@contextlib.contextmanager
def _not_shown_yet() -> Iterator[None]:
    """Inside a question's callback: a block in which the question waits
    to be shown (TerminalQuestions' hold); its timeout stops meanwhile
    (ask42: a question whose timeout was under the hold was never shown,
    a silent no)."""
    shown = _SHOWN.get()
    if shown is None:
        yield
        return
    loop = asyncio.get_running_loop()
    shown.since = loop.time()
    try:
        yield
    finally:
        shown.held += loop.time() - shown.since
        shown.since = None


class _Put:
    """The question being put, as its callback's context sees it: why its
    asker is gone (``gone``), and who to tell what became of an answer
    taken while it was there: kept (the asker has it), or dropped as it
    went back (the asker went meanwhile). Settled once, by the queue."""

    def __init__(self, gone: Callable[[], str | None]) -> None:
        self.gone = gone
        self._told: list[Callable[[str], None]] = []
        self._settled: list[Callable[[bool, str], None]] = []
        self.settled = False

    def if_dropped(self, tell: Callable[[str], None]) -> None:
        self._told.append(tell)

    def when_settled(self, tell: Callable[[bool, str], None]) -> None:
        """``tell(kept, why)``: ``why`` "" when the host's program failed."""
        self._settled.append(tell)

    def settle(self, kept: bool, why: str = "", *, late: bool = True) -> None:
        """The answer reached its asker (``kept``), or not: it came too late
        (``late``: ``why`` the asker went), or the host's program failed."""
        if self.settled:
            return
        self.settled = True
        for dropped in () if kept else self._told:
            dropped(why)
        for tell in self._settled:
            tell(kept, why if late else "")


_PUT: contextvars.ContextVar[_Put | None] = contextvars.ContextVar("question_put", default=None)


def question_gone() -> str | None:
    """Inside a question's callback: why its asker no longer waits for the
    answer, in the local user's words (``"the agent left"``, ``"the
    connection to the agent was lost"``); None while it does, or outside a
    question. Once it says so, the answer grants nothing (:data:`GONE`): an
    interface says so instead of showing the answer as given (consent41)."""
    put = _PUT.get()
    return None if put is None else put.gone()


def _when_settled(tell: Callable[[bool, str], None]) -> bool:
    """Call ``tell(kept, why)`` once the answer of the question being put
    reaches its asker or is dropped; False (not called) outside a queue's question."""
    put = _PUT.get()
    if put is None:
        return False
    put.when_settled(tell)
    return True


def if_answer_dropped(tell: Callable[[str], None]) -> None:
    """Call ``tell(why)`` if the answer of the question being put, taken
    while its asker was there, is dropped as it goes back (:data:`GONE`)."""
    put = _PUT.get()
    if put is not None:
        put.if_dropped(tell)
