"""Why a ``screencodec view`` session ended, in the agent's words, and its
exit status: the end line ``session ended: WHY`` (:func:`ended_words`), the
words for a lost link not taken up again (the terminal's own and the web
viewer's reasons read back), and the hint for a screen over
``--max-pixels``.

Apart from the session loop (cli/view.py) because it is wording only: pure
functions of a reason string, which the terminal's loop, the ``--web``
loop and the reconnection (cli/view_connect.py) all end with, and which
tests check line by line. It imports nothing of the other view modules.
"""

from __future__ import annotations

import re
import signal
from typing import TYPE_CHECKING

from screencodec.cli.main import Exit
from screencodec.decoder import too_large
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.endreasons import VIEWER_LEFT, VIEWER_STOPPED
from screencodec.transport.session.resume import MOVED

if TYPE_CHECKING:
    from screencodec.web.run import LostEnd

__all__ = [
    "LEFT",
    "LEFT_AWAY",
    "LEFT_IN_PAGE",
    "NO_ANSWER",
    "TAKEN_OVER",
    "_AWAY_WORDS",
    "_LOST",
    "_bye_words",
    "_end_status",
    "_left_words",
    "_lost_link",
    "_no_answer",
    "_not_taken_up",
    "_over_limit_hint",
    "_plain",
    "_watch_it",
    "_web_lost_words",
    "_yours",
    "ended_words",
]


def _not_taken_up(reason: str, why: str | None) -> str:
    """Why a session whose link was lost (``reason``) ended, once it could
    not be taken up again: a relay saw the host's program stop without a
    word (``why`` None), or reconnecting failed (``why``, explained)."""
    if why is None:
        return f"{_plain(reason)}, and the host no longer answers (its program has stopped)"
    return f"{_plain(reason)}; could not reconnect: {why}"


#: A host reached directly whose machine refuses every reconnection
#: (nothing listens there): all this side knows. words39: it said "(its
#: program has stopped)", read as a crash, when the person had ended the
#: session while the agent was away (a ``--once`` host then exits) or
#: quit; nor does a refusal rule out a computer gone from the network
#: behind a forwarder. The likely causes, none claimed.
NO_ANSWER = ("the host no longer answers: the host's user may have ended the session, or"
             " their computer went offline or its program stopped")  # fmt: skip


def _no_answer(reason: str) -> str:
    """A session whose link was lost (``reason``) and whose host, reached
    directly, refused the reconnections (:data:`NO_ANSWER`)."""
    return f"{_plain(reason)}, and {NO_ANSWER}"


def _web_lost_words(end: LostEnd) -> str:
    """The terminal's words for a web viewer's run that ended on a lost link
    it did not take up again, in the words ``view`` uses
    (:func:`_not_taken_up`, :func:`_ended_meanwhile`, view_connect._rejoin),
    from what the run recorded as it ended (``WebViewer.lost_end``). Before
    audit38 they, and the exit status, were read back from the end of the
    run's reason, whose text carries the host's words."""
    from screencodec.transport.connect.reconnect import not_let_back_in

    if end.how == "gone":
        return _not_taken_up(end.lost, None)
    if end.how == "no answer":
        return _no_answer(end.lost)
    if end.how == "failed":
        return _not_taken_up(end.lost, end.why)
    if end.how == "away" and end.away is not None:
        return f"{_plain(end.lost)}, and {_AWAY_WORDS[end.away.value]}"
    if end.how == "not back in":
        return f"{_plain(end.lost)}, and {not_let_back_in(end.why)}"
    return _plain(end.lost)


#: How a session this side left is told (Ctrl-C, --duration).
LEFT = "you left the session"
#: How leaving while reconnecting is told (Ctrl-C, SIGTERM, SIGHUP as the
#: lost link is being taken up again): no Bye can reach the host, whose
#: user goes on being told the agent may come back (walk38: it said
#: LEFT, as if the host knew).
LEFT_AWAY = ("you left the session while reconnecting: the host could not be told, and its"
             " user may be told for a minute or more that you can still come back")
#: How the page's Leave button is told on the agent's terminal.
LEFT_IN_PAGE = "you left the session (Leave in the web page)"
#: What follows "while reconnecting" in :data:`LEFT_AWAY` and its words for a signal.
_NOT_TOLD = LEFT_AWAY.removeprefix("you left the session while reconnecting")


def _bye_words(signals: list[int]) -> str:
    """What the agent's Bye tells the host, by the signals that made the
    viewer leave (``_Left.signals``, the first counted): the agent left
    (Ctrl-C; none: ``--duration``), or SIGTERM, SIGHUP stopped the viewer
    program (words52: the host's user read "the agent left the session" of
    a service manager's stop)."""
    sig = signals[0] if signals else None
    if sig in (signal.SIGTERM, signal.SIGHUP):
        return VIEWER_STOPPED.format(signal.Signals(sig).name)
    return VIEWER_LEFT


def _left_words(signals: list[int], *, began: bool = True, away: bool = False) -> str:
    """How the viewer's leaving is told, by the signals that made it leave
    (``_Left.signals``, the first of them counted; none: ``--duration``):
    the agent's own leaving (Ctrl-C) is :data:`LEFT`, or :data:`LEFT_AWAY`
    while reconnecting (``away``). SIGTERM and SIGHUP are not the agent's
    doing but a service manager's, a logout's, a closed terminal window's:
    the viewer was stopped, by which signal, and (``began``) whether the
    session had begun. words51: "you left the session" of a ``view --web
    --no-open`` that a service manager stopped while it waited for its
    page, and of the terminal ``view`` alike."""
    sig = signals[0] if signals else None
    if sig is None or sig == signal.SIGINT:
        return LEFT_AWAY if away else LEFT
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    stopped = f"the viewer was stopped by {name}"
    if away:
        return f"{stopped} while reconnecting{_NOT_TOLD}"
    return stopped if began else f"{stopped} before the session began"


def _yours(reason: str, left_here: str) -> str:
    """The web viewer's reasons for its own leaving ("the agent left the
    session", what the host reads) in the words of the agent's own terminal:
    the agent did it, so "you" did (it read "the agent left the session"
    after Leave in the page, and "you left the session" after Ctrl-C)."""
    if reason == left_here:
        return LEFT_IN_PAGE
    return re.sub(r"^the agent closed ", "you closed ", reason)


#: How a viewer whose session the agent's newer connection took over is
#: told (resume.MOVED: the host ended this link because a newer connection
#: took its session up with this link's ticket, and, while this link was
#: still being taken up, with its key: resume38). Not an error: the session
#: goes on there.
TAKEN_OVER = ("a newer connection of yours took this session over"
              " (the same session, resumed elsewhere)")
#: The host's own goodbyes (session/host.py, link.py) in the agent's words.
_HOST_WORDS = {
    "host ended": "the host ended the session",
    "the local user stopped sharing": "the host's user stopped sharing the screen",
    "closed locally": "the host closed the connection",
    MOVED: TAKEN_OVER,
}


def ended_words(reason: str) -> str:
    """The line that says why a session ended (``Viewer.run``'s reason, or
    the web viewer's), ``session ended: WHY``, WHY in plain words: without
    the channel's layers ("channel closed: closed by peer: ..."), the host's
    own words kept, through safe_text. The web viewer's reasons for its own
    leaving are the agent's own actions: "you left the session ..." (see
    :func:`_yours`)."""
    return f"session ended: {_plain(reason)}"


#: How a lost link is told (:func:`_plain`; connect/reconnect.LOST_WORDS).
_LOST = "the connection was lost"


#: An idle close's words (channel/sealed.SILENCE, "nothing received for N s
#: (peer gone)"): whose they are says which way nothing came.
_IDLE_CLOSE = re.compile(r"nothing received for (\S+) s \(peer gone\)")


def _plain(reason: str) -> str:
    from screencodec.transport.connect.reconnect import lost_words

    if reason in (LEFT, "channel closed: closed locally"):
        return LEFT
    lost = lost_words(reason)  # the words view --web says too
    if lost is not None:
        return lost
    for layer in ("host said bye: ", "channel closed: closed by peer: "):
        if reason.startswith(layer):
            why = reason.removeprefix(layer)
            return safe_text(_HOST_WORDS.get(why, why), 200) or "the host ended the session"
    return safe_text(reason, 200)


def _lost_link(reason: str) -> bool:
    """Whether ``reason`` (``Viewer.closed_reason``) is a lost link by this
    side's own account (its channel broke or went silent, or the host closed
    it for hearing nothing from here), never by the host's words: a Bye (or
    a close) whose text reads "the connection was lost" is the host's end,
    and leaves with ENDED, not LOST (audit38 found the status read from the
    text :func:`_plain` shows)."""
    if reason.startswith("host said bye: "):
        return False
    by_peer = reason.removeprefix("channel closed: closed by peer: ")
    if by_peer != reason and _IDLE_CLOSE.fullmatch(by_peer) is None:
        return False
    return _plain(reason).startswith(_LOST)


def _end_status(hint: str, *, lost: bool, failed: bool = False) -> Exit:
    """The exit status of a session that was joined and has ended: LOST when
    its link was lost and not taken up again, ERROR when this viewer ended
    it over --max-pixels (``hint``, :func:`_over_limit_hint`'s, is then
    not empty) or the host's program failed (``failed``: its code before
    its Bye, ``Viewer.host_failed``; walk39 read the Bye's words, and a
    host's own end in them was an error: odds40), else ENDED (the agent
    left, or the host ended it)."""
    if lost:
        return Exit.LOST
    return Exit.ERROR if hint or failed else Exit.ENDED


#: How the terminal says the session ended while the agent was away
#: (connect/reconnect.EndedAway's values, not STOPPED's), after "the
#: connection was lost, and ".
_AWAY_WORDS = {
    "ended": "the host's user had ended the session while you were away",
    "display gone": "the host's X display was gone while you were away: its screen, mouse and"
                    " keyboard could no longer be used, and the host stopped",
}  # fmt: skip


def _over_limit_hint(reason: str, max_pixels: int, *, web: bool = False) -> str:
    """What to do about a session this viewer ended because the host's
    picture was over ``--max-pixels`` (its reason is :func:`too_large`'s,
    "the host's screen is WxH, over this viewer's limit of N pixels"); ""
    for any other end. With ``web``, a picture the page cannot draw at all
    is to be watched in the terminal (the page needs the web extra, aiohttp)."""
    size = re.match(r"the host's screen is (\d+)x(\d+),", reason)
    if size is None or reason != too_large(int(size[1]), int(size[2]), max_pixels):
        return ""
    needed = int(size[1]) * int(size[2])
    if web:
        from screencodec.web.bridge import PAGE_MAX_PIXELS

        if needed > PAGE_MAX_PIXELS:
            return (f" (the web page draws at most {PAGE_MAX_PIXELS} pixels:"
                    f" {_watch_it(needed, ' without --web,')})")  # fmt: skip
    return f" ({_watch_it(needed)})"


def _watch_it(needed: int, how: str = "") -> str:
    """What to type to watch a picture of ``needed`` pixels."""
    return f"to watch it, start screencodec view{how} with --max-pixels {needed}"
