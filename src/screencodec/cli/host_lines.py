"""The lines ``screencodec host`` prints, in its words, and the words agents are
told: the sharing banner and its end, an agent named as the question named
them (:func:`_agents`), a session's end reason as the user reads it, the fate
of each chat line, the ``[shared]`` status line, the relay lost and back,
the reasons sent to an agent (/end, a signal, the X display gone, view only).

Separate so that what the host says can be read, and changed, in one place,
apart from the code that decides when it is said (host_commands, host_files,
host_events, host.py), which imports it; it imports none of them.
"""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from screencodec.cli.terminal import StatusLines, in_words, rtt_band, rtt_shown
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.chat import DELIVERED, NOT_CONFIRMED, NOT_DELIVERED
from screencodec.transport.session.endreasons import (
    LINK_LOST,
    NO_REQUEST,
    NO_VIEW_ASKED,
    REQUEST_WAIT,
    VIEWER_LEFT,
    agent_gone,
    refused_words,
    viewer_stopped,
)
from screencodec.transport.session.events import ChatDelivery
from screencodec.transport.session.input_gate import ignored_words
from screencodec.transport.session.link import SCREEN_GONE
from screencodec.transport.session.permissions import ConsentRequest
from screencodec.transport.session.stats import LinkStats
from screencodec.transport.session.terminal_questions import NUMBERED, TerminalQuestions

if TYPE_CHECKING:
    from screencodec.transport.connect.registration import RelayStatus

__all__ = [
    "BANNER", "CODE_GONE", "ENDED_BY_USER", "HOST_STOPPED", "LET_IN_WORDS", "NO_INPUT",
    "RECONNECTED", "STOPPED", "VIEW_ONLY", "X_GONE", "_agents", "_cannot_come_back",
    "_delivery", "_in_users_words", "_left_agent", "_left_unanswered", "_relay_status",
    "_shared", "_told",
    "reconnected_as", "stopped_words",
]

#: The name its log lines had when all of the host was cli/host.py: kept, so that
#: the log reads as before (the module is cli/host_lines.py).
_log = logging.getLogger("screencodec.cli.host")

BANNER = "#" * 64


#: What an agent is told when it asks this host for CONTROL and it cannot be granted.
VIEW_ONLY = "the host's user shares the screen for viewing only (remote control is off)"
NO_INPUT = "remote control is unavailable on the host's computer: input cannot be injected there"


def _told(ui: TerminalQuestions, why: str) -> Callable[[ConsentRequest, str], None]:
    """The one line the local user reads when an agent's request for CONTROL
    was refused unasked (a yes would be a grant that does nothing, and the
    agent would believe it controls the screen)."""

    def tell(request: ConsentRequest, _told_agent: str) -> None:
        ui.say(f"refused: {safe_text(request.who, 64)!r} ({safe_text(request.peer)}) asked to"
               f" control your mouse and keyboard, but remote control is unavailable on this"
               f" computer ({why})")  # fmt: skip

    return tell


#: What an agent is told when the host's user types /end.
ENDED_BY_USER = "the host's user ended the session"
#: What an agent is told when the host program is stopped by SIGTERM or SIGHUP.
HOST_STOPPED = "the host program was stopped"
#: The END reasons of a session the host's user ended (/end; Ctrl-C,
#: SIGTERM, SIGHUP) while its first question was open (transport
#: Host.disconnect's words): the sessions let in are told by /end's own
#: line or as "you ended it".
_ENDED_UNANSWERED = frozenset(f"ended by the host: {why}" for why in (ENDED_BY_USER, HOST_STOPPED))
#: What an agent is told when the X display the host shares died mid-session.
X_GONE = "the host's X display is gone: its screen, mouse and keyboard can no longer be used"


def _delivery(ui: TerminalQuestions, ev: ChatDelivery, now_as: dict[str, str]) -> None:
    """What became of the local user's chat lines to one agent: each marked
    delivered once the agent's program has it; when the session ended
    first, not confirmed if it was sent (it may have arrived, its
    confirmation lost), NOT delivered if it never was (kept for an agent
    who did not come back); an agent's viewer of a version that confirms
    nothing is told once. The agent is named as they are now (``now_as``:
    the address they came back from, for a line given before a resume)."""
    agent = _agents(ui, (now_as.get(ev.peer, ev.peer),))
    if ev.state == DELIVERED:
        for text in ev.texts:
            ui.say(f"delivered to {agent}: {safe_text(text, 80)}")
    elif ev.state == NOT_CONFIRMED:
        for text in ev.texts:
            ui.say(f"not confirmed by {agent}, the session ended: {safe_text(text, 1000)}")
    elif ev.state == NOT_DELIVERED:
        for text in ev.texts:
            ui.say(f"NOT delivered to {agent}, the session ended: {safe_text(text, 1000)}")
    elif ev.first == 1:
        ui.say(f"(sent: the viewer of {agent} does not confirm that chat arrives)")


#: A failed grab's words (capture/screen.py's _grab_failed): which display.
_GRAB_FAILED = re.compile(r" \(grabbing .*? on display ('[^']*') failed")


#: A link's end by its viewer's Bye (session/link.py), and what ``view``
#: says in it when its agent leaves (Ctrl-C, --duration, the page's Leave).
_BYE = "viewer said bye"
_LEFT = VIEWER_LEFT


def _in_users_words(reason: str) -> str:
    """A session's end reason as the host's user reads it. The screen gone
    names its display, not the grab that failed (walk36: "(grabbing
    Rect(x=0, y=0, w=1024, h=768) on display ':136' failed)"); the details
    stay in the recording's END and the log."""
    refused = refused_words(reason, "you")  # the first question's no (walk36: "consent denied")
    if refused is not None:
        return safe_text(refused, 200)
    if reason in _ENDED_UNANSWERED:  # walk37: it read "ended by the host: the host's user ..."
        if reason.endswith(HOST_STOPPED):  # SIGTERM, SIGHUP: not the user's doing (words51)
            return f"{HOST_STOPPED} before you answered"
        return "you ended it without answering"
    if reason == _BYE or reason.startswith(_BYE + ": "):
        # walk38: "viewer said bye: the agent left the session", the link's
        # words (the recording's END keeps them): the agent's own, after a comma.
        said = reason.removeprefix(_BYE).removeprefix(": ")
        if not said or said == _LEFT:
            return _LEFT if said else "the agent left"
        if viewer_stopped(said) is not None:  # word for word, one of two signals' names
            # words52: a signal stopped the agent's viewer program (a service
            # manager, a logout, a closed window): not the agent's leaving.
            return said
        return f"the agent left, saying: {safe_text(said, 200)}"
    grab = _GRAB_FAILED.match(reason, len(SCREEN_GONE)) if reason.startswith(SCREEN_GONE) else None
    if grab is None:  # "(the screen did not answer within 10 s)" is said as it is
        return safe_text(reason, 200)
    _log.info("session ended: %s", safe_text(reason, 500))
    return f"{SCREEN_GONE} (display {safe_text(grab[1], 100)} stopped answering)"


def stopped_words(sig: int | None, why: str) -> str:
    """A session's end in the host's user's words (``why``) once the host
    program was stopped by ``sig`` (SIGTERM, SIGHUP: a logout, a service
    manager, the terminal window closed; None: Ctrl-C or ``/end``, the
    user's own, said as ``why`` says it): the program was stopped, by which
    signal. words51: "ended: you ended it" of a service manager's SIGTERM."""
    if sig is None:
        return why
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    if why.startswith(HOST_STOPPED):
        return f"{HOST_STOPPED} by {name}{why.removeprefix(HOST_STOPPED)}"
    return f"{HOST_STOPPED} by {name}"


def _left_unanswered(reason: str, asked: bool) -> str | None:
    """The line's words for an agent who left, or whose link was lost,
    before its first question was answered (``asked``: it was on screen;
    else it waited its turn): no session took place, so none "ended"
    (consent41). None for any other end (said as a session's end)."""
    if reason == _BYE or reason.startswith(_BYE + ": "):
        said = reason.removeprefix(_BYE).removeprefix(": ")
        gone = agent_gone(said)  # words52: a stopped viewer is said so
    elif reason.startswith("viewer gone"):
        gone = LINK_LOST
    else:
        return None
    when = "you answered" if asked else "you were asked"
    return f"{gone} before {when}; nothing was shared"


def _left_agent(ui: TerminalQuestions, peer: str) -> str:
    """Name an agent who left before their first question was answered:
    as :func:`_agents` does, or, never asked, by the name the line that
    said them waiting gave (words45: walk45's "(also waiting: 'Carol'
    (ADDR #3) asks ..." was followed by "ADDR #3: the agent left ...")."""
    who = ui.waited.get(peer)
    if peer in ui.names or not who:
        return _agents(ui, (peer,))
    return f"{who!r} ({safe_text(ui.shown.get(peer, peer))})"


def _agents(ui: TerminalQuestions, viewers: tuple[str, ...]) -> str:
    """Name each viewer as the question named it: the agent, then the address."""
    named = []
    for peer in viewers:
        who = ui.names.get(peer)
        where = safe_text(ui.shown.get(peer, peer))
        named.append(f"{who!r} ({where})" if who else where)
    return ", ".join(named)


#: How an agent back on a new link is shown after its address (reconnected_as).
RECONNECTED = ", reconnected"
_NUMBERED = NUMBERED  # a peer name the host made unique (session/host.py: "NAME #N")


def reconnected_as(peer: str, was: str, was_shown: str = "") -> str | None:
    """How to show ``peer``, a link that took up the session of the lost
    link ``was`` (shown as ``was_shown``, "" for as itself): "NAME,
    reconnected" when the host numbered it only because ``was`` (or an
    earlier link of the session) held NAME, where NAME is how ``was`` was
    shown (so two agents of one address that both came back stay apart:
    "ADDR, reconnected" and "ADDR #2, reconnected"); None when its name is
    its own (a new address: shown as it is)."""
    found = _NUMBERED.fullmatch(peer)
    if found is None:
        return None
    before = _NUMBERED.fullmatch(was)
    base = before[1] if before is not None else was
    if found[1] != base:
        return None
    return f"{(was_shown or was).removesuffix(RECONNECTED)}{RECONNECTED}"


def _shared(stats: LinkStats, status: StatusLines, now: float,
            shown: str | None = None) -> str | None:  # fmt: skip
    """A viewer's ``[shared]`` line, or None when it is not due: it is
    printed when the link gets slow or fast again, input is dropped or the
    screen starts or stops changing (at once: StatusLines.due), and
    in a log once a minute besides (a line every second drowned out the
    agent's chat). On a terminal it is short (fps, kbit/s, rtt) and cut to
    the window's width; a log gets every figure."""
    news = (rtt_band(stats.rtt_ms), stats.input_ignored)
    if not status.due(stats.peer, news, now, stats.fps):
        return None
    # walk40: ", input dropped N" read as the customer's own input lost; it
    # is the agent's, ignored (the customer's own use of it, no control yet).
    # input46: by kind, as the agent's view says it (it had read 300, every
    # press and release, for the agent's 150 characters).
    words = ignored_words(stats.input_ignored)
    dropped = f", their input ignored: {words}" if words else ""
    if not status.on_terminal:
        return f"[shared] {safe_text(stats.line(), 200)}{dropped}"
    rate = "still," if status.still(stats.peer) else f"{stats.fps:.0f} fps"
    # ``shown``: how the terminal names this peer elsewhere (reconnected_as).
    # On a narrow terminal the figures are cut first, then the peer's name;
    # never the count of its input ignored (walk52).
    return status.fit(f"{rate}{rtt_shown(stats.rtt_ms)} {stats.kbps:.0f} kbit/s", dropped,
                      head=f"[shared] {safe_text(shown or stats.peer, 60)}: ")


#: Seconds without a byte from a viewer that keeps its link warm (a record
#: at least every 3 s, Timeouts.warm) after which the host's user is told its
#: link went silent; :data:`SILENT_AFTER` for a viewer of an earlier version
#: (a keepalive at least every 15 s, Timeouts.keepalive).
WARM_SILENT_AFTER = 6.0
SILENT_AFTER = 20.0


def _silent(who: str, quiet: float) -> str:
    """The line when ``who`` (:func:`_agents`' words) has not been heard for ``quiet`` s."""
    return (f"no word from {who} for {quiet:.0f} s: their connection may be down;"
            " your screen is not reaching them")


def _heard_again(who: str, quiet: float) -> str:
    return f"{who} is heard again (after {quiet:.0f} s of silence)"


def _relay_status(ui: TerminalQuestions, on_lost: Callable[[], None] | None = None,
                  ) -> Callable[[RelayStatus], None]:  # fmt: skip
    """The line the local user reads when the session code stops or starts
    working at the relay (the relay went down or came back): while it is
    lost, an agent who tries the code is told there is no such session.
    ``on_lost`` is called as the relay is lost (the agents' links through
    it are lost with it: _Commands.relay_lost, walk52)."""

    def tell(status: RelayStatus) -> None:
        if not status.reachable and on_lost is not None:
            on_lost()
        if status.reachable and status.moved_from:  # failover42: another of its cluster
            ui.say(f"moved to the relay at {status.relay}, of the same cluster as the one at"
                   f" {status.moved_from} (lost); the code {status.code} works")
        elif status.reachable:
            ui.say(f"connected to the relay at {status.relay} again; the code {status.code}"
                   " works")
        else:
            error = in_words(status.error.removeprefix(f"cannot reach {status.relay}: "))
            why = f" ({error})" if error else ""
            if status.others:  # the relays of its cluster it tries too (names checked)
                more = len(status.others)
                where = (f"it and {more} other relay{'s' if more > 1 else ''} of its cluster"
                         f" ({', '.join(status.others[:3])}{', ...' if more > 3 else ''})")
                back = "one of them takes it"
            else:
                where, back = "", "the relay is back"
            ui.say(f"lost the relay at {status.relay}{why}; retrying{' ' + where if where else ''}"
                   f": the code {status.code} will work again when {back} (you will be told)")

    return tell


STOPPED = f"\n{BANNER}\n##  Screen sharing stopped.\n{BANNER}"
#: The host's last line as it stops (but for its X display gone, said in its own words).
CODE_GONE = "Stopped. Nothing is shared; the session code no longer works."


#: The line for an agent let in to nothing, after its address, in the user's
#: words (walk36: "session with ADDRESS ended: viewer sent no request").
LET_IN_WORDS = {
    NO_REQUEST: f"proved the password, then asked for nothing within {REQUEST_WAIT:.0f} s:"
                " nothing was shared, and it was disconnected",
    NO_VIEW_ASKED: "proved the password and asked to control your mouse and keyboard without"
                   " seeing your screen: refused without asking you; nothing was shared",
}


def _cannot_come_back(names: list[str]) -> str:
    """The line for agents away whose sessions are over."""
    return f"{', '.join(repr(n) for n in names)} can no longer come back without asking you"
