"""Why a file was refused without asking the receiver's user (files2). A
FileAccept carries no reason, so the agent read "its user said no or did not
answer in time, or the host takes no files (or none this large)" whatever
the reason was. Now a receiver says why, right before its no, on the file
results channel: payload 0x05, the transfer, a reason code and the number
it qualifies (docs/transport.md, "Why an offer was refused unasked"), only
to a sender that announced file results (an older one gets the FileAccept
alone, as before; one that announced ignores a first byte it does not know).
The sender words the code itself: nothing of the peer's text is shown.

Real host on loopback and a hand-written viewer; the words from the codes."""

from __future__ import annotations

import pytest

from screencodec.errors import ProtocolError
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import allow
from screencodec.transport.session.sidechannels import (
    BUSY,
    FILE_RESULTS_CHANNEL,
    NO_FILES,
    OVER_TOTAL,
    TOO_LARGE,
    FileReceiver,
    FileSender,
    file_channel,
    file_refusal,
    file_results_announcement,
    refusal_words,
)

from .secure_fixtures import run
from .test_attack_caps import _granted, _session


async def _answer(ch: SecureChannel, transfer: int) -> list[m.Message]:
    """What the host sends on the file results channel up to its answer to
    ``transfer``, and that answer."""
    got: list[m.Message] = []
    while True:
        msg = m.decode(await ch.recv())
        if isinstance(msg, m.Extension) and msg.channel == FILE_RESULTS_CHANNEL:
            got.append(msg)
        elif isinstance(msg, m.FileAccept) and msg.transfer == transfer:
            return [*got, msg]


def test_files2_a_host_says_why_it_refuses_unasked_to_a_viewer_that_takes_file_results() -> None:
    """A host without a download folder: a viewer of the version before file
    results (no announcement) gets the no alone; one that announced them
    gets the reason code NO_FILES right before it."""

    async def main() -> None:
        async with _session(allow()) as (_host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            await ch.send(m.encode(m.FileOffer(1, "a.txt", 4)))
            assert await _answer(ch, 1) == [m.FileAccept(1, False)]
            await ch.send(m.encode(file_results_announcement()))
            await ch.send(m.encode(m.FileOffer(2, "b.txt", 4)))
            assert await _answer(ch, 2) == [file_refusal(2, NO_FILES), m.FileAccept(2, False)]

    run(main())


async def _nowhere(msg: m.Message) -> None:
    raise AssertionError(f"nothing is sent here: {msg}")


def test_files2_a_refusal_reason_is_a_code_worded_by_the_sender() -> None:
    """The words come from the code and its number only; a code of a later
    version reads as a refusal, a number no receiver has is not shown, a
    malformed reason ends the session (ProtocolError), and a reason for an
    offer that waits for no answer (never made, given up) is dropped."""
    assert refusal_words(NO_FILES, 0) == "it takes no files"
    assert refusal_words(BUSY, 3) == ("its user has 3 questions open already: send it again"
                                      " once they are answered")  # fmt: skip
    assert refusal_words(BUSY, 1 << 63).startswith("its user has questions open already")
    assert refusal_words(TOO_LARGE, 10_000_000) == "it takes none larger than 10 MB"
    assert refusal_words(OVER_TOTAL, 4_000_000_000) == "it takes at most 4 GB in one session"
    # A limit is never shown above itself (walk6: 1 GiB read "1.1 GB", so a
    # 1.08 GB file was refused as larger than 1.1 GB).
    assert refusal_words(TOO_LARGE, 1 << 30) == "it takes none larger than 1.07 GB"
    assert refusal_words(TOO_LARGE, 999_999) == "it takes none larger than 999 kB"
    assert refusal_words(TOO_LARGE, 12_345_678) == "it takes none larger than 12.3 MB"
    assert refusal_words(TOO_LARGE, 999) == "it takes none larger than 999 bytes"
    assert refusal_words(200, 7) == "refused without asking its user"

    receiver, sender = FileReceiver(None, None), FileSender(_nowhere)
    with pytest.raises(ProtocolError):
        file_channel(receiver, sender, file_refusal(1, BUSY, 3).payload + b"\x00")
    file_channel(receiver, sender, file_refusal(7, BUSY, 3).payload)
    assert sender._refusals == {}
