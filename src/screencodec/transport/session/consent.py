"""Asking the local user: the callback types, the one-question-at-a-time
queue, the timeout rule. The terminal interface (:class:`TerminalQuestions`,
:func:`terminal_consent`, :func:`terminal_yes_no`) lives in
:mod:`.terminal_questions`, and what a question's callback can know of the
question being put (:func:`question_gone`) in :mod:`.asking`; both are
handed on from here.

Two rules matter.

*No answer is no*: :func:`ask` bounds every consent callback with a timeout
and turns a timeout, an exception or a grant wider than what was asked into a
denial (or the asked-for subset), so a buggy or absent UI can never open the
screen.

*A question whose answer is known is not put*: a host that cannot grant
CONTROL (it has no injector, or shares for viewing only) refuses it without a
question, and so on (:mod:`.refusal` decides); the queue holds the host's
part of that policy, the reason viewers are told and the interface's hook
that tells the local user (:attr:`QuestionQueue.control_unavailable`,
:attr:`QuestionQueue.on_unavailable`, set by the :class:`~.host.Host`).

*One question at a time, answered only by its own answer*: every question a
host puts to its local user (a viewer's consent, a permission upgrade, a file
offer) goes through that host's :class:`QuestionQueue`. The queue hands the
application's callbacks one question at a time, in arrival order, each with
its number; the answer is the callback's return value for *that* question,
typed per kind (a :class:`Grant` no wider than the request, or a bool for a
file that grants nothing else). So two questions are never open together and
an answer meant for one cannot land on another, whatever the interface
does. A viewer may have only a few questions waiting; more are refused unasked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import math
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from screencodec.errors import ConsentCallbackError
from screencodec.transport.aio import wait_for
from screencodec.transport.session.asking import (
    _PUT,
    _SHOWN,
    ConsentCallback,
    _Put,
    _Shown,
    if_answer_dropped,
    question_gone,
)
from screencodec.transport.session.owncode import in_own_task
from screencodec.transport.session.permissions import ConsentRequest, Grant, Permission
from screencodec.transport.session.sidechannels import FileOfferInfo
from screencodec.transport.session.terminal_questions import (
    TerminalQuestions,
    _LineReader,  # noqa: F401 (handed on: it lived here)
    terminal_consent,
    terminal_yes_no,
)

__all__ = [
    "CALLBACK_FAILED",
    "GONE",
    "Answer",
    "ConsentCallback",
    "QuestionQueue",
    "Questions",
    "TerminalQuestions",
    "allow",
    "ask",
    "ask_file",
    "ask_permission",
    "check_consent",
    "deny",
    "if_answer_dropped",
    "question_gone",
    "questions_for",
    "terminal_consent",
    "terminal_yes_no",
]

#: A host's Bye after refusing a first request because its consent callback
#: failed (raised, or returned no Grant): its user was never asked. A viewer
#: tells its agent so, not that the user declined.
CALLBACK_FAILED = "the host could not ask its user: its consent callback failed"

#: Questions one viewer may have waiting or on screen at once.
MAX_QUESTIONS_PER_VIEWER = 3

#: The :attr:`Answer.outcome` of an answer that came back after its asker
#: stopped waiting for it (the agent left, its link was lost): dropped, it
#: grants nothing; ``why`` says what had happened (consent41).
GONE = "gone"

A = TypeVar("A")
Q = TypeVar("Q", ConsentRequest, FileOfferInfo)


async def ask(callback: ConsentCallback, request: ConsentRequest, timeout: float) -> Grant:
    """Run ``callback`` with a deadline; never grant more than was asked."""
    return (await _bounded_grant(callback, request, timeout)).value


_log = logging.getLogger(__name__)


async def _bounded_grant(
    callback: ConsentCallback, request: ConsentRequest, timeout: float
) -> Answer[Grant]:
    try:
        asked = callback(request)
        if not inspect.isawaitable(asked):
            return _failed(f"the consent callback returned {_what(asked)}, not an awaitable"
                           " of a Grant")  # fmt: skip
        # In the task the callback runs in: what it ends of its own
        # session does not wait for it (owncode.py).
        grant = await _answer_within(in_own_task(asked), timeout)
    except asyncio.TimeoutError:
        return Answer(Grant.deny(), "timed out")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a crashing consent UI must fail closed, not open
        _log.error("the consent callback raised %s", type(exc).__name__, exc_info=exc)
        return Answer(Grant.deny(), "failed",
                      f"the consent callback raised {type(exc).__name__}: {exc}"[:200])
    if not isinstance(grant, Grant):
        return _failed(f"the consent callback returned {_what(grant)}, not a Grant")
    return Answer(Grant(grant.level & request.level), "answered")


def _failed(why: str) -> Answer[Grant]:
    """A refusal because the consent callback is broken: said in the log
    (the agent was refused without its user being asked: the host's
    program must hear of it) and carried in the answer."""
    _log.error("%s: the agent is refused without a question", why)
    return Answer(Grant.deny(), "failed", why)


def _what(value: object) -> str:
    """What a broken consent callback returned, in a few words."""
    if callable(value):  # a factory's callback: consent=allow for allow()
        return (f"a callable ({getattr(value, '__qualname__', type(value).__name__)}: was a"
                " factory such as allow given where allow() was meant?)")  # fmt: skip
    return f"a {type(value).__name__}"


T = TypeVar("T")


async def _answer_within(aw: Awaitable[T], timeout: float, most_held: float = math.inf) -> T:
    """``await aw`` as :func:`~screencodec.transport.aio.wait_for` with
    ``timeout``, that timeout counted from when the question shows: the
    time its interface held it first (:func:`_not_shown_yet`), up to
    ``most_held``, is added."""
    shown = _Shown()
    token = _SHOWN.set(shown)
    try:
        inner = asyncio.ensure_future(aw)  # its task's context holds ``shown``
    finally:
        _SHOWN.reset(token)
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        while not inner.done():
            left = start + timeout + min(most_held, shown.waited(loop.time())) - loop.time()
            if left <= 0:
                break
            await asyncio.wait({inner}, timeout=left)
    except asyncio.CancelledError:
        inner.add_done_callback(lambda done: done.cancelled() or done.exception())
        inner.cancel()
        await asyncio.wait({inner})
        raise
    return await wait_for(inner, 0)  # its result; else it is cancelled: TimeoutError


#: The factories of consent callbacks: given as the callback itself, each
#: would refuse every agent (their result is no awaitable of a Grant).
_FACTORIES = ("allow", "deny", "terminal_consent")


def check_consent(consent: object) -> None:
    """:class:`~screencodec.errors.ConsentCallbackError` unless ``consent``
    may be a consent callback: not one of this module's factories (``allow``
    given for ``allow()``), and callable. ``Host()`` checks its own."""
    for name in _FACTORIES:
        if consent is globals()[name]:
            raise ConsentCallbackError(
                f"consent={name} is the factory, not a consent callback: give"
                f" consent={name}() (as given, every agent would be refused unasked)")
    if isinstance(consent, TerminalQuestions):
        raise ConsentCallbackError("consent= takes its .permission method, not the"
                                   " TerminalQuestions itself")  # fmt: skip
    if not callable(consent):
        raise ConsentCallbackError(
            f"consent must be a callback (an async function of a ConsentRequest that returns"
            f" a Grant), not a {type(consent).__name__}")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer(Generic[A]):
    """The result of one question: ``value`` (the refusal unless ``outcome`` is
    ``"answered"``) and ``outcome``: ``"answered"``, ``"timed out"``,
    ``"failed"`` (the interface raised or returned the wrong type),
    ``"too many"`` (not asked: the viewer has too many questions waiting) or
    ``"void"`` (a file offer not asked: its sender stopped waiting for the
    answer before its turn, :meth:`~.sidechannels.FileOfferInfo.window`) or
    :data:`GONE` (the user answered, but its asker was gone by then: the
    answer, kept in ``given``, grants nothing).
    ``why``: for ``"failed"`` consent, what the callback did (raised, or
    returned what), in words for the host program; for :data:`GONE`, what
    became of the asker (:func:`question_gone`)."""

    value: A
    outcome: str = "answered"
    why: str = ""
    #: For :data:`GONE`: what the user's answer was (dropped).
    given: A | None = None

    @property
    def timed_out(self) -> bool:
        return self.outcome == "timed out"


class QuestionQueue:
    """Every question one host puts to its local user, asked one at a time.

    State: the turn (an :class:`asyncio.Lock`, which wakes waiters in arrival
    order), the questions each asker (one viewer's session) holds, waiting or
    on screen, the number of the question on screen (:attr:`asking`, 0 when
    none) and the next question number. A caller first takes a place with
    :meth:`reserve` (synchronously, so a flood is refused in the receive loop
    without a task per message), then asks through :func:`ask_permission` or
    :func:`ask_file`. One event loop; no thread safety.

    The host's policy of what is never asked also lives here (the session
    layer reads it; :class:`~.host.Host` sets it): :attr:`control_unavailable`,
    why CONTROL is refused unasked even though there is an injector (a host
    without one refuses it anyway), and :attr:`on_unavailable`, told of each
    such refusal.
    """

    def __init__(self, max_per_asker: int = MAX_QUESTIONS_PER_VIEWER) -> None:
        self.max_per_asker = max_per_asker
        self._turn = asyncio.Lock()
        self._held: dict[int, int] = {}
        self._next = 1
        self.asking = 0
        self.refused = 0  #: questions refused unasked (too many from one viewer)
        #: Set: CONTROL is never granted, and viewers that ask are told this.
        self.control_unavailable: str | None = None
        #: ``hook(request, reason)``, on the loop, when a request is refused
        #: because CONTROL cannot be granted (``request.level``: what was
        #: refused; ``reason``: what the viewer is told). The session calls
        #: it a few times per viewer at most, whatever a viewer sends.
        self.on_unavailable: Callable[[ConsentRequest, str], None] | None = None
        #: ``hook(question)``, on the loop, when a question (a
        #: :class:`ConsentRequest` or a file's :class:`FileOfferInfo`, not
        #: numbered yet) must wait for the one being asked: the local user
        #: is told someone else waits (walk43: a second agent's request
        #: waited unsaid behind the first's question).
        self.on_queued: Callable[[object], None] | None = None

    def reserve(self, asker: object) -> bool:
        """Take a place for one question from ``asker``; False (and counted) if
        it already holds :attr:`max_per_asker`. Each True must be followed by
        exactly one ask with this asker, which gives the place back."""
        key = id(asker)
        if self._held.get(key, 0) >= self.max_per_asker:
            self.refused += 1
            return False
        self._held[key] = self._held.get(key, 0) + 1
        return True

    def _release(self, asker: object) -> None:
        key = id(asker)
        left = self._held.get(key, 0) - 1
        if left > 0:
            self._held[key] = left
        else:
            self._held.pop(key, None)

    async def _ask(
        self,
        asker: object,
        question: Q,
        run: Callable[[Q], Awaitable[Answer[A]]],
        void: Callable[[], Answer[A] | None] = lambda: None,
        gone: Callable[[], str | None] = lambda: None,
    ) -> Answer[A]:
        """``run`` the question in its turn, numbered; unless ``void()``,
        asked when the turn comes, says it is no longer to be put (then
        that answer, and no number is used). ``gone()``: why the asker no
        longer waits for the answer (None while it does): what the
        interface reads (:func:`question_gone`), and an answer that comes
        back once it says so is dropped (:data:`GONE`), in the step its
        asker reads it in."""
        if self._turn.locked() and self.on_queued is not None:
            try:
                self.on_queued(question)
            except Exception:  # the interface's failure: the question is still asked
                _log.exception("on_queued failed")
        try:
            async with self._turn:
                if (unput := void()) is not None:
                    return unput
                number = self._next
                self._next += 1
                self.asking = number
                put = _Put(gone)
                token = _PUT.set(put)  # the callback's task copies this context
                try:
                    answer = await run(dataclasses.replace(question, question=number))
                except BaseException:
                    # Withdrawn (its asker went) after an answer was taken,
                    # before it came back here: it grants nothing either.
                    put.settle(False, gone() or "the question was withdrawn")
                    raise
                finally:
                    _PUT.reset(token)
                    self.asking = 0
                why = gone()
                if answer.outcome == "failed":  # the callback failed after the answer was read
                    put.settle(False, "", late=False)
                    return answer
                if why is None or answer.outcome != "answered":
                    put.settle(True)  # in the step its asker takes it in
                    return answer
                # consent41: a yes dropped here was shown as a bare "yes"
                # on the user's screen; the interface says it came too late.
                put.settle(False, why)
                return Answer(_refusal(answer.value), GONE, why, answer.value)
        finally:
            self._release(asker)


def _refusal(value: A) -> A:
    """The no of the kind of ``value`` (a Grant, or a file's bool)."""
    return Grant.deny() if isinstance(value, Grant) else False  # type: ignore[return-value]


_queues: weakref.WeakKeyDictionary[object, QuestionQueue] = weakref.WeakKeyDictionary()


def questions_for(host: object) -> QuestionQueue:
    """The question queue of ``host`` (made on first use, gone with the host)."""
    queue = _queues.get(host)
    if queue is None:
        queue = _queues[host] = QuestionQueue()
    return queue


async def ask_permission(
    queue: QuestionQueue,
    asker: object,
    callback: ConsentCallback,
    request: ConsentRequest,
    timeout: float,
    *,
    gone: Callable[[], str | None] = lambda: None,
) -> Answer[Grant]:
    """Ask ``request`` in its turn (after :meth:`QuestionQueue.reserve`); the
    timeout runs from when the question is put, and never more than was asked
    is granted. ``gone()``: why ``asker`` no longer waits for the answer,
    or None (:meth:`QuestionQueue._ask`): an answer after that is
    :data:`GONE`."""
    return await queue._ask(
        asker, request, lambda q: _bounded_grant(callback, q, timeout), gone=gone)


async def ask_file(
    queue: QuestionQueue,
    asker: object,
    callback: Callable[[FileOfferInfo], Awaitable[bool]],
    info: FileOfferInfo,
    timeout: float,
    *,
    gone: Callable[[], str | None] = lambda: None,
) -> Answer[bool]:
    """Ask about one file offer in its turn; only ``True`` itself accepts.
    The question is open at most ``timeout``, and only while its sender
    still waits for the answer: one whose sender stopped waiting before its
    turn is not put at all (``"void"``). ``gone``: as :func:`ask_permission`'s
    (the sender left, its link lost: the question's line says so)."""
    window: list[float | None] = []
    spare: list[float] = []

    def void() -> Answer[bool] | None:
        window.append(info.window(timeout))  # read as the turn comes
        if window[0] is None:
            return Answer(False, "void")
        # The hold before it shows is added to its time only as far as
        # its sender still waits then (sent back in time: _EARLY).
        spare.append((info.window(math.inf) or 0.0) - window[0])
        return None

    async def run(q: FileOfferInfo) -> Answer[bool]:
        assert window[0] is not None
        try:
            yes = await _answer_within(in_own_task(callback(q)), window[0], spare[0])  # as above
        except asyncio.TimeoutError:
            return Answer(False, "timed out")
        except asyncio.CancelledError:
            raise
        except Exception:  # a crashing UI refuses, it never accepts
            return Answer(False, "failed")
        return Answer(yes is True, "answered")

    return await queue._ask(asker, info, run, void, gone)


class Questions(Protocol):
    """An application's way of asking its local user: one method per kind of
    question, each answered with its own type. Pass ``consent=q.permission,
    file_consent=q.file_offer`` to the host. The host asks one question at a
    time, so an implementation never has two open."""

    async def permission(self, request: ConsentRequest) -> Grant: ...
    async def file_offer(self, offer: FileOfferInfo) -> bool: ...


def allow(level: Permission | None = None) -> ConsentCallback:
    """A callback that grants what is asked (or only ``level``): tests, kiosks."""

    async def _cb(request: ConsentRequest) -> Grant:
        return Grant(request.level if level is None else request.level & level)

    return _cb


def deny() -> ConsentCallback:
    async def _cb(request: ConsentRequest) -> Grant:
        return Grant.deny()

    return _cb
