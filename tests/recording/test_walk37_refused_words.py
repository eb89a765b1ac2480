"""walk36's leftover: ``recordings list``, ``verify`` and ``play`` said of a
session nobody was let in "nobody was let in (consent denied: no answer in
time)", the END reason as the program writes it. Each END reason a first
question can end in now reads in a person's words (a real recording of a
declined session: tests/test_walkfix35b_host.py)."""

from __future__ import annotations

import pytest

from screencodec.cli.recordings_check import _refused


@pytest.mark.parametrize(("reason", "words"), [
    ("consent denied", "nobody was let in (the user declined)"),
    ("consent denied: no answer in time", "nobody was let in (the user did not answer in time)"),
    ("consent denied: the consent callback returned a bool, not a Grant",
     "nobody was let in (the user could not be asked: the consent callback returned a bool,"
     " not a Grant)"),
    ("viewer sent no request", "nobody was let in (no request in time)"),
    ("viewer did not ask to view", "nobody was let in (it did not ask to view)"),
    ("consent denied: \x1b[2Jx", "nobody was let in (the user could not be asked: ?x)"),
    ("ended before the user answered: ended by the host: the host's user ended the session",
     "nobody was let in (the session ended before the user answered)"),
    ("ended before the user answered: viewer left", "nobody was let in (the session ended"
     " before the user answered)"),
    # audit38: a session that ended before its first question was put
    ("ended before asking: protocol error: expected a permission request, got Ack",
     "nobody was let in (the session ended before the user was asked: protocol error: expected"
     " a permission request, got Ack)"),
    ("ended before asking: viewer gone: \x1b[2Jx", "nobody was let in (the session ended"
     " before the user was asked: viewer gone: ?x)"),
    ("the viewer left", ""),
    ("consent deniedX", ""),
])  # fmt: skip
def test_a_refused_sessions_end_reads_in_words(reason: str, words: str) -> None:
    assert _refused({"reason": reason}) == words
