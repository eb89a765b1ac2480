"""Someone who knows only a session code, against an agent that names no
pair tag (e545b94's protection is for a viewer that names the tag of the
registration it was paired with): an agent whose process lost
``via_relay._PAIRED`` (restarted, or more than 256 codes since), or a viewer
of an older version. The attacker registers the code while its host is away
(after a memory relay's restart; at a Redis cluster once the host's claim
expired) and releases it at once, before the host is back. Found: the relay
told such a viewer SESSION_ENDED ("the host ended this session") of any end,
and the agent gave up while its host registered again. Expected: it is told
only what it can retry (UNKNOWN_SESSION), and resumes unasked once its host
is back.

And an agent that names its tag, paired after a relay restart with whoever
registered the code first: that one cannot answer the password handshake,
but can fail it, or refuse it as a host whose session ended would. Found:
the agent took the failed handshake for a wrong password, or the refusal
for its host's word, and gave up.
Expected: the relay told it (RELAY_OK's body) that this is not the
registration it was in, so it retries, and resumes once its host is back.

Real relays (and a real redis-server), real host and agent, real sockets on
loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import pytest

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import (
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_frame,
    send_refusal,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.connect import RelayRegistration, host_via_relay, via_relay
from screencodec.transport.connect.via_relay import RelayChannel, open_relay
from screencodec.transport.relay import (
    RELAY_RELEASE,
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    TOKEN_SIZE,
    RelayLimits,
)
from screencodec.transport.session.resume import Ticket

from .cluster import RedisServer, relays, run, wait_for
from .test_attack4_host_link_down import Watched, watched
from .test_attack4_restart_release import restarted


async def _register_and_release(port: int, code: str, password: str | None = None) -> None:
    """Register ``code`` under a secret of one's own and release it (the
    registration's credentials end: RELAY_RELEASE)."""
    mine = SessionCredentials(code, password)
    squat = await host_via_relay("127.0.0.1", port, mine, lambda ch: None, backoff_max=0.2)
    await squat.wait_registered(10)
    mine.end()
    await wait_for(lambda: squat.state == "closed")
    await squat.close()


def _forget_tags(session: Watched, *, ticket_too: bool = False) -> None:
    """The agent's process has paired more than ``_PAIRED_MOST`` codes since
    (its latest pairing of this code is no longer among them), and the lost
    link's channel is let go: what is left is the session's resume ticket.
    With ``ticket_too``, that keeps no tag either (an agent of an older
    version, which names none; it keeps the key its resume is proven with,
    without which this host asks its user: parked38)."""
    for n in range(via_relay._PAIRED_MOST + 1):
        via_relay._pair(("127.0.0.1", 9, f"{n:09d}"), bytes(TOKEN_SIZE))
    assert not [k for k in via_relay._PAIRED if session.code in k]
    assert session.viewer is not None and session.viewer.resume_ticket is not None
    assert isinstance(session.viewer.channel, RelayChannel)
    session.viewer.channel.resume_hold = None
    if ticket_too:
        key = session.viewer.resume_ticket.proof_key
        session.viewer.resume_ticket = Ticket(session.viewer.resume_ticket, proof_key=key)
        assert not [p for p in via_relay._HELD if p.code == session.code]


def test_an_agent_naming_no_tag_is_not_told_a_forged_end_after_a_relay_restart() -> None:
    async def main() -> None:
        async with restarted(21) as (session, relay):
            await _register_and_release(relay.port, session.code)
            await wait_for(lambda: not relay.sessions)
            _forget_tags(session, ticket_too=True)
            await session.resumes(relay.port)
            assert session.reg is not None and session.reg.state == "registered"

    run(main(), 60)


def test_an_agent_naming_no_tag_is_not_told_a_forged_end_at_a_cluster(
        redis_server: RedisServer) -> None:  # fmt: skip
    """Two relays sharing Redis: the host's link is down past its claim's
    expiry, the attacker registers and releases the code at the other relay
    (Redis's ended:<code>), the agent asks the host's relay."""

    async def main() -> None:
        limits = RelayLimits(claim_ttl=1.0)
        async with relays(redis_server, 2, limits) as (home, other), \
                watched(home.port, 22) as session:  # fmt: skip
            session.proxy.refusing = True
            session.proxy.cut()  # the host's link fails (a reset) and stays down
            await session.lost()
            await wait_for(lambda: not home.sessions)

            async def expired() -> bool:
                return await home.directory.locate(session.code) is None

            await wait_for(expired, 10)

            await _register_and_release(other.port, session.code)

            async def marked() -> bool:  # the relay writes it once it read the release
                return await other.directory.ended(session.code) is not None

            await wait_for(marked, 10)  # the mark is there
            _forget_tags(session, ticket_too=True)
            await session.resumes(home.port)

    run(main(), 60)


class _RefusingSquatter:
    """Registers a code under a secret of its own and answers each viewer's
    HELLO as a host that ended its session would: REFUSE SESSION_ENDED."""

    def __init__(self) -> None:
        self.refused = 0
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self, port: int, code: str) -> None:
        reader, self._writer = await open_relay("127.0.0.1", port, ROLE_HOST_CONTROL, code,
                                                secrets.token_bytes(TOKEN_SIZE), timeout=5)
        self._task = asyncio.ensure_future(self._serve(reader, port, code))

    async def _serve(self, control: asyncio.StreamReader, port: int, code: str) -> None:
        while True:
            ftype, body = await read_frame(control, HANDSHAKE_FRAME_MAX)
            if ftype != FrameType.RELAY_INCOMING:
                continue
            reader, writer = await open_relay("127.0.0.1", port, ROLE_HOST_DATA, code,
                                              body[:TOKEN_SIZE], timeout=5)  # fmt: skip
            await read_frame(reader, HANDSHAKE_FRAME_MAX)  # the viewer's HELLO
            await send_refusal(writer, RefuseCode.SESSION_ENDED, "this session has ended")
            self.refused += 1

    async def release(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.write(encode_frame(RELAY_RELEASE))
            await close_writer(self._writer)


class _FailingSquatter:
    """Registers a code with a password of its own: the agent's password
    handshake with it fails."""

    def __init__(self) -> None:
        self._reg: RelayRegistration | None = None
        self._creds: SessionCredentials | None = None

    @property
    def refused(self) -> int:
        return 0 if self._creds is None else self._creds.failed_attempts

    async def start(self, port: int, code: str) -> None:
        self._creds = SessionCredentials(code)
        self._reg = await host_via_relay("127.0.0.1", port, self._creds, lambda ch: None,
                                         backoff_max=0.2)  # fmt: skip
        await self._reg.wait_registered(10)

    async def release(self) -> None:
        if self._creds is not None and self._reg is not None:
            self._creds.end()
            await self._reg.close()


@pytest.mark.parametrize(("squatter", "tagged"), [
    pytest.param(_FailingSquatter, True, id="fails-the-handshake"),
    pytest.param(_RefusingSquatter, True, id="refuses-ended"),
    pytest.param(_FailingSquatter, False, id="fails-the-handshake-no-tag"),
])
def test_an_agent_paired_with_whoever_registered_its_code_after_a_relay_restart_retries(
        squatter: type[_FailingSquatter | _RefusingSquatter], tagged: bool) -> None:  # fmt: skip
    """The attacker holds the code until the agent's next attempt has met
    it (a password handshake that fails, or the refusal of a host whose
    session ended: SESSION_ENDED, the host's own word when it is the
    agent's host), then releases it; the host's link is mended. Not
    ``tagged``: the agent's process has paired more than 256 codes since;
    the tag it names is the one kept with its resume ticket (found: it named
    none, took the failed handshake for a wrong password and gave up)."""

    async def main() -> None:
        async with restarted(23) as (session, relay):
            squat = squatter()
            await squat.start(relay.port, session.code)
            try:

                async def release(_: BaseException) -> None:  # then the link is mended
                    await squat.release()
                    await wait_for(lambda: not relay.sessions)
                    session.proxy.refusing = False

                if not tagged:
                    _forget_tags(session)
                await session.resumes(relay.port, release)
                assert squat.refused >= 1  # the agent's attempt met the attacker
            finally:
                await squat.release()

    run(main(), 60)

