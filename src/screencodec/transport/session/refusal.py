"""Refusals made without a question, on both ends of a session.

A host does not ask its user a question whose answer is known or that the
user could not answer: CONTROL on a host that cannot grant it, a level the
user refused moments ago, a level the host does not know, a request for
something other than what the user is reading about right now, more
requests than may wait. It refuses such a request itself and sends a
:class:`~.messages.Notice` (``CONTROL_UNAVAILABLE`` or ``NOT_ASKED``) right
before the ``PermissionDeny``, so that an agent can tell "the customer said
no" from "this host cannot be controlled" (docs/transport.md, "Refusals
without a question").

* Host side, :class:`UnaskedRefusals` (one per viewer's session) decides
  which requests are refused unasked and why, remembers the user's recent
  refusals, and tells the local user's interface of CONTROL refusals a few
  times per viewer at most (``Host(on_unavailable=...)``), whatever the
  viewer sends. Sending the notice and the refusal together is the
  session's (:mod:`.link`, one lock).
* Viewer side, :class:`RequestLedger` matches the host's answers to the
  requests in flight and each refusal to the notice that explains it, and
  :class:`Refusal` is what :attr:`~.viewer.Viewer.refusal` reports. The
  host's text is untrusted: it is kept only through ``safe_text``.

This module imports only the session's building blocks (messages,
permissions, the question queue); :mod:`.link` and :mod:`.viewer` import it.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from screencodec.transport.channel.display import safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import questions_for
from screencodec.transport.session.permissions import CONTROL, ConsentRequest, Permission
from screencodec.transport.session.services import SessionHost

__all__ = [
    "MAX_COLLAPSED",
    "NO_INJECTOR",
    "NO_REASON",
    "REASK_AFTER",
    "TAKES_NO_FILES",
    "TOO_MANY_QUESTIONS",
    "UNASKED",
    "USER_REFUSED",
    "Refusal",
    "RequestLedger",
    "UnaskedRefusals",
    "failed_bye",
    "unanswered_end",
]

_log = logging.getLogger(__name__)

#: A level the local user refused is refused unasked if asked again within this (s).
REASK_AFTER = 10.0
#: Requests for what the open question asks that may wait on its answer.
MAX_COLLAPSED = 8
#: The local user hears of at most this many CONTROL refusals per viewer per REASK_AFTER.
_MAX_TOLD = 3

#: What a viewer is told when the host has no injector and gave no reason of its own.
NO_INJECTOR = "this host cannot be controlled remotely: it has no way to inject input"
_UNKNOWN_LEVEL = "the host does not know a level you asked for"
_ANOTHER_OPEN = ("the host's user is answering another of your requests:"
                 " ask for this after that answer")  # fmt: skip
_TOO_MANY_REQUESTS = "too many of your requests wait for the host's user"
#: A viewer is told this when its question would exceed its share of the queue.
TOO_MANY_QUESTIONS = "too many of your questions wait for the host's user"
_REFUSED_LATELY = f"the host's user refused this less than {REASK_AFTER:g} s ago"

#: The reason of a refusal the host gave no reason for: its user's answer.
USER_REFUSED = "the host's user refused"
#: The reason of a refusal unasked whose notice said nothing readable.
NO_REASON = "the host gave no reason"
#: Notice codes that explain a refusal made without asking the host's user.
UNASKED = (m.Notice.CONTROL_UNAVAILABLE, m.Notice.NOT_ASKED)
_MAX_IN_FLIGHT = 64


# -- host side --------------------------------------------------------------------


class UnaskedRefusals:
    """Which of one viewer's permission requests its host refuses without
    asking the local user, and why.

    State: until when each level the user refused is refused unasked
    (:data:`REASK_AFTER` from the refusal, per level, so asking for more
    levels at once or for another level in between does not reopen the
    question), and when the local user was last told of a CONTROL refusal
    (at most 3 in :data:`REASK_AFTER`). Everything is bounded: at most one
    entry per level and 3 times. One event loop (the session's); no thread
    safety.
    """

    def __init__(self, host: SessionHost) -> None:
        self.host = host
        self._refused_until: dict[int, float] = {}  # level bit -> monotonic time
        self._told: list[float] = []

    def control_unavailable(self) -> str | None:
        """Why this host cannot grant CONTROL (None: it can)."""
        policy = questions_for(self.host).control_unavailable
        if policy is not None:
            return policy
        return NO_INJECTOR if self.host.injector is None else None

    def first(self, asked: Permission, who: str, peer: str) -> str | None:
        """A first request: why CONTROL in ``asked`` cannot be granted (the
        rest is still asked about), or None. The local user is told."""
        why = self.control_unavailable() if CONTROL in asked else None
        if why is not None:
            self._tell(ConsentRequest(who, peer, CONTROL), why)
        return why

    def check(
        self,
        asked: Permission,
        held: Permission,
        open_question: Permission | None,
        waiting: int,
        *,
        who: str,
        peer: str,
    ) -> tuple[int, str] | None:
        """A request after the grant: ``(notice code, reason)`` if it is
        refused without a question, else None (it is asked, waits on the open
        question ``open_question``, or is answered from ``held``). ``waiting``:
        the requests already waiting on the open question."""
        wanted = asked.known - held
        if CONTROL in wanted:
            why = self.control_unavailable()
            if why is not None:
                self._tell(ConsentRequest(who, peer, CONTROL, upgrade=True), why)
                return m.Notice.CONTROL_UNAVAILABLE, why
        if asked.known != asked:
            # Part of it could be asked, but a partial yes could not be told
            # apart from a no on the wire: the whole request is refused.
            return m.Notice.NOT_ASKED, _UNKNOWN_LEVEL
        if open_question is not None:
            if wanted - open_question:  # the user's answer there is not about this
                return m.Notice.NOT_ASKED, _ANOTHER_OPEN
            if waiting >= MAX_COLLAPSED:
                return m.Notice.NOT_ASKED, _TOO_MANY_REQUESTS
            return None
        now = time.monotonic()
        if any(self._refused_until.get(bit, 0.0) > now for bit in _bits(wanted)):
            return m.Notice.NOT_ASKED, _REFUSED_LATELY
        return None

    def user_refused(self, level: Permission) -> None:
        """The local user refused ``level`` (said no, or did not answer)."""
        until = time.monotonic() + REASK_AFTER
        for bit in _bits(level):
            self._refused_until[bit] = until

    def _tell(self, request: ConsentRequest, why: str) -> None:
        """Tell the local user's interface that CONTROL was refused unasked
        (at most :data:`_MAX_TOLD` times per :data:`REASK_AFTER`)."""
        hook: Callable[[ConsentRequest, str], None] | None = (
            questions_for(self.host).on_unavailable)  # fmt: skip
        now = time.monotonic()
        self._told = [t for t in self._told if now - t < REASK_AFTER]
        if hook is None or len(self._told) >= _MAX_TOLD:
            return
        self._told.append(now)
        try:
            hook(request, why)
        except Exception:  # the refusal stands; a broken interface must not end the session
            _log.exception("telling the local user of a refusal failed")


def _bits(level: Permission) -> list[int]:
    return [1 << i for i in range(level.bits.bit_length()) if level.bits >> i & 1]


# -- viewer side ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the host refused ``level``: ``reason`` in words (the host's text
    through ``safe_text``, or :data:`USER_REFUSED`); ``code`` is the Notice
    code of a refusal the host's user was not asked about (``Notice.
    CONTROL_UNAVAILABLE``: asking again will not help; ``Notice.NOT_ASKED``:
    not now), 0 for the user's own refusal."""

    level: Permission
    reason: str = USER_REFUSED
    code: int = 0

    @property
    def by_user(self) -> bool:
        """The host's user refused (was asked, said no or did not answer)."""
        return self.code == 0

    @classmethod
    def explained(cls, level: Permission, notice: m.Notice) -> Refusal:
        """The refusal of ``level`` that ``notice`` explains (its text made harmless)."""
        return cls(level, safe_text(notice.text, 200) or NO_REASON, notice.code)


class RequestLedger:
    """A viewer's permission requests in flight, to match the host's answers
    to them and each refusal to the notice that explains it.

    A host answers every request with one ``PermissionGrant`` (every level it
    then grants) or one ``PermissionDeny`` (the request's own bits), not
    always in the order asked: a request refused unasked overtakes one the
    user is reading, and a request the viewer stopped waiting for is answered
    late. So an answer goes to the oldest request in flight it can answer: a
    Deny to one with the same bits, a Grant to one whose levels it includes.
    A ``CONTROL_UNAVAILABLE`` or ``NOT_ASKED`` notice explains the next Deny
    only (a Grant ends it too), and only if that Deny answers a request sent
    before the notice came: a host explains what it has read. A notice that
    no Deny follows explains nothing later, so a stale or unsolicited one
    never turns the user's own refusal into one "not asked".

    State: the requests in flight (numbered from 1; at most 64, the oldest
    forgotten first, so a host that never answers cannot grow this), the
    number sent, and the notice waiting for its Deny with the number sent
    when it came. One event loop: the viewer's receive loop and its request
    callers.
    """

    def __init__(self) -> None:
        self._flight: collections.OrderedDict[int, Permission] = collections.OrderedDict()
        self._sent = 0
        self._notice: tuple[m.Notice, int] | None = None

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._flight)

    def sent(self, level: Permission) -> int:
        """Note a request for ``level`` (before it is sent); returns its number."""
        self._sent += 1
        self._flight[self._sent] = level
        while len(self._flight) > _MAX_IN_FLIGHT:
            self._flight.popitem(last=False)
        return self._sent

    def notice(self, notice: m.Notice) -> None:
        """A notice with one of the :data:`UNASKED` codes came."""
        self._notice = (notice, self._sent)

    def granted(self, level: Permission) -> int | None:
        """A Grant of ``level``: the number of the request it answers (None: none)."""
        self._notice = None
        return self._take(lambda asked: not asked - level)

    def denied(self, level: Permission) -> tuple[int | None, Refusal]:
        """A Deny of ``level``: the number of the request it answers (None:
        none) and why it was refused."""
        notice, self._notice = self._notice, None
        number = self._take(lambda asked: asked.bits == level.bits)
        if number is None or notice is None or number > notice[1]:
            return number, Refusal(level)
        return number, Refusal.explained(level, notice[0])

    def _take(self, answers: Callable[[Permission], bool]) -> int | None:
        for number, asked in self._flight.items():
            if answers(asked):
                del self._flight[number]
                return number
        return None


#: A host's goodbye that came instead of its user's answer, by the host's
#: reason: one sentence that says who ended the session and that the
#: question went unanswered. The host's own reasons (cli/host.py's and cli/host_commands.py's /end,
#: Ctrl-C and signals; Host.disconnect's default; the session layer's) each
#: already say who ended it: walk34 read "the host ended the session before
#: its user answered: the host's user ended the session".
#: The Bye of a session the host's program failed (host.py): the agent is
#: told an error there ended it, not which (the host's words stay with the
#: host). Before walk39 the channel was closed with no Bye, and the agent
#: read "closed by peer: closed locally", the words of a close on purpose.
HOST_FAILED = "the host could not go on: an error in its program ended the session"
#: The text of ``Notice.TAKES_NO_FILES`` (files41), for a viewer that shows
#: every notice (``Viewer.notices``); the code is what a viewer acts on.
TAKES_NO_FILES = "this host takes no files: a file sent to it is refused, its user not asked"

_UNANSWERED_ENDS = {
    "the host's user ended the session": "the host's user ended the session without answering",
    "the local user stopped sharing": "the host's user stopped sharing without answering",
    "the host program was stopped": "the host program was stopped before its user answered",
    "host ended": "the host ended the session before its user answered",
    "the host ended the session": "the host ended the session before its user answered",
    "": "the host ended the session before its user answered",
}


def unanswered_end(why: str) -> str:
    """Why a viewer was not let in when the host said Bye (its reason
    ``why``, already through ``safe_text``) while its user was being asked:
    one sentence, the host's reason in brackets when it is none of its own
    known ones (an embedding program's words)."""
    said = _UNANSWERED_ENDS.get(why)
    return said or f"the host ended the session before its user answered ({why})"


def failed_bye(capabilities: m.Capabilities) -> tuple[bytes, ...]:
    """The last messages of a session the host's program failed, for a
    viewer that declared ``capabilities``: the Bye of :data:`HOST_FAILED`,
    after a ``Notice.HOST_FAILED`` that says it by its code when the viewer
    reads one (``BYE_NOTICES``): the Bye's words are then only shown, and a
    host's own end in those words is an end (odds40). A viewer without the
    bit gets the Bye alone: one before odds40 would take a Notice before
    its first answer for that answer (a ProtocolError)."""
    bye = m.encode(m.Bye(HOST_FAILED))
    if not capabilities.flags & m.Capabilities.BYE_NOTICES:
        return (bye,)
    return m.encode(m.Notice(m.Notice.HOST_FAILED, HOST_FAILED)), bye
