"""What the two ends of a file transfer say to each other beside the file
messages (:class:`~..messages.FileOffer` ...): the reserved extension channel
:data:`FILE_RESULTS_CHANNEL` and its payloads (docs/transport.md, "File
results"), the reason codes of a refusal and a withdrawal and their words,
and the words both ends use for a file's outcome. Plain values and message
builders: no state, nothing that waits."""

from __future__ import annotations

from screencodec.transport.channel.display import limit_amount
from screencodec.transport.session.messages import Extension

__all__ = [
    "ANNOUNCE",
    "BEFORE_AN_ANSWER",
    "BUSY",
    "CUT_SHORT",
    "EXPIRED",
    "FILE_RESULTS_CHANNEL",
    "MAX_OFFERS",
    "MAX_PENDING_OFFERS",
    "NOT_READ",
    "NOT_SAVED",
    "NO_FILES",
    "OFFER_TIMEOUT",
    "OVER_TOTAL",
    "PACED",
    "PROGRESS",
    "REASONS",
    "REASON_SHOWN",
    "REFUSED",
    "REFUSED_UNASKED",
    "RESULT_WHY",
    "SAVED_AS",
    "STOPPED",
    "STOPPED_HERE",
    "STOPPED_THERE",
    "STOPPED_THERE_WHY",
    "TOO_LARGE",
    "UNREAD",
    "USER_SAID_NO",
    "WITHDRAW",
    "WITHDRAWN",
    "WITHDRAWN_OTHER",
    "WITHDRAWN_STOPPED",
    "WITHDRAWN_UNREAD",
    "WITHDRAW_WHY",
    "file_progress",
    "file_refusal",
    "file_result_reason",
    "file_results_announcement",
    "file_saved_as",
    "file_withdrawal",
    "refusal_words",
]

#: The reserved extension channel on which a peer says it sends and takes
#: FileResult (payload b"\x01"). Applications cannot register it.
FILE_RESULTS_CHANNEL = "screencodec.file-results"
#: Characters of a peer's FileResult reason shown to the sender's user.
REASON_SHOWN = 200
#: The first byte of a message on :data:`FILE_RESULTS_CHANNEL`: the
#: announcement (then flags, u8, from the version with paced files), an
#: offer given up (then the transfer, u32 big-endian), an offer withdrawn
#: for a reason (then the transfer and the reason, u8), how far the
#: receiver got (then the transfer and the bytes it has, u64), and why an
#: offer is refused without asking the receiver's user (then the transfer,
#: a reason code, u8, and the number it qualifies, u64: :func:`file_refusal`),
#: and why the FileResult that follows says "not saved" (then the transfer
#: and a reason code, u8: :func:`file_result_reason`, rstop36), and the
#: name the file was saved under, right before its FileResult "saved" (then
#: the transfer and the name, UTF-8, the rest of the payload:
#: :func:`file_saved_as`, words45).
ANNOUNCE, WITHDRAW, WITHDRAW_WHY, PROGRESS, REFUSED, RESULT_WHY, SAVED_AS = 1, 2, 3, 4, 5, 6, 7
#: Bytes of a saved-as name sent (a file name is 255 at most on most systems).
MAX_SAVED_AS = 1024
#: Announcement flag: this side confirms the chunks of files it takes
#: (payload 0x04), and paces the files it sends on such confirmations.
PACED = 0x01
#: Why a file was not saved when its sender gave its offer up (the
#: :class:`~.events.FileRefused` the receiver's user is told).
WITHDRAWN = "the sender stopped waiting for an answer and withdrew it"
#: The reason codes of a withdrawal (payload 0x03): the sender could not read
#: the file after the yes (it was removed, unreadable, or shorter than
#: offered); its sending was stopped there (the task sending it cancelled,
#: the session going on: files36).
UNREAD, STOPPED = 1, 2
#: What the receiver's user is told of a file withdrawn with :data:`UNREAD`.
WITHDRAWN_UNREAD = "the sender could not read the file after the yes and withdrew it"
#: ... with :data:`STOPPED` (its :class:`~.events.FileRefused` says how much
#: of it had come: ``received``).
WITHDRAWN_STOPPED = "the sender stopped sending it and withdrew it"
#: ... with a reason code of a later version, or of a question still open.
WITHDRAWN_OTHER = "the sender withdrew it"
REASONS = {UNREAD: WITHDRAWN_UNREAD, STOPPED: WITHDRAWN_STOPPED}
#: Reason codes of an offer refused without asking the receiver's user
#: (payload 0x05), each with the number it qualifies: the receiver takes no
#: files (0); questions already wait for its user's answer (how many); the
#: file is larger than it takes (its limit, bytes); it would go over what it
#: takes in one session (its limit, bytes).
NO_FILES, BUSY, TOO_LARGE, OVER_TOTAL = 1, 2, 3, 4
#: The reason code of a FileResult "not saved" (payload 0x06): the
#: receiver's user stopped receiving the file mid-way (rstop36); it removed
#: what it had of it.
STOPPED_THERE = 1
#: The FileResult's own reason with :data:`STOPPED_THERE`: what a sender of
#: the version before the code reads ("could not save big.bin: ..."); and
#: the why of the :class:`~.events.FileSent` "failed" (and of the
#: :class:`~.events.FileCut` :data:`~.events.CUT_STOPPED_THERE`) of a sender
#: that read the code, made here, never from the peer's text.
STOPPED_THERE_WHY = "its user stopped receiving it; nothing of it was kept"
#: What the receiver's own user is told of a file they stopped receiving
#: (its :class:`~.events.FileRefused`, ``received``: how much had come).
STOPPED_HERE = "you stopped receiving it"
#: How the why of an offer the receiver refused without asking its user
#: begins (a FileSent "declined", from a receiver that says why), before
#: the words of its reason code (:func:`refusal_words`), never the peer's own.
REFUSED_UNASKED = "refused unasked: "
#: Why a file was refused by a peer that gives reasons, when it gave none
#: (:attr:`.Viewer.host_gives_reasons`): its user was asked.
USER_SAID_NO = "its user said no or did not answer in time"
#: What the receiver's user is told of an offer not put to them because its
#: sender stopped waiting before it could be asked (:class:`OfferDeadline`).
EXPIRED = "the sender stopped waiting for an answer before it could be asked"
#: How long a sender waits for the answer to its offer (every version so
#: far: 60 s); a receiver reckons with it (:class:`OfferDeadline`).
OFFER_TIMEOUT = 60.0
#: Offers of one session waiting for the local user's answer at once; more are
#: refused without asking (a viewer cannot queue up questions or memory).
MAX_PENDING_OFFERS = 3
#: Offers in one session at all: past this the viewer is misbehaving.
MAX_OFFERS = 4096
#: How the why of a file said yes to and then not saved begins (the
#: :class:`~.events.FileRefused` the local user is told), before the reason:
#: "could not be saved: No space left on device". Interfaces word it once:
#: they show such a why as it is, without a "not saved" of their own.
NOT_SAVED = "could not be saved: "
#: How the why of a file said yes to that its SENDER could not read (it went,
#: or a disk failed, before it was sent whole) begins, before the reason: a
#: FileSent "failed" whose fault is this side's, not the receiver's (a
#: receiver's FileResult reason that begins so is prefixed "in its words: ").
NOT_READ = "could not be read here: "
#: Why a file said yes to is not saved when its session ends mid-way, then
#: "(N of M bytes)": how much of it came.
CUT_SHORT = f"{NOT_SAVED}the connection ended before all of it came"
#: How the why of an offer that the session's end overtook ends (after the
#: end's own words: "the session ended before an answer"), outcome "declined".
BEFORE_AN_ANSWER = "before an answer"


def file_results_announcement() -> Extension:
    """What a side sends once, before its first file message
    (:meth:`FileSender.announce`): "this side says what became of the files
    it accepts, and takes it said about the ones it sends". An older peer
    drops it (an unknown extension channel)."""
    return Extension(FILE_RESULTS_CHANNEL, bytes([ANNOUNCE, PACED]))


def file_progress(transfer: int, received: int) -> Extension:
    """What the receiver of a file sends after each chunk to a sender that
    paces (:mod:`.pacing`): the bytes of ``transfer`` it has."""
    payload = bytes([PROGRESS]) + transfer.to_bytes(4, "big") + received.to_bytes(8, "big")
    return Extension(FILE_RESULTS_CHANNEL, payload)


def file_withdrawal(transfer: int, reason: int = 0) -> list[Extension]:
    """What a sender sends when its offer's timeout came before the answer
    (``reason`` 0), or when it could not read the file after the yes
    (:data:`UNREAD`): the receiver closes the question or removes what it
    took of the file (:meth:`FileReceiver.withdraw`). A reason goes first
    (payload 0x03, transfer, code), then the plain withdrawal (0x02,
    transfer), which a receiver that took the first finds done, and one of
    the version before reasons acts on. A peer of the version before file
    results drops both (an unknown extension channel); the one after takes
    any message on the channel for an announcement, which it already had."""
    plain = Extension(FILE_RESULTS_CHANNEL, bytes([WITHDRAW]) + transfer.to_bytes(4, "big"))
    if not reason:
        return [plain]
    why = bytes([WITHDRAW_WHY]) + transfer.to_bytes(4, "big") + bytes([reason])
    return [Extension(FILE_RESULTS_CHANNEL, why), plain]


def file_refusal(transfer: int, code: int, number: int = 0) -> Extension:
    """What a receiver sends right before the FileAccept that refuses
    ``transfer`` without asking its user, to a sender that announced file
    results: why, as a reason code (:data:`BUSY`...) and the number it
    qualifies. A sender of the version before drops it (another first
    byte on the channel is a later version's) and says "declined" as before."""
    payload = (bytes([REFUSED]) + transfer.to_bytes(4, "big") + bytes([code])
               + min(number, (1 << 64) - 1).to_bytes(8, "big"))  # fmt: skip
    return Extension(FILE_RESULTS_CHANNEL, payload)


def file_result_reason(transfer: int, code: int) -> Extension:
    """What a receiver sends right before a FileResult "not saved" for
    ``transfer`` whose why is a reason code (:data:`STOPPED_THERE`), to a
    sender that announced file results. A sender of the version before
    drops it (another first byte on the channel is a later version's) and
    reads the FileResult's own reason, as ever."""
    payload = bytes([RESULT_WHY]) + transfer.to_bytes(4, "big") + bytes([code])
    return Extension(FILE_RESULTS_CHANNEL, payload)


def file_saved_as(transfer: int, name: str) -> Extension:
    """What a receiver sends right before the FileResult "saved" of
    ``transfer``, to a sender that announced file results: the name it
    saved the file under, which is not the offered one when it was made
    safe or taken (walk45: the agent read "<b>notes.txt ... the host saved
    it" of a file saved as "bnotes.txt"). A sender of the version before
    drops it (another first byte is a later version's); a receiver of the
    version before sends none, and its sender says the offered name."""
    raw = name.encode("utf-8", "replace")[:MAX_SAVED_AS]
    payload = bytes([SAVED_AS]) + transfer.to_bytes(4, "big") + raw
    return Extension(FILE_RESULTS_CHANNEL, payload)


def refusal_words(code: int, number: int) -> str:
    """The words of a refusal's reason code (:func:`file_refusal`), after
    :data:`REFUSED_UNASKED`: made here from the code and its number, never
    from the peer's text; a code of a later version reads as a refusal."""
    if code == NO_FILES:
        return "it takes no files"
    if code == BUSY:
        many = f"{number} questions" if 0 < number <= MAX_OFFERS else "questions"
        return f"its user has {many} open already: send it again once they are answered"
    if code == TOO_LARGE:
        return f"it takes none larger than {limit_amount(number)}"
    if code == OVER_TOTAL:
        return f"it takes at most {limit_amount(number)} in one session"
    return "refused without asking its user"
