"""The last line of ``view`` when a lost link through a relay is not taken
up again because its host's connection to the relay was lost (a reset, a
power cut) and did not come back within the 60 s.

Measured (relaynames: `screencodec relay`, a host process whose link to the
relay is reset and stays down, `screencodec view`): every "still
reconnecting" line gave the relay's words ("the host has not been heard
from for 58 s (its connection to the relay was lost)"), and the last line
said "could not reconnect: no session with that code at relay
127.0.0.1:PORT: check the 9-digit code": the code was right, the relay had
paired this agent with it. The web page already said the relay's words.
Expected: the terminal's last line gives them too; a viewer the relay
knows nothing of (it names no pair tag) is told as before.

A real relay, host and agent on loopback; the wording is view's own
(cli/view._rejoin_words and _not_taken_up, as _rejoin calls them).
"""

from __future__ import annotations

import argparse
import re

import pytest

from screencodec.cli import view
from screencodec.errors import AccessRefusedError
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.via_relay import open_relay
from screencodec.transport.relay import ROLE_VIEWER, TOKEN_SIZE, Relay

from .cluster import run, wait_for
from .test_attack4_host_link_down import watched


def test_views_last_line_gives_what_the_relay_said_of_the_host() -> None:
    async def main() -> None:
        async with Relay() as relay, watched(relay.port, 91) as session:
            session.proxy.refusing = True  # the host's link resets and stays down
            session.proxy.cut()
            await session.lost()
            await wait_for(lambda: not relay.sessions)
            args = argparse.Namespace(relay=("127.0.0.1", relay.port), reconnect_for=60.0)
            with pytest.raises(AccessRefusedError) as last:  # the agent's last attempt
                await connect_via_relay("127.0.0.1", relay.port, session.code,
                                        session.password)  # fmt: skip
            line = view._not_taken_up("the connection was lost",
                                      view._rejoin_words(last.value, args))  # fmt: skip
            assert re.fullmatch(r"the connection was lost; could not reconnect: the host has not"
                                r" been heard from for \d+ s; its connection to the relay was"
                                r" lost", line), line  # fmt: skip
            # Held for the host within lost_hold of its loss (grace51), then
            # told as before: a viewer's 20 s, not 5, for its answer.
            with pytest.raises(AccessRefusedError) as unknown:  # names no pair tag
                await open_relay("127.0.0.1", relay.port, ROLE_VIEWER, session.code,
                                 bytes(TOKEN_SIZE), timeout=20)  # fmt: skip
            assert view._rejoin_words(unknown.value, args) == (
                f"no session with that code at relay 127.0.0.1:{relay.port}: "
                "check the 9-digit code (each start of screencodec host makes a new code"
                " and password: ask for them)")

    run(main(), 60)
