"""``screencodec view --web`` reconnecting after a lost link: its connect
(cli/view.py ``_connect``) raises errors explained for the agent, raised
from the error they explain. Found (ends36): ``reconnect`` judged only the
explained one, which says nothing of what it is, so what a retry cannot
mend was retried for the whole minute: a wrong password (a host whose
password had changed), a session the host had ended (its relay's
SESSION_ENDED: tests/web/test_ends36_web_ended_away.py, 60 s a run).
Expected: given up at the first attempt, as the terminal view's own
connect (not explained) is. A real host's listener on loopback, a real
handshake with the wrong password.

review36: how a refusal says the session ended (connect/reconnect.py
``ended_while_away``), which decides the agent's last line and exit
status, from a relay's words that are peer input: only its three
sentences whole, with SESSION_ENDED, explained or not."""

from __future__ import annotations

import argparse

import pytest

from screencodec.cli.main import Exit
from screencodec.cli.view import _connect, _ViewError, exit_status
from screencodec.errors import AccessRefusedError, ProtocolError, RefuseCode, ScreencodecError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import listen_direct
from screencodec.transport.connect.reconnect import EndedAway, ended_while_away, reconnect
from screencodec.transport.relay.protocol import ENDED_DISPLAY_GONE, ENDED_RELEASED, ENDED_STOPPED

from .secure_fixtures import run


def test_a_wrong_password_is_not_retried_when_the_error_was_explained() -> None:
    async def main() -> None:
        creds = SessionCredentials()

        async def on_channel(channel: SecureChannel) -> None:
            await channel.close()

        listener = await listen_direct("127.0.0.1", 0, creds, on_channel)
        args = argparse.Namespace(relay=None, address=("127.0.0.1", listener.port),
                                  code=creds.code)  # fmt: skip
        wrong = SessionCredentials().password
        attempts: list[BaseException | None] = []
        try:
            try:
                await reconnect(lambda: _connect(args, wrong), within=60,
                                on_attempt=lambda _n, error: attempts.append(error))
            except ScreencodecError as exc:
                raised: BaseException = exc
            else:
                raise AssertionError("connected with the wrong password")
        finally:
            await listener.close()
        # Found: retried (attempts [None, error, None, error, ...]) until
        # the 60 s were over.
        assert attempts == [None]
        assert exit_status(raised) == Exit.WRONG_PASSWORD, raised

    run(main(), timeout=30)


#: A refusal -> how an agent away is told the session ended (None: not ended).
_REFUSALS: list[tuple[BaseException, EndedAway | None]] = [
    (AccessRefusedError(RefuseCode.SESSION_ENDED, ENDED_DISPLAY_GONE), EndedAway.DISPLAY_GONE),
    (AccessRefusedError(RefuseCode.SESSION_ENDED, ENDED_STOPPED), EndedAway.STOPPED),
    (AccessRefusedError(RefuseCode.SESSION_ENDED, ENDED_RELEASED), EndedAway.ENDED),
    # A host's own refusal (channel/handshake.py), and words of no relay.
    (AccessRefusedError(RefuseCode.SESSION_ENDED, "session ended"), EndedAway.ENDED),
    (AccessRefusedError(RefuseCode.SESSION_ENDED, f"{ENDED_DISPLAY_GONE} (or not)"),
     EndedAway.ENDED),
    (AccessRefusedError(RefuseCode.SESSION_ENDED, f" {ENDED_STOPPED}"), EndedAway.ENDED),
    # The display's words with any other refusal, or none, end nothing.
    (AccessRefusedError(RefuseCode.UNKNOWN_SESSION, ENDED_DISPLAY_GONE), None),
    (AccessRefusedError(RefuseCode.RATE_LIMITED, ENDED_STOPPED), None),
    (ProtocolError(f"peer refused: SESSION_ENDED: {ENDED_DISPLAY_GONE}"), None),
    (ConnectionRefusedError(111, "Connection refused"), None),
]


@pytest.mark.parametrize(("refusal", "how"), _REFUSALS)
def test_only_a_relays_own_sentence_with_session_ended_says_how_it_ended(
        refusal: BaseException, how: EndedAway | None) -> None:  # fmt: skip
    """The relay's words are peer input that decide the agent's last line
    and exit status (STOPPED: 5, the others 0): only the three sentences
    whole, with SESSION_ENDED, say which; judged the same through the web
    viewer's explained error (cli/view.py ``_connect``)."""
    assert ended_while_away(refusal) is how
    explained = _ViewError("explained for the agent")
    explained.explains = refusal
    assert ended_while_away(explained) is how
