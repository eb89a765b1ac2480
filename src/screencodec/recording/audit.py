"""The audit log: session messages and host observations -> audit events.

:class:`AuditTracker` sees every session message in both directions (and the
consent answers and local input the host reports) and returns the events to
log, each a JSON-able dict with a ``type``:

* ``hello`` (the viewer's name and asked level), ``consent`` (question and
  answer), ``grant``, ``deny`` (with ``unasked`` true and ``why``, the
  host's Notice right before it through ``safe_text``, when the host's user
  was not asked: audit38; ``why`` alone, the host's words, when its user
  said yes and took VIEW back before the grant: tail39b), ``revoke`` (``by``: ``agent`` when the
  viewer gave the level back, ``host`` when the host took it);
* ``input``: who had pointer or keyboard and when, as intervals
  ``{"who": "agent"|"local", "device", "start", "end"}``: activity with gaps
  under :data:`INPUT_GAP` seconds is one interval; the local user's up to
  the file's end, also after its link's channel closed
  (:meth:`AuditTracker.link_over`);
* ``chat`` (``from`` host or viewer, ``text``; ``before_grant`` true for
  a line the host's user wrote to an agent whose first request they were
  asked about, before any grant: not counted by chat delivery);
  ``chat_delivered``
  (``from``: whose lines, ``count``: how many of that side's lines of the
  session the other side's program has, its acknowledgement on the chat
  channel, transport/session/chat.py); a line is logged once, in the
  recording of the link it first went on: the host's lines sent again on
  a resumed link (their ack lost, or they were lost on the way) are not
  logged again there (the session says how many went before:
  :meth:`AuditTracker.chat_written`); the host's lines held while the link
  was down go first on the resumed link and are logged there with ``typed``
  (when its user typed them) and ``resent`` true
  (:meth:`AuditTracker.chat_held`); those that never went are logged when
  the session is over, in the file of the link they were kept for, with
  ``typed`` and ``outcome`` "not delivered"
  (:meth:`AuditTracker.chat_unsent`), and those that went but were not
  confirmed get a ``chat_outcome`` row then (:meth:`AuditTracker.chat_went`);
  a viewer's are not sent again (the
  host's hello says which it has), and each that comes is logged, with
  ``duplicate`` true if the host's program dropped it as one it had (a
  hostile viewer numbering its lines again), never shown to its user
  (:meth:`AuditTracker.chat_numbering`);
  a viewer's count past the host's lines written, or not past its last, is
  not recorded (the host's program ignores it, or learns nothing from it);
* ``file``: name, size, sha256, ``direction`` (``to-host`` / ``to-viewer``)
  and ``answer`` (``accepted`` / ``refused``), once per transfer; one the
  session's end cut short (``answer`` ``pending`` when never answered) is
  logged then, with ``transferred`` and ``cut_short``; ``outcome`` when the
  transfer ended before its FileEnd (the FileResult or the withdrawal
  came first: ``transferred`` says how much had gone): see ``file_outcome``
  for its words; a withdrawal before the answer is logged ``answer``
  ``pending`` (never the receiver's ``refused``); an offer refused without
  asking the receiver's user is logged ``answer`` ``refused`` with
  ``unasked`` true and ``why``, the words of its reason code (payload 0x05,
  or :meth:`AuditTracker.file_unasked`), made here (audit38);
* ``file_outcome`` (audit37): how a transfer whose ``file`` row was logged
  at its FileEnd ended, when the receiver said it later (its FileResult on
  the ``screencodec.file-results`` channel's terms, docs/transport.md "File
  results"): ``name``, ``direction``, ``outcome``: ``saved``, ``not
  saved`` (``why``: the receiver's words, through ``safe_text``, at most
  REASON_SHOWN characters), ``stopped by the receiver`` (its reason code
  STOPPED_THERE: nothing of it was kept), ``stopped by the sender`` or
  ``withdrawn by the sender`` (``why``: the words made here from the
  withdrawal's reason code, never the peer's text); a receiver of a version
  before file results says nothing: no row;
* ``key``: keystroke text, only with ``include_keys`` (it can hold passwords);
* ``clipboard`` (clip39): a text for the other side's clipboard, once per
  transfer: ``direction`` (``to-host``: the agent's, ``to-viewer``: the
  host's user's), ``who`` (the agent), ``number``, ``characters``,
  ``bytes`` of its UTF-8, never the text nor a digest of it (it may be a
  password, and a digest of a short one gives it back to a guesser;
  with ``include_clipboard``, off by default, ``text`` too);
  ``invalid`` true for one not UTF-8 or too long. The host's
  answer to an agent's is a ``clipboard_outcome`` row (``number``,
  ``outcome`` "set" or "refused", ``why`` in the package's words);
* ``bye``: ``from`` ``host`` or ``viewer``, ``reason``: the Bye message
  either side sent, or, when a side closed the connection without one (the
  host's user pressed Ctrl-C), the recorder's note of that close
  (:meth:`AuditTracker.closed_without_bye`);
* a ``revoke`` or ``bye`` of the host's side while the agent was away (its
  link lost, the file kept open for it), marked ``away`` true
  (:meth:`AuditTracker.away`);
* ``not_granted`` (consent41): right after the ``consent`` row of an answer
  that came back once its agent was gone (left, its link lost): ``answer``
  (what the user said yes to), ``why`` (what had become of the agent, the
  host's words); nothing of it was granted (:meth:`AuditTracker.answer_gone`);
* ``link_lost`` (``reason``, ``resumable``: the seconds the session was
  kept for the agent) when the agent's link went without a Bye, at that
  moment, and ``resumed`` (``after``: the seconds away) when the agent came
  back and a new link (a file of its own, naming this one) took the session
  up, at this file's end (the next goes on from there on the timeline).

Times are seconds on the recording's timeline. Not thread-safe: one
recorder worker thread owns a tracker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from screencodec.transport.channel.display import safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.chat import chat_ack, chat_hello_next
from screencodec.transport.session.clipboard import clipboard_row
from screencodec.transport.session.files import wire
from screencodec.transport.session.permissions import Permission

__all__ = ["INPUT_GAP", "AuditTracker"]

#: Input events closer than this (seconds) belong to one control interval.
INPUT_GAP = 1.0
#: Transfers whose FileEnd was logged and whose result may still come, and
#: reason codes waiting for their FileResult or withdrawal, kept at most
#: (the oldest forgotten: a hostile peer cannot grow the tracker).
_KEPT = wire.MAX_OFFERS

Event = dict[str, Any]
#: The Notice codes of a level refused without asking the host's user
#: (session/refusal.py UNASKED, not imported: the recorder stays light).
_UNASKED = (m.Notice.CONTROL_UNAVAILABLE, m.Notice.NOT_ASKED)


@dataclass
class _Transfer:
    name: str
    size: int
    direction: str
    answer: str = "pending"
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)


class AuditTracker:
    def __init__(self, *, include_keys: bool = False, include_clipboard: bool = False) -> None:
        self.include_keys = include_keys
        self.include_clipboard = include_clipboard
        self.who = ""
        self.bye_logged = False  #: a ``bye`` event was returned
        self._open: dict[tuple[str, str], list[float]] = {}  # (who, device) -> [start, last]
        self._in: dict[int, _Transfer] = {}  # viewer -> host, by transfer id
        self._out: dict[int, _Transfer] = {}  # host -> viewer
        #: levels the viewer gave back (its PermissionRevoke) that the host's
        #: answering revoke has not confirmed yet
        self._given_back = Permission(0)
        #: The host's chat lines of the session written so far (its hello's
        #: number less one, then one per line it sends on this link), and the
        #: viewer's latest count of them recorded: a viewer's count past the
        #: one is not what its program has (the host's ledger ignores it, as
        #: one going back); one not past the other says nothing new (a flood
        #: of the same ack would grow the log).
        self._host_lines = 0
        self._host_confirmed = 0
        #: The host's chat lines of the session that went on the links before
        #: this resumed one (logged in their recordings): not logged again.
        self._host_logged = 0
        #: The number the host's program gives the viewer's next chat line,
        #: and the highest it has (ChatLedger.numbering, told by the host's
        #: session): a line numbered as one it had is dropped there, never
        #: shown, and logged with ``duplicate``. Without word, each is new.
        self._viewer_next, self._viewer_had = 1, 0
        #: The host's lines that go first on this resumed link, held while the
        #: link was down: number -> when its user typed it (this timeline).
        self._held: dict[int, float] = {}
        #: The link ended (:meth:`link_over`); the file may stay open while
        #: its agent may come back. The local user's input from then on is
        #: held (``_after``: the intervals closed since) until the file's
        #: end is known: logged if it came before it (:meth:`finish`).
        self._link_over = False
        self._after: list[tuple[tuple[str, str], list[float]]] = []
        #: (direction, transfer) -> name: its ``file`` row went at its
        #: FileEnd; a FileResult later says how it ended (``file_outcome``).
        self._ended: dict[tuple[str, int], str] = {}
        #: (direction, transfer) -> the RESULT_WHY code its receiver sent
        #: before its FileResult "not saved".
        self._result_why: dict[tuple[str, int], int] = {}
        #: (direction, transfer) -> the reason code and its number its
        #: receiver sent before the FileAccept that refuses it unasked
        #: (payload 0x05, or told by the host's session: :meth:`file_unasked`).
        self._refused_why: dict[tuple[str, int], tuple[int, int]] = {}
        #: The host's Notice of a refusal its user was not asked about, right
        #: before its PermissionDeny (session/link.py ``_refuse``): that
        #: deny's ``why``, when the host's session did not say it itself
        #: (:meth:`answer_why`, which it does since words39). Any other
        #: message of the host's in between drops it; so does a grant right
        #: before it (the first grant's "CONTROL cannot be granted", which
        #: explains that grant, not a later deny).
        self._notice: str | None = None
        #: Why the host's session sends its next grant or deny, by kind:
        #: ``(level bits, words)`` (:meth:`answer_why`); it goes with that
        #: row whatever the host sends between (words39).
        self._why: dict[str, tuple[int, str]] = {}
        self._after_grant = False
        self._granted = False  # the host sent a grant on this link

    @property
    def open_intervals(self) -> bool:
        return bool(self._open)

    # -- inputs ------------------------------------------------------------

    def from_viewer(self, t: float, msg: m.Message) -> list[Event]:
        out = self._expire(t)
        if isinstance(msg, m.PermissionRequest):
            level = str(Permission(msg.level))
            if not self.who:
                self.who = msg.who
                out.append({"type": "hello", "who": msg.who, "level": level})
            else:
                out.append({"type": "request", "level": level})
        elif isinstance(msg, m.PointerMove | m.Button | m.Wheel):
            out += self._activity(t, "agent", "pointer")
        elif isinstance(msg, m.Key):
            out += self._activity(t, "agent", "keyboard")
            if self.include_keys and msg.down:
                out.append({"type": "key", "keysym": msg.keysym, "text": msg.text})
        elif isinstance(msg, m.PermissionRevoke):
            # "Give back control": the host answers with its own revoke,
            # which is logged then, as the agent's.
            self._given_back = Permission(msg.revoked)
        elif isinstance(msg, m.Chat):
            event: Event = {"type": "chat", "from": "viewer", "who": self.who, "text": msg.text}
            number, self._viewer_next = self._viewer_next, self._viewer_next + 1
            if number <= self._viewer_had:  # the host dropped it: not shown to its user
                event["duplicate"] = True
            self._viewer_had = max(self._viewer_had, number)
            out.append(event)
        elif (count := chat_ack(msg)) is not None:
            if self._host_confirmed < count <= self._host_lines:
                self._host_confirmed = count
                out.append({"type": "chat_delivered", "from": "host", "count": count})
        elif isinstance(msg, m.Bye):
            out.append(self._bye("viewer", msg.reason))
        elif (row := clipboard_row(msg, "to-host", self.who, self.include_clipboard)) is not None:
            out.append(row)
        else:
            out += self._file(msg, self._in, self._out, "to-host")
        return out

    def from_host(self, t: float, msg: m.Message) -> list[Event]:
        out = self._expire(t)
        notice, self._notice = self._notice, None
        after_grant, self._after_grant = self._after_grant, isinstance(msg, m.PermissionGrant)
        if isinstance(msg, m.PermissionGrant):
            self._given_back = Permission(0)  # what was given back is history
            self._granted = True
            grant: Event = {"type": "grant", "level": str(Permission(msg.level))}
            if (why := self._answer_why("grant", msg.level)) is not None:
                grant["no_control"] = why  # the first grant without CONTROL: why
            out.append(grant)
        elif isinstance(msg, m.Notice):
            if msg.code in _UNASKED and not after_grant:  # the deny that follows: why
                self._notice = safe_text(msg.text, wire.REASON_SHOWN)
        elif isinstance(msg, m.PermissionDeny):
            deny: Event = {"type": "deny", "level": str(Permission(msg.level))}
            why = self._answer_why("deny", msg.level)
            taken = self._answer_why("taken", msg.level)
            if why is not None or notice is not None:  # refused without asking the host's user
                deny.update(unasked=True, why=why if why is not None else notice)
            elif taken is not None:  # the user's yes, then VIEW taken back before the grant
                deny["why"] = taken
            out.append(deny)
        elif isinstance(msg, m.PermissionRevoke):
            revoked = Permission(msg.revoked)
            by = "agent" if revoked and revoked in self._given_back else "host"
            self._given_back = Permission(0)
            out.append({
                "type": "revoke", "level": str(revoked),
                "remaining": str(Permission(msg.level)), "by": by,
            })  # fmt: skip
        elif isinstance(msg, m.Chat) and not self._granted:
            # The host's user wrote to the agent whose request they were
            # asked about (say38): outside chat delivery's count.
            out.append({"type": "chat", "from": "host", "text": msg.text, "before_grant": True})
        elif isinstance(msg, m.Chat):
            self._host_lines += 1
            if self._host_lines > self._host_logged:  # else sent again after a resume
                event: Event = {"type": "chat", "from": "host", "text": msg.text}
                typed = self._held.pop(self._host_lines, None)
                if typed is not None:  # typed before, held while the link was down
                    event.update(typed=round(typed, 6), resent=True)
                out.append(event)
        elif (number := chat_hello_next(msg)) is not None:
            self._host_lines = max(self._host_lines, number - 1)
        elif (count := chat_ack(msg)) is not None:
            out.append({"type": "chat_delivered", "from": "viewer", "count": count})
        elif isinstance(msg, m.Bye):
            out.append(self._bye("host", msg.reason))
        elif (row := clipboard_row(msg, "to-viewer", self.who, self.include_clipboard)) is not None:
            out.append(row)
        else:
            out += self._file(msg, self._out, self._in, "to-viewer")
        return out

    def answer_why(self, kind: str, level: int, why: str) -> list[Event]:
        """The host's session says why it sends its next ``kind`` ("grant":
        the first, without CONTROL; "deny": a level refused without asking
        its user; "taken": the deny after its user's yes, VIEW taken back
        before the grant) of ``level``: that row says it (``no_control``, ``why``),
        whatever the host sends between. Its own words, never the peer's
        (cleaned all the same, bounded)."""
        self._why[kind] = (level, safe_text(why, wire.REASON_SHOWN))
        return []

    def _answer_why(self, kind: str, level: int) -> str | None:
        """The words :meth:`answer_why` gave for this ``kind`` of answer, if
        it is of that level (else dropped: it was not the answer meant)."""
        said = self._why.pop(kind, None)
        return said[1] if said is not None and said[0] == level else None

    def local_input(self, t: float, device: str = "input") -> list[Event]:
        """The local user's ``device`` ("pointer", "keyboard", or "input"
        when the host could not tell) was used at ``t`` (after
        :meth:`link_over`: held until :meth:`finish`)."""
        return self._expire(t) + self._activity(t, "local", device)

    def chat_written(self, count: int) -> list[Event]:
        """This recording is of a resumed link: the host's first ``count``
        chat lines of the session went on the links before it (and are in
        their recordings); those of them sent again here are not logged.
        Told by the host's session (ChatLedger.written), before this link's
        chat hello."""
        self._host_logged = max(self._host_logged, count)
        return []

    def chat_held(self, lines: list[tuple[int, str, float]]) -> list[Event]:
        """This recording is of a resumed link, and the host's lines
        ``(number, text, typed)`` were held while the link was down (typed
        while the agent was away, or cut off with the link before they
        went): they go first here, each logged as it goes with ``typed``
        (when the host's user typed it, on this timeline: before it began,
        negative) and ``resent`` true. Told by the host's session
        (ChatLedger.held), before this link's chat hello."""
        self._held = {number: typed for number, _, typed in lines}
        return []

    def chat_unsent(self, lines: list[tuple[int, str, float]]) -> list[Event]:
        """The session is over, and the host's lines ``(number, text,
        typed)`` never went (kept for an agent who did not come back, or
        whose sending failed): logged, with ``typed`` and ``outcome`` "not
        delivered" (what the host's user typed is in the log, whether or
        not it reached anybody). Told by the host's session (ChatLedger.on_over)."""
        return [{"type": "chat", "from": "host", "text": text, "typed": round(typed, 6),
                 "outcome": "not delivered"} for _, text, typed in lines]  # fmt: skip

    def chat_went(self, lines: list[tuple[int, str, float]], state: str) -> list[Event]:
        """The session is over, and the host's lines ``(number, text,
        typed)`` went on a link (each logged then as a ``chat`` row) that
        ended before the viewer's acknowledgement of them came: its user was
        told ``state`` ("not confirmed": the viewer's program may have them;
        "sent" to a viewer that never said whether it acknowledges). One
        ``chat_outcome`` row each, with the line's ``number`` in the session
        (a ``chat_delivered`` count that reaches it would have said it
        arrived). Before auditleft only the missing ``chat_delivered`` said
        it. Told by the host's session (ChatLedger.on_over)."""
        return [{"type": "chat_outcome", "from": "host", "number": number, "text": text,
                 "typed": round(typed, 6), "outcome": state}
                for number, text, typed in lines]  # fmt: skip

    def away(self, event: Event) -> list[Event]:
        """What the host's side did while the agent was away (its link lost,
        this file kept open for it): ``event`` (a ``revoke``, or the ``bye``
        the session's end would have sent), marked ``away`` true: the agent
        was not told, it had no link. Told by the host (session/away.py)."""
        if event.get("type") == "bye":
            self.bye_logged = True
        return [{**event, "away": True}]

    def answer_gone(self, level: int, why: str) -> list[Event]:
        """The host's user said yes to ``level`` after the agent was gone
        (``why``, the host's words): the answer granted nothing. Its
        ``consent`` row, logged as the answer came, alone read as a grant."""
        said = (f"{safe_text(why, wire.REASON_SHOWN)}: the answer came too late" if why
                else "the host's program failed to take the answer")
        return [{"type": "not_granted", "answer": str(Permission(level)), "why": said}]

    def link_lost(self, reason: str, resumable: float) -> list[Event]:
        """The agent's link was lost (no Bye: its network, a relay) and the
        session kept ``resumable`` seconds for it to come back: logged at
        that moment (walk36: only the final bye, marked ``away``, said so)."""
        return [{"type": "link_lost", "reason": reason, "resumable": round(resumable, 3)}]

    def resumed(self, after: float) -> list[Event]:
        """The agent came back ``after`` seconds and a new link took the
        session up: its file (whose consent event names this one as
        ``earlier``) goes on from this one's end, the time away not on the
        session's timeline: ``after`` says it."""
        return [{"type": "resumed", "after": round(after, 3)}]

    def link_over(self) -> list[Event]:
        """The link ended; the file may stay open (its agent may come back).
        The local user's input from now on is held until :meth:`finish`,
        which logs what came before the file's end."""
        self._link_over = True
        return []

    def file_unasked(self, transfer: int, code: int, number: int) -> list[Event]:
        """The host's session refuses the agent's offer ``transfer`` without
        asking its user, for reason ``code`` and its ``number`` (files/wire.py
        :func:`~.wire.file_refusal`): told right before its FileAccept goes,
        also to a viewer that takes no such code (a version before file
        results), so that the ``file`` row says why."""
        _keep(self._refused_why, ("to-host", transfer), (code, number))
        return []

    def chat_numbering(self, next_: int, had: int) -> list[Event]:
        """The host's program numbers the viewer's next chat line ``next_``
        and has its lines up to ``had`` (ChatLedger.numbering): told at the
        start of a link and after each message on the chat channel, before
        the next message from the viewer. A viewer's line numbered ``had``
        or less is dropped there, never shown to the host's user: it is
        logged (nothing the viewer sends is hidden) with ``"duplicate":
        true``, so a hostile viewer that numbers its lines again cannot
        have them read as lines the user saw."""
        self._viewer_next, self._viewer_had = next_, had
        return []

    def tick(self, t: float) -> list[Event]:
        """Close intervals that ended more than :data:`INPUT_GAP` before ``t``."""
        return self._expire(t) if self._open else []

    def closed_without_bye(self, side: str, reason: str) -> list[Event]:
        """``side`` (``host`` or ``viewer``) closed the connection: the ``bye``
        it did not send, unless either side's Bye was already logged."""
        return [] if self.bye_logged else [self._bye(side, reason)]

    def finish(self, t: float | None = None) -> list[Event]:
        """Close every open interval, and log every transfer still open (an
        offer not answered, a file not all sent): the file ends at ``t``.
        After :meth:`link_over`, the local input held is logged if it began
        by ``t``, its interval ending there at the latest: a file kept open
        for an agent away ends at its link's end if the agent comes back,
        later if something was logged while it was away."""
        spans = sorted([*self._after, *self._open.items()], key=lambda x: x[1][0])
        self._after, self._open = [], {}
        out = []
        for key, (start, last) in spans:
            if self._link_over and t is not None:
                if start > t:
                    continue  # after the file's end: a later link's, or nobody's
                out.append(self._interval(key, [start, min(last, t)]))
            else:
                out.append(self._interval(key, [start, last]))
        for open_ in (self._in, self._out):
            for tr in open_.values():
                out.append({**self._file_event(tr, None), "transferred": tr.received,
                            "cut_short": True})  # fmt: skip
            open_.clear()
        return out

    # -- helpers -----------------------------------------------------------

    def _bye(self, side: str, reason: str) -> Event:
        self.bye_logged = True
        return {"type": "bye", "from": side, "reason": reason}

    def _activity(self, t: float, who: str, device: str) -> list[Event]:
        span = self._open.get((who, device))
        if span is None:
            self._open[(who, device)] = [t, t]
        else:
            span[1] = t
        return []

    def _expire(self, t: float) -> list[Event]:
        done = [k for k, (_, last) in self._open.items() if t - last > INPUT_GAP]
        if self._link_over:  # held until the file's end is known (finish)
            self._after += [(k, self._open.pop(k)) for k in done]
            return []
        return [self._interval(k, self._open.pop(k)) for k in done]

    @staticmethod
    def _interval(key: tuple[str, str], span: list[float]) -> Event:
        return {"type": "input", "who": key[0], "device": key[1],
                "start": round(span[0], 6), "end": round(span[1], 6)}  # fmt: skip

    def _file(
        self, msg: m.Message, sending: dict[int, _Transfer], answering: dict[int, _Transfer],
        direction: str,
    ) -> list[Event]:  # fmt: skip
        """A file message from one side: ``sending`` holds the transfers that
        side sends, ``answering`` those it answers."""
        other = "to-viewer" if direction == "to-host" else "to-host"
        if isinstance(msg, m.Extension):
            if msg.channel == wire.FILE_RESULTS_CHANNEL:
                return self._results_channel(msg.payload, sending, direction, other)
        elif isinstance(msg, m.FileResult):
            return self._result(msg, answering, other)
        elif isinstance(msg, m.FileOffer):
            sending[msg.transfer] = _Transfer(msg.name, msg.size, direction)
        elif isinstance(msg, m.FileAccept):
            tr = answering.get(msg.transfer)
            refused = self._refused_why.pop((other, msg.transfer), None)
            if tr is not None:
                tr.answer = "accepted" if msg.accepted else "refused"
                if not msg.accepted:
                    del answering[msg.transfer]
                    ev = self._file_event(tr, None)
                    if refused is not None:  # its user was not asked: why, words made here
                        ev.update(unasked=True, why=safe_text(wire.refusal_words(*refused),
                                                              wire.REASON_SHOWN))  # fmt: skip
                    return [ev]
        elif isinstance(msg, m.FileChunk):
            tr = sending.get(msg.transfer)
            if tr is not None:
                tr.digest.update(msg.data)
                tr.received += len(msg.data)
        elif isinstance(msg, m.FileEnd):
            tr = sending.pop(msg.transfer, None)
            if tr is not None:
                _keep(self._ended, (direction, msg.transfer), tr.name)
                return [self._file_event(tr, msg.sha256)]
        return []

    def _results_channel(
        self, payload: bytes, sending: dict[int, _Transfer], direction: str, other: str,
    ) -> list[Event]:  # fmt: skip
        """A message on the file-results channel from the side that sends
        ``sending`` (``direction``) and answers the transfers ``other``."""
        if len(payload) < 5:
            return []
        kind, transfer = payload[0], int.from_bytes(payload[1:5], "big")
        if kind == wire.RESULT_WHY and len(payload) >= 6:
            _keep(self._result_why, (other, transfer), payload[5])
        elif kind == wire.REFUSED and len(payload) >= 14:  # why its FileAccept refuses it
            _keep(self._refused_why, (other, transfer),
                  (payload[5], int.from_bytes(payload[6:14], "big")))
        elif kind in (wire.WITHDRAW, wire.WITHDRAW_WHY):
            code = payload[5] if kind == wire.WITHDRAW_WHY and len(payload) >= 6 else 0
            tr = sending.pop(transfer, None)
            if tr is not None:  # the plain withdrawal after its reason: done
                return [self._withdrawn(tr, code)]
            name = self._ended.pop((direction, transfer), None)
            if name is not None:
                outcome, why = _withdrawal_words("accepted", code)
                return [{"type": "file_outcome", "name": name, "direction": direction,
                         "outcome": outcome, "why": why}]  # fmt: skip
        return []

    def _withdrawn(self, tr: _Transfer, code: int) -> Event:
        """The file row of a transfer its sender withdrew before its end."""
        ev = self._file_event(tr, None)
        outcome, why = _withdrawal_words(tr.answer, code)
        if tr.answer == "accepted":
            ev["transferred"] = tr.received
        return {**ev, "outcome": outcome, "why": why}

    def _result(self, msg: m.FileResult, answering: dict[int, _Transfer], other: str
                ) -> list[Event]:  # fmt: skip
        """The receiver's FileResult for a transfer of direction ``other``:
        the file row with its ``outcome`` if its FileEnd has not gone yet,
        else a ``file_outcome`` row."""
        code = self._result_why.pop((other, msg.transfer), None)
        if msg.saved:
            said: Event = {"outcome": "saved"}
        elif code == wire.STOPPED_THERE:
            said = {"outcome": "stopped by the receiver", "why": wire.STOPPED_THERE_WHY}
        else:
            said = {"outcome": "not saved",
                    "why": safe_text(msg.reason, wire.REASON_SHOWN)}  # fmt: skip
        tr = answering.get(msg.transfer)
        if tr is not None and tr.answer == "accepted":
            del answering[msg.transfer]
            return [{**self._file_event(tr, None), "transferred": tr.received, **said}]
        name = self._ended.pop((other, msg.transfer), None)
        if name is None:
            return []  # never offered, not said yes to, or told already
        return [{"type": "file_outcome", "name": name, "direction": other, **said}]

    @staticmethod
    def _file_event(tr: _Transfer, declared: bytes | None) -> Event:
        ev: Event = {"type": "file", "name": tr.name, "size": tr.size,
                     "direction": tr.direction, "answer": tr.answer}  # fmt: skip
        if declared is not None:
            seen = tr.digest.hexdigest()
            ev["sha256"] = seen
            ev["transferred"] = tr.received
            ev["sha256_matches"] = seen == declared.hex()
        return ev


def _withdrawal_words(answer: str, code: int) -> tuple[str, str]:
    """The outcome and why of a withdrawal with reason ``code`` (0: none) of
    a transfer answered ``answer``: the words made here, as the receiver's
    user is told them (files/receiver.py), never the peer's."""
    if answer == "pending":  # a reason that presumes a yes is not the truth
        return "withdrawn by the sender", wire.WITHDRAWN if not code else wire.WITHDRAWN_OTHER
    if code == wire.STOPPED:
        return "stopped by the sender", wire.WITHDRAWN_STOPPED
    return "withdrawn by the sender", wire.REASONS.get(code, wire.WITHDRAWN_OTHER)


def _keep(kept: dict[tuple[str, int], Any], key: tuple[str, int], value: Any) -> None:
    """``kept[key] = value``, forgetting the oldest past :data:`_KEPT`."""
    kept.pop(key, None)
    kept[key] = value
    if len(kept) > _KEPT:
        del kept[next(iter(kept))]
