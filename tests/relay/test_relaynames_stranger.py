"""Someone who knows only a session code (a stranger), against an agent
reconnecting to resume, while the host is away: what each can do, named per
agent (docs/security.md, "A stranger with the code").

The stranger registers the code before the host is back (here: the relay,
memory directory, restarted; at a Redis cluster it may once the host's
claim expired, test_relayend_forged_end) and, with each attempt of the
agent's that reaches it, fails the password handshake (its own password),
refuses it as a host whose session ended would (SESSION_ENDED), or
registers and releases the code (a forged end). Then it lets go and the
host's link is mended.

- A new agent (it names the pair tag of the registration it was in, kept
  with its resume ticket): the stranger cannot fail it. Each meeting is
  ``OtherRegistrationError`` or "no such session", both retried; it resumes
  unasked once the host is back.
- An agent that names no tag (an older version; the same as a first join):
  the failed handshake ends its retries (AuthenticationError, "wrong
  session password, or this session is not answering as expected"), so
  does the refusal (SESSION_ENDED); a forged end does not (it hears of no
  end). Its host still holds the session for its resume window; the agent
  must be started again, and its host's user is asked again.

Real relay, host and agent, real sockets on loopback.
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.errors import AccessRefusedError, AuthenticationError
from screencodec.transport import VIEW, Viewer
from screencodec.transport.channel.framing import RefuseCode
from screencodec.transport.connect import connect_via_relay
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.connect.via_relay import OtherRegistrationError

from .cluster import run, wait_for
from .test_attack4_restart_release import restarted
from .test_relayend_forged_end import (
    _FailingSquatter,
    _forget_tags,
    _RefusingSquatter,
    _register_and_release,
)

#: Meetings the stranger has with the agent before it lets go.
MEETINGS = 3


@pytest.mark.parametrize("how", ["fails-the-handshake", "refuses-ended", "forged-end"])
@pytest.mark.parametrize("tagged", [True, False], ids=["new-agent", "agent-naming-no-tag"])
def test_what_a_stranger_with_the_code_does_to_an_agent_reconnecting(
        how: str, tagged: bool) -> None:  # fmt: skip
    async def main() -> None:
        async with restarted(71) as (session, relay):
            if not tagged:
                _forget_tags(session, ticket_too=True)
            squat: _FailingSquatter | _RefusingSquatter | None = None
            if how == "fails-the-handshake":
                squat = _FailingSquatter()
            elif how == "refuses-ended":
                squat = _RefusingSquatter()
            if squat is not None:
                await squat.start(relay.port, session.code)
            errors: list[BaseException] = []
            mended: list[asyncio.Task[None]] = []

            async def let_go() -> None:
                if squat is not None:
                    await wait_for(lambda: squat.refused >= MEETINGS, 20)
                    await squat.release()
                else:
                    await _register_and_release(relay.port, session.code)
                    await wait_for(lambda: not relay.sessions)
                    told = len(errors)  # an attempt begun after the end was forged:
                    await wait_for(lambda: len(errors) >= told + 2, 20)
                await wait_for(lambda: not relay.sessions)
                session.proxy.refusing = False  # the host's link is back

            def tried(n: int, error: BaseException | None) -> None:
                if error is not None:
                    errors.append(error)
                    if not mended:
                        mended.append(asyncio.ensure_future(let_go()))

            try:
                connect = lambda: connect_via_relay(  # noqa: E731
                    "127.0.0.1", relay.port, session.code, session.password)
                if not tagged and how != "forged-end":
                    expected = (AuthenticationError if how == "fails-the-handshake"
                                else AccessRefusedError)
                    with pytest.raises(expected) as gave_up:
                        await reconnect(connect, within=20, on_attempt=tried)
                    if how == "fails-the-handshake":
                        assert "not answering as expected" in str(gave_up.value)
                    else:
                        assert isinstance(gave_up.value, AccessRefusedError)
                        assert gave_up.value.code == RefuseCode.SESSION_ENDED
                    assert squat is not None
                    await wait_for(lambda: squat.refused >= 1)
                    assert squat.refused == 1  # its first meeting ended the agent's retries
                    return
                channel = await reconnect(connect, within=20, on_attempt=tried)
            finally:
                if squat is not None:
                    await squat.release()
                await asyncio.gather(*mended, return_exceptions=True)
            assert session.viewer is not None
            again = Viewer(channel, who="Alice", resume=session.viewer.resume_ticket)
            assert await again.start(VIEW) == VIEW
            assert len(session.asked) == 1  # resumed unasked: the host's user not asked again
            await again.bye()
            if squat is not None:
                assert squat.refused >= MEETINGS
                met = [e for e in errors if isinstance(e, OtherRegistrationError)]
                assert len(met) >= MEETINGS  # each meeting retried, none final
            for error in errors:  # the rest: "no such session" while nobody held it
                assert isinstance(error, OtherRegistrationError) or (
                    isinstance(error, AccessRefusedError)
                    and error.code == RefuseCode.UNKNOWN_SESSION), repr(error)

    run(main(), 60)
