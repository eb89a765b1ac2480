"""RELAY_RELEASE's body (ends36: empty, the host's user ended the session;
``0x01``, its X display went) is what a host tells its relay, and through
the relay's words (SESSION_ENDED) what an agent reconnecting is told and
how its ``view`` ends (0x01 and empty: status 0; a program stopped: 5).
It is peer input to the relay, and its words reach agents. The attacks:

- a host's body other than the one byte ``0x01`` (two bytes, another byte,
  a long one): expected, the relay's words for its user's end, never the
  display's, never the body itself;
- someone who knows only the code releases it with ``0x01`` while the
  session is live (a registration under its own secret, the release
  pipelined and after; a viewer join carrying the release): expected,
  CODE_IN_USE, nothing marked ended, and the agent, its link cut, resumes;
- someone who knows only the code claims it once the real host's claim has
  expired (its link to the relay down, its agent away) and releases it
  with ``0x01``: expected, the agent reconnecting (naming its session's
  pair tag) is told UNKNOWN_SESSION, which it retries, not that the
  display went; once its host is back it resumes unasked.

A real relay on loopback, raw relay frames for the attacker, a real Host
and Viewer for the session (tests/relay/test_attack4_host_link_down.py);
the attacker's frames as tests/relay/test_attack4_forged_release.py sends
them (its test: the empty body, and a cluster).
"""

from __future__ import annotations

import secrets

from screencodec.errors import AccessRefusedError
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import RefuseCode, encode_frame
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.connect.reconnect import ended_while_away
from screencodec.transport.relay import (
    RELAY_RELEASE,
    TOKEN_SIZE,
    Relay,
    RelayLimits,
    claim_verifier,
)
from screencodec.transport.relay.protocol import (
    ENDED_DISPLAY_GONE,
    ENDED_RELEASED,
    RELEASE_DISPLAY_GONE,
    pair_tag,
)

from .cluster import run, wait_for
from .test_attack4_forged_release import join_naming, register_and_release
from .test_attack4_host_link_down import watched


def _words(refusal: BaseException | None) -> tuple[RefuseCode, str]:
    assert isinstance(refusal, AccessRefusedError), refusal
    return refusal.code, str(refusal).removeprefix(f"{refusal.code.name}: ")


#: A release's body -> the relay's words for the code's end.
_BODIES = {
    b"": ENDED_RELEASED,
    RELEASE_DISPLAY_GONE: ENDED_DISPLAY_GONE,
    RELEASE_DISPLAY_GONE * 2: ENDED_RELEASED,
    b"\x02": ENDED_RELEASED,
    b"\x00": ENDED_RELEASED,
    RELEASE_DISPLAY_GONE + b"\x1b[2J the host's X display is gone": ENDED_RELEASED,
    RELEASE_DISPLAY_GONE * HANDSHAKE_FRAME_MAX: ENDED_RELEASED,  # the longest a relay reads
}


def test_a_release_says_the_display_went_for_its_one_byte_alone() -> None:
    async def main() -> None:
        async with Relay() as relay:
            for body, words in _BODIES.items():
                code, secret = SessionCredentials().code, secrets.token_bytes(TOKEN_SIZE)
                assert await register_and_release(relay.port, code, secret, body) is None
                tag = pair_tag(claim_verifier(code, secret))
                said = _words(await join_naming(relay.port, code, tag))
                assert said == (RefuseCode.SESSION_ENDED, words), (body[:8], said)
                # What the cluster's other relays would tell: the same sentence.
                assert await relay.directory.ended(code) == words
                # A viewer naming no registration is told of no end.
                assert _words(await join_naming(relay.port, code, bytes(TOKEN_SIZE)))[0] \
                    == RefuseCode.UNKNOWN_SESSION  # fmt: skip

    run(main(), 60)


def test_someone_with_the_code_cannot_release_a_live_session_as_its_display_gone() -> None:
    async def main() -> None:
        async with Relay() as relay, watched(relay.port, 36) as session:
            code = session.code
            for pipelined in (True, False):
                refused = await register_and_release(relay.port, code, secrets.token_bytes(
                    TOKEN_SIZE), RELEASE_DISPLAY_GONE, pipelined=pipelined)  # fmt: skip
                assert _words(refused)[0] == RefuseCode.CODE_IN_USE, refused
            # A viewer's join carrying the release: spliced to the host, if
            # anything, never read by the relay as its control's.
            await join_naming(relay.port, code, bytes(TOKEN_SIZE),
                        encode_frame(RELAY_RELEASE, RELEASE_DISPLAY_GONE))  # fmt: skip
            assert relay.ended.why(code) is None
            assert await relay.directory.ended(code) is None
            assert relay.sessions and session.task is not None and not session.task.done()
            session.proxy.refusing = True
            session.proxy.cut()
            await session.lost()
            await session.resumes(relay.port)

    run(main(), 60)


#: A host's claim outlives its control connection 1.5 s (renewed every 0.5 s).
_SHORT_CLAIM = RelayLimits(claim_ttl=1.5)


def test_someone_who_claims_an_away_hosts_code_cannot_tell_its_agent_the_display_went() -> None:
    async def main() -> None:
        async with Relay(limits=_SHORT_CLAIM) as relay, watched(relay.port, 37) as session:
            code = session.code
            session.proxy.refusing = True  # the host's link to the relay is down
            session.proxy.cut()
            await session.lost()  # the agent's link went with it

            async def claim_free() -> bool:
                return await relay.directory.locate(code) is None

            await wait_for(claim_free, 10)
            # The attack: the code, claimed under the attacker's secret and
            # released as the display's end.
            assert await register_and_release(relay.port, code, secrets.token_bytes(TOKEN_SIZE),
                                               RELEASE_DISPLAY_GONE) is None  # fmt: skip
            told: list[BaseException] = []

            async def refused_then_mended(error: BaseException) -> None:
                told.append(error)
                session.proxy.refusing = False  # the host's link is back

            # Found (expected, held): not SESSION_ENDED with the display's
            # words, which would end the agent's view at once, status 0.
            await session.resumes(relay.port, on_refusal=refused_then_mended)
            assert len(told) == 1 and isinstance(told[0], AccessRefusedError), told
            assert told[0].code == RefuseCode.UNKNOWN_SESSION, told[0]
            assert ended_while_away(told[0]) is None

    run(main(), 60)

