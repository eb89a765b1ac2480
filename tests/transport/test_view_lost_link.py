"""`view`'s exit status reads a lost link from its own side's account,
never from the host's words (audit38's finding): a host's Bye whose text
begins "the connection was lost" made `view` leave with 5 (LOST), as if
its link had broken, where the host had ended the session (0).

The reasons are the ones ``Viewer.closed_reason`` gives for each end."""

from __future__ import annotations

import pytest

from screencodec.cli.view_ending import _lost_link, _plain


@pytest.mark.parametrize("reason", [
    "host said bye: the connection was lost, sorry",
    "channel closed: closed by peer: the connection was lost",
    "host said bye: ended by the host: done for today",
])  # fmt: skip
def test_the_hosts_words_never_make_a_lost_link(reason: str) -> None:
    assert not _lost_link(reason)


@pytest.mark.parametrize("reason", [
    "channel closed: the peer closed the connection",
    "channel closed: the connection is gone",
    "channel closed: the connection broke: [Errno 104] Connection reset by peer",
    "channel closed: nothing received for 15 s (peer gone)",
    "channel closed: closed by peer: nothing received for 15 s (peer gone)",
])  # fmt: skip
def test_this_sides_account_of_a_broken_or_silent_link_is_lost(reason: str) -> None:
    assert _plain(reason).startswith("the connection was lost")
    assert _lost_link(reason)


def test_the_words_shown_for_the_hosts_bye_are_still_its_own() -> None:
    """Only the status changed: the line shows what the host said."""
    assert _plain("host said bye: the connection was lost, sorry") == \
        "the connection was lost, sorry"
