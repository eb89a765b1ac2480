"""Someone who knows only a session code tries to have the relay tell the
real agent that its session ended (84e8916, e000a95: SESSION_ENDED for a
code whose host released it, or whose host's program stopped), while the
session is live: a registration of the code under another secret followed
by RELAY_RELEASE (pipelined before the refusal, and after it), at the
host's relay and at another relay of its cluster (a real redis-server), and
a viewer join that sends RELAY_RELEASE and a FIN. Expected (held): each
registration is refused CODE_IN_USE, nothing marks the code ended (the
relays' own marks, the directory's), and the agent, whose link then drops
for a moment, resumes unasked. A guard of the marks: this held before those
commits too (they added the marks)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.framing import (
    FrameType,
    RefuseCode,
    encode_frame,
    read_frame,
    refusal_error,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.relay import (
    RELAY_RELEASE,
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    TOKEN_SIZE,
    Relay,
    encode_open,
)

from .cluster import RedisServer, relays, run, wait_for
from .test_attack4_host_link_down import watched


async def register_and_release(port: int, code: str, secret: bytes, body: bytes = b"", *,
                               pipelined: bool = False) -> BaseException | None:  # fmt: skip
    """A registration of ``code`` under ``secret``, then RELAY_RELEASE with
    ``body`` (before the relay's answer if ``pipelined``); the relay's
    refusal, None once it took the registration and let the connection go."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        release = encode_frame(RELAY_RELEASE, body)
        writer.write(encode_open(ROLE_HOST_CONTROL, code, secret)
                     + (release if pipelined else b""))  # fmt: skip
        ftype, answer = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 10)
        with contextlib.suppress(OSError):
            writer.write(release)
            writer.write_eof()
        if ftype == FrameType.REFUSE:
            return refusal_error(answer)
        assert ftype == FrameType.RELAY_OK, ftype
        await asyncio.wait_for(reader.read(), 10)  # the relay closes it once released
        return None
    finally:
        writer.close()


async def join_naming(port: int, code: str, tag: bytes = bytes(TOKEN_SIZE),
                      then: bytes = b"") -> BaseException | None:  # fmt: skip
    """A viewer join of ``code`` naming pair tag ``tag``, ``then`` sent after
    the opening, and a FIN; the relay's refusal, or None if it paired it,
    or let it go unanswered (resume52b: a join told to its host whose
    viewer sent something before the relay's answer, which no viewer does,
    or a FIN, is dropped; before, it was paired), once it let the
    connection go: what ``then`` did is done."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(encode_open(ROLE_VIEWER, code, tag) + then)
        writer.write_eof()
        try:
            ftype, answer = await asyncio.wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX), 10)
        except SessionClosedError:
            return None
        if ftype == FrameType.REFUSE:
            return refusal_error(answer)
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(), 10)
        return None
    finally:
        writer.close()


def refused_code(refusal: BaseException | None) -> RefuseCode | None:
    """The code of a relay's refusal (None: it let the connection in)."""
    return None if refusal is None else RefuseCode(getattr(refusal, "code", RefuseCode.MALFORMED))


@pytest.mark.parametrize("where", ["one relay", "cluster"])
def test_someone_with_the_code_cannot_have_a_live_session_told_ended(
        where: str, request: pytest.FixtureRequest) -> None:  # fmt: skip
    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            if where == "cluster":
                redis: RedisServer = request.getfixturevalue("redis_server")
                home, other = await stack.enter_async_context(relays(redis, 2))
                every = [home, other]
            else:
                home = await stack.enter_async_context(Relay())
                every = [home]
            session = await stack.enter_async_context(watched(home.port, 13))
            code = session.code
            for relay in every:
                for pipelined in (True, False):
                    refusal = await register_and_release(
                        relay.port, code, secrets.token_bytes(TOKEN_SIZE), pipelined=pipelined)
                    assert refused_code(refusal) == RefuseCode.CODE_IN_USE, refusal
                await join_naming(relay.port, code, then=encode_frame(RELAY_RELEASE))
            for relay in every:
                assert relay.ended.why(code) is None
                assert await relay.directory.ended(code) is None
            assert home.sessions and session.task is not None and not session.task.done()
            # The host's link drops for a moment (a reset), the agent's with
            # it; the agent comes back through the last relay tried.
            session.proxy.refusing = True
            session.proxy.cut()
            await session.lost()
            await wait_for(lambda: not home.sessions)
            await session.resumes(every[-1].port)

    run(main(), 60)
