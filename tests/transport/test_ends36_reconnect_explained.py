"""``screencodec view --web`` reconnecting after a lost link: its connect
(cli/view.py ``_connect``) raises errors explained for the agent, raised
from the error they explain. Found (ends36): ``reconnect`` judged only the
explained one, which says nothing of what it is, so what a retry cannot
mend was retried for the whole minute: a wrong password (a host whose
password had changed), a session the host had ended (its relay's
SESSION_ENDED: tests/web/test_ends36_web_ended_away.py, 60 s a run).
Expected: given up at the first attempt, as the terminal view's own
connect (not explained) is. A real host's listener on loopback, a real
handshake with the wrong password."""

from __future__ import annotations

import argparse

from screencodec.cli.main import Exit
from screencodec.cli.view import _connect, exit_status
from screencodec.errors import ScreencodecError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import listen_direct
from screencodec.transport.connect.reconnect import reconnect

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
