"""A recorded session whose agent is away: its lost link's file, kept open.

A link's recording ends once its session's chat is settled
(:attr:`.chat.ChatLedger.on_over`): at once when the session is over, or,
the link lost and its ticket parked (:mod:`.resume`), when the agent comes
back or the session is over while it is away. :class:`LinkRecording` is
that ``on_over``. While the agent is away, what the host's side does to the
session is logged in that file, marked ``away`` (docs/recording.md, "The
audit log"; before auditleft, in no log):

* the host's user takes a level back (``Host.revoke``): a ``revoke`` row,
  ``by`` "host"; VIEW taken, the session is over;
* the host's user ends the session (``Host.disconnect``, ``Host.close``):
  the ``bye`` its end would have sent; the file's END says the host ended
  it, as a connected link's does (before, it kept the link's reason);
* the session's time limit (``HostConfig.max_duration``, from its first
  start) runs out: the same, with the limit's reason, at its time (before,
  only the ticket's window or a presented ticket ended it).

The file's END is at the link's end when nothing was logged after it (the
agent came back to a session nobody touched meanwhile), else at the last
such row, or when the session is over.
"""

from __future__ import annotations

import time
from typing import Any

from screencodec.transport.session.chat import ChatLedger, Settled
from screencodec.transport.session.services import RecordingLike

__all__ = ["LinkRecording", "end_away", "kept_recording", "log_away"]


class LinkRecording:
    """The recording of a link that ended at ``ended`` (its
    ``time.monotonic()``) for ``reason``, until its session's chat is
    settled: the ledger's ``on_over``."""

    def __init__(self, recording: RecordingLike, reason: str, ended: float) -> None:
        self.recording = recording
        #: The END's reason: the link's, unless the host's side ended the
        #: session while the agent was away (:func:`end_away`).
        self.reason = reason
        #: The END's time if no row comes with the session's end: the
        #: link's end, or the last row logged while the agent was away.
        self.last = ended

    def log(self, event: dict[str, Any]) -> None:
        """``event`` happened now, the agent away: logged, and the file ends no earlier."""
        self.last = time.monotonic()
        self.recording.put("away", event, self.last)

    def __call__(self, settled: Settled | None) -> None:
        """The session's chat is settled: ``settled`` (the session is over)
        logs the host's lines that never went (``outcome`` "not delivered")
        and those that went unconfirmed (``chat_outcome`` rows), and the file
        ends now if there are any; None (a new link took the session up, its
        file goes on from here) ends it at :attr:`last`."""
        if settled is None:  # taken up: logged, with how long after (for audit)
            # At the file's end, not now: the next file goes on from its end
            # on the session's timeline (recording/chain.py), the time away
            # not on it; ``after`` says it.
            self.recording.put("resumed", time.monotonic() - self.last, self.last)
        rows = settled is not None and bool(settled.never or settled.went)
        if settled is not None and settled.never:
            self.recording.put("chat_unsent", settled.never)
        if settled is not None and settled.went:
            self.recording.put("chat_went", (settled.went, settled.went_state))
        self.recording.end(self.reason, at=None if rows else self.last)


def log_away(chats: object, event: dict[str, Any]) -> None:
    """The host's side did ``event`` to the session of ``chats`` (a parked
    session's ledger) while its agent is away: logged in the lost link's file."""
    kept = getattr(chats, "on_over", None)
    if isinstance(kept, LinkRecording):
        kept.log(event)


def kept_recording(chats: object) -> RecordingLike | None:
    """The lost link's recording kept open for the session of ``chats``
    (a parked session's ledger), or None (not recorded, or ended)."""
    kept = getattr(chats, "on_over", None)
    return kept.recording if isinstance(kept, LinkRecording) else None


def end_away(chats: object, event: dict[str, Any], reason: str) -> None:
    """The host's side ended the session of ``chats`` while its agent is
    away, doing ``event``: logged, and the lost link's file ends with
    ``reason``; the kept lines are told not delivered (or not confirmed)."""
    if not isinstance(chats, ChatLedger):
        return
    kept = chats.on_over
    if isinstance(kept, LinkRecording):
        kept.log(event)
        kept.reason = reason
    chats.give_up()
