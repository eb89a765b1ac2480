"""What ``screencodec host``'s user reads of an agent let in to nothing:
one that proved the password and then asked nothing (the host's 10 s wait
for a request), or asked for control without asking to view (refused at
once, the user not asked).

Found (walk36, a real host in tmux): ``session with 127.0.0.1:51668 ended:
viewer sent no request`` and ``session with 127.0.0.1:33172 ended: viewer
did not ask to view``, the program's END reasons (session/endreasons.py)
as the line's words, about a session the user was never asked about.

Expected: a line in the user's words that says who connected, what they
asked, and that nothing was shared.

A real ``screencodec host --once`` on a pty; the agents are real Viewers
(or a bare channel) in this process, as no ``screencodec view`` asks so.
"""

from __future__ import annotations

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, Viewer
from screencodec.transport.connect import connect_direct
from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import Where, session, wait

#: The host's line for each, after the agent's address.
NOTHING_ASKED = (r" proved the password, then asked for nothing within 10 s: nothing was"
                 r" shared, and it was disconnected\n")  # fmt: skip
NO_VIEW = (r" proved the password and asked to control your mouse and keyboard without"
           r" seeing your screen: refused without asking you; nothing was shared\n")  # fmt: skip
#: What the agent's program is told (the API's ConsentDeniedError).
CONTROL_ALONE = ("the host refused without asking its user: a session starts with a request"
                 " to view, and this one asked for control alone")  # fmt: skip
ADDRESS = r"\n127\.0\.0\.1:\d+"


def test_an_agent_who_asks_nothing_is_told_of_in_plain_words() -> None:
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            channel = await connect_direct("127.0.0.1", *at)
            try:  # the host's link waits 10 s for a request, then closes
                # Found: "session with 127.0.0.1:PORT ended: viewer sent no request".
                await wait(host, ADDRESS + NOTHING_ASKED)
            finally:
                await channel.close()

        session(host, body)
        assert host.proc.wait(10) == 3  # --once: nobody was let in
    finally:
        host.close()
    assert "viewer sent no request" not in host.text, host.text


def test_an_agent_who_asks_control_without_view_is_told_of_in_plain_words() -> None:
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", *at), who="Carol")
            with pytest.raises(ConsentDeniedError) as refused:
                await viewer.start(CONTROL)
            # Found (walk37): "the host's user declined", though nobody was asked.
            assert str(refused.value) == CONTROL_ALONE, refused.value
            # Found: "session with 127.0.0.1:PORT ended: viewer did not ask to view".
            await wait(host, ADDRESS + NO_VIEW)

        session(host, body)
        assert host.proc.wait(10) == 3
    finally:
        host.close()
    assert "viewer did not ask to view" not in host.text, host.text
