"""review2: the resume ticket as a value (session/resume.Ticket, a6bb0a6).

A Ticket is the host's 32-byte resume secret, held with the relay pairing
(connect/via_relay.RelayPairing) whose pair tag a reconnection names. Its
repr hides the bytes ("a secret: never in a log"); str(), %s and an
f-string went around that (bytes' str is its C repr, not the override).
A deep copy of a ticket held a copy of its pairing, which the connect layer
(a weak set of the pairings held) does not know: once the original went,
the copy named no tag, as a ticket of an older version."""

from __future__ import annotations

import copy
import gc
import logging
import pickle

import pytest

from screencodec.transport.connect import via_relay
from screencodec.transport.relay.protocol import TOKEN_SIZE
from screencodec.transport.session.resume import TICKET_SIZE, Ticket

SECRET = bytes(range(1, TICKET_SIZE + 1))


def test_a_ticket_compares_and_hashes_as_its_bytes() -> None:
    ticket = Ticket(SECRET, object())
    assert ticket == SECRET and hash(ticket) == hash(SECRET) and bytes(ticket) == SECRET
    assert {SECRET: 1}[ticket] == 1
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(Ticket(SECRET), protocol)) == SECRET


@pytest.mark.parametrize("how", ["str", "format", "percent", "log"])
def test_a_ticket_is_not_written_out_as_text(how: str, caplog: pytest.LogCaptureFixture) -> None:
    """Found: repr(ticket) said 'Ticket(32 bytes)' but str(), f'{t}', '%s'
    and a log line's %s gave b'\\x01\\x02...', the secret a resume takes.
    Expected: none of them shows the bytes."""
    ticket = Ticket(SECRET)
    if how == "str":
        text = str(ticket)
    elif how == "format":
        text = f"ticket {ticket}"
    elif how == "percent":
        text = "ticket %s" % (ticket,)  # noqa: UP031 - the form under test
    else:
        with caplog.at_level(logging.INFO):
            logging.getLogger("review2").info("ticket %s", ticket)
        text = caplog.text
    assert repr(SECRET) not in text and "\\x01\\x02" not in text, text
    assert "Ticket(32 bytes)" in text


def test_a_deep_copy_of_a_ticket_still_names_its_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found: a deep copy (an application's copy of its session state, say)
    held a copy of the pairing, which via_relay does not look for: with
    the original ticket gone and the process past 256 codes since, the next
    connection named no tag (an agent that can no longer tell its host from
    a stranger who registered the code). Expected: the copy's tag is named
    as the original's was."""
    monkeypatch.setattr(via_relay, "_PAIRED", {})  # the process's others left as they were
    key = ("127.0.0.1", 9, "987654321")
    tag = b"\x07" * TOKEN_SIZE
    ticket = Ticket(SECRET, via_relay._pair(key, tag))
    kept = copy.deepcopy(ticket)
    del ticket
    for n in range(via_relay._PAIRED_MOST + 1):  # the process paired as many codes since
        via_relay._pair(("127.0.0.1", 9, f"{n:09d}"), bytes(TOKEN_SIZE))
    gc.collect()
    assert kept == SECRET
    assert via_relay._paired(key) == tag
