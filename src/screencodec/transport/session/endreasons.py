"""END reasons a host writes for a viewer it let in to nothing, as plain
strings with no imports: ``recordings list`` reads them out of a recording's
metadata to show such a session as refused, and importing :mod:`.link` for
them would cost that command a second of imports."""

from __future__ import annotations

__all__ = ["AGENT_LEFT", "AGENT_MOVED", "CONSENT_DENIED", "LET_IN_TO_NOTHING", "LINK_LOST",
           "NOT_ASKED", "NO_REQUEST", "NO_VIEW_ASKED", "REQUEST_WAIT", "UNANSWERED", "VIEWER_LEFT",
           "VIEWER_STOPPED", "agent_gone", "not_asked", "refused_words", "unanswered",
           "viewer_stopped"]

#: How long a host waits for a viewer's first request (its hello), in seconds.
REQUEST_WAIT = 10.0
#: The viewer proved the password, then sent no request within REQUEST_WAIT.
NO_REQUEST = "viewer sent no request"
#: The viewer's first request did not include VIEW.
NO_VIEW_ASKED = "viewer did not ask to view"
#: Both: a session nobody was let in to, as a refusal is.
LET_IN_TO_NOTHING = frozenset({NO_REQUEST, NO_VIEW_ASKED})

#: Why a question's asker no longer waits for its answer, in the host's
#: user's words (consent.question_gone; link.py ``question_gone``).
AGENT_LEFT = "the agent left"
LINK_LOST = "the connection to the agent was lost"
#: What a viewer's Bye says when its agent leaves (Ctrl-C, --duration, the
#: page's Leave button); the host's user reads it as it is.
VIEWER_LEFT = "the agent left the session"
#: What it says instead when a signal stopped the viewer program (SIGTERM,
#: SIGHUP: a service manager, a logout, the agent's terminal window closed),
#: ``{}`` the signal's name: not the agent's choice (words52: the host's
#: user read "the agent left the session"). Plain words, so that a host of
#: a version that does not know them, and a recording's END and audit log,
#: read true as they are.
VIEWER_STOPPED = "the agent's viewer program was stopped by {}"
#: The signals :data:`VIEWER_STOPPED` may name: those that stop ``view``
#: (cli/view_signals.ending_signals); a Bye naming any other is a peer's
#: own words, shown as such.
_STOPPING = ("SIGTERM", "SIGHUP")
_STOPPED_BYES = {VIEWER_STOPPED.format(name): name for name in _STOPPING}


def viewer_stopped(said: str) -> str | None:
    """The signal's name when a viewer's Bye (``said``, its reason) is
    :data:`VIEWER_STOPPED` of one of the signals that stop ``view``, word
    for word; else None (the peer's words: untrusted, shown as said)."""
    return _STOPPED_BYES.get(said)


def agent_gone(said: str) -> str:
    """Why the agent no longer waits for an answer, in the host's user's
    words, from its Bye's reason (``said``): :data:`AGENT_LEFT`, or the
    viewer program stopped by a signal (words52)."""
    return said if viewer_stopped(said) is not None else AGENT_LEFT


#: The agent took its session over on a new connection (resume.MOVED): a
#: question of the old one is not the new one's (ask42); it asks again there.
AGENT_MOVED = "the agent took the session to a new connection"

#: The user's no to the first question (link.py ``_ask_first``); followed
#: by ": no answer in time", or by ": WHY" when the host program's consent
#: callback failed (WHY its words: the host's own program, not the peer).
CONSENT_DENIED = "consent denied"
_NO_ANSWER = CONSENT_DENIED + ": no answer in time"


#: A recording's END reason starts so when its session ended (by either
#: side) while its first question was open: nobody was let in, though the
#: session's own reason ("ended by the host: ...", "viewer left") is one a
#: session that took place may end with too (walk37: ``recordings list``
#: said "complete" of it). Not in ``SessionEnded``: that names how it ended.
UNANSWERED = "ended before the user answered"


def unanswered(reason: str) -> str:
    """The END reason a recording keeps for a session that ended with
    ``reason`` while its first question was open."""
    return f"{UNANSWERED}: {reason}"


#: A recording's END reason starts so when its session ended (by either
#: side) before its first question was put to the user: the viewer broke
#: the protocol or left before its request, or its question still waited
#: its turn behind another's (audit38: these read "ended before the user
#: answered", though the user was never asked anything).
NOT_ASKED = "ended before asking"


def not_asked(reason: str) -> str:
    """The END reason a recording keeps for a session nobody was let in to
    that ended with ``reason`` before its first question was put."""
    return f"{NOT_ASKED}: {reason}"


def refused_words(reason: str, user: str = "the user") -> str | None:
    """How a person is told why nobody was let in, for the END reason of a
    first question answered no (walk36: "consent denied" read as jargon in
    ``recordings list`` and the host's end line): "the user declined", "the
    user did not answer in time", or "the user could not be asked: WHY";
    ``user="you"`` for the host's own user; "the session ended before the
    user answered" for :func:`unanswered`'s; "the session ended before the
    user was asked: REASON" for :func:`not_asked`'s (REASON the session's
    own, e.g. "protocol error: ..."). None for any other reason."""
    if reason.startswith(UNANSWERED + ": "):
        return f"the session ended before {user} answered"
    if reason.startswith(NOT_ASKED + ": "):
        why = reason.removeprefix(NOT_ASKED + ": ")
        asked = "you were" if user == "you" else f"{user} was"
        return f"the session ended before {asked} asked: {why}"
    if reason == CONSENT_DENIED:
        return f"{user} declined"
    if reason == _NO_ANSWER:
        return f"{user} did not answer in time"
    if reason.startswith(CONSENT_DENIED + ": "):
        return f"{user} could not be asked: {reason.removeprefix(CONSENT_DENIED + ': ')}"
    return None
