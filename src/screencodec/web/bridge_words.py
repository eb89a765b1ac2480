"""The words the web page shows for the bridge (:mod:`screencodec.web.bridge`).

What a file's row says when an upload or a host's file went no further, the
notices of a request for CONTROL that was not granted, and the page's status
while the host is heard from or silent: one place to read them all, as the
agent reads them.
"""

from __future__ import annotations

from screencodec.transport.channel.display import amount
from screencodec.transport.session.events import FileCut, FileRefused
from screencodec.transport.session.viewer import Viewer

__all__ = ["CONNECTED", "LINK_DOWN", "LINK_LOST", "NOT_ASKED", "TAKES_NONE", "UNANSWERED",
           "UNANSWERED_ENDED", "UNANSWERED_LOST", "UPLOAD_CANCELLED", "UPLOAD_ENDED", "UPLOAD_LEFT",
           "UPLOAD_LEFT_UNANSWERED", "UPLOAD_PAGE_GONE", "UPLOAD_STOPPED", "UPLOAD_STOPPED_BY",
           "UPLOAD_STOPPED_BY_UNANSWERED", "UPLOAD_WITHDRAWN",
           "USER_DID_NOT_ACCEPT", "plain_attempt"]  # fmt: skip

#: The page's notice when the host's user did not grant CONTROL: a no and an
#: unanswered question are one answer on the wire (walk43: "declined", of a
#: question the user never answered).
USER_DID_NOT_ACCEPT = ("The user did not accept remote control (they said no, or did not"
                       " answer in time).")  # fmt: skip
#: What the host's reason follows when it refused control without asking
#: its user (Notice.NOT_ASKED), as the terminal says "control refused (the
#: host's user was not asked): REASON".
NOT_ASKED = "The user was not asked for remote control"
#: Why a file the agent sends while the link is down is not offered.
LINK_LOST = "the connection to the user's computer was lost"
LINK_DOWN = f"not sent: {LINK_LOST}; send it again once reconnected"
#: Why a host's file question the agent had not answered ends (its row):
#: the link was lost (the host asks again, if at all, after the resume),
#: or the session ended.
UNANSWERED_LOST = f"{LINK_LOST} before you answered; the user may send it again"
UNANSWERED_ENDED = "the session ended before you answered"
#: Why an upload the session's end cut short went no further (its row, state
#: "failed"), and, when the agent left (the page's Leave; Ctrl-C, SIGTERM or
#: SIGHUP where the view runs), state "cancelled": walk34 read "failed: the
#: session ended" after its own Leave.
UPLOAD_ENDED = "the session ended"
UPLOAD_LEFT = "you left the session before it was all sent"
#: An offer's row while the host that said this session it takes no files
#: answers (files41: it said "waiting for the user", nobody there asked).
TAKES_NONE = "the host said this session that it takes no files"
UPLOAD_LEFT_UNANSWERED = "you left the session before the user answered"
#: ... and their words when a signal stopped the viewer program, not the
#: agent (WebViewer.leave's ``stopped_by``: SIGTERM, SIGHUP; page51).
UPLOAD_STOPPED_BY = "the viewer program was stopped by {} before it was all sent"
UPLOAD_STOPPED_BY_UNANSWERED = "the viewer program was stopped by {} before the user answered"
#: Why an upload the agent cancelled on its row (cancel36) went no further
#: (state "cancelled"): still copied by the page, asked about at the host,
#: under way (with how much of it had arrived: its FileCut).
UPLOAD_CANCELLED = "you stopped it before it was sent"
UPLOAD_WITHDRAWN = "you withdrew it before the user answered"
UPLOAD_STOPPED = "you stopped sending it"
#: Why an upload the page was still copying when its socket closed went no
#: further (state "failed"): that page had the file, the reloaded one has not.
UPLOAD_PAGE_GONE = (
    "not sent: the page was reloaded or closed before it was all copied; send it again"
)
#: The page's status while the session is joined and the host is heard from.
CONNECTED = "Connected"
_SILENT = "No word from the user's computer"
#: What the page is told when the host did not answer a request for CONTROL.
UNANSWERED = "The host did not answer the request for remote control."


#: A failed attempt to reconnect in a socket's words (reconnect.attempt_words,
#: "the connection broke: " taken off first), and the page's words for it
#: (page46: "Reconnecting, for up to 52 s more: the peer closed the
#: connection" read as jargon, "connection reset by peer" too).
_PLAIN_ATTEMPT = {
    "the peer closed the connection": "the other end closed the connection at once",
    "the connection is gone": "the connection was cut",
    "connection reset by peer": "the other end cut the connection at once",
    "connection refused": "nothing accepted the connection at that address",
    "no route to host": "this computer cannot reach that address now",
    "network is unreachable": "this computer's network is down or cannot reach that address",
}


def plain_attempt(why: str) -> str:
    """Why an attempt to reconnect failed, in the page's words: a socket's
    words plainly (:data:`_PLAIN_ATTEMPT`), anything else (a relay's own
    words, "no answer within 60 s") as it is."""
    return _PLAIN_ATTEMPT.get(why.removeprefix("the connection broke: "), why)


def _cut_short(viewer: Viewer, ev: FileRefused) -> str:
    """A host's file the agent accepted that the session's end cut short, in
    the page's words (PageFiles.not_saved puts "not saved: " first): the
    session ended (the user's /end, the agent's Leave), or the link was lost
    (the user may send it again), with how much of it came in a person's
    units. It read the Viewer's CUT_SHORT, "could not be saved: the
    connection ended before all of it came (11968542 of 400000000 bytes)",
    after the user's /end (walk33)."""
    came = f"{amount(ev.received)} of {amount(ev.size)}"
    if viewer.link_lost:
        return (f"{LINK_LOST} before all of it came ({came}); nothing of it was"
                " kept; the user may send it again")  # fmt: skip
    return f"the session ended before all of it came ({came}); nothing of it was kept"


def _how_much(cut: FileCut) -> str:
    """How much of an upload ``cut`` short had reached the host (what it
    said it has, else what was sent), and that the host kept none of it
    (its receiver removes a file cut short)."""
    if cut.arrived >= 0:
        went = f"{amount(cut.arrived)} of {amount(cut.size)} had arrived"
    else:
        went = f"{amount(cut.sent)} of {amount(cut.size)} had been sent"
    return f"{went}; nothing of it was kept there"
