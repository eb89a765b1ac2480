"""A session the host's program fails is ended with a Bye that says so
(walk39). A service whose frame source could not be made (here a
synthetic desktop of 10x10, under its 64x64 minimum) failed the session
after its user's yes with no word to the agent: ``view()`` raised
``SessionClosedError("closed by peer: closed locally")``, which reads as
the host closing on purpose, and ``screencodec view`` printed the same. The
agent is told that an error on the host's side ended it (not which: the
host's own words stay with the host, in its SessionEnded). Real sockets on
loopback."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.capture import FrameSource, SyntheticDesktop
from screencodec.errors import SessionClosedError
from screencodec.transport import allow, share, view

from .secure_fixtures import FAST


def _too_small(index: int) -> FrameSource:
    return SyntheticDesktop(10, 10)


def test_walk39_the_agent_is_told_the_host_failed() -> None:
    async def main() -> tuple[str, str]:
        async with share(_too_small, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            with pytest.raises(SessionClosedError) as caught:
                async with view(f"127.0.0.1:{s.address[1]}", code=s.code,
                                password=s.password, timeouts=FAST):  # fmt: skip
                    pass
            return str(caught.value), await asyncio.wait_for(s.wait_ended(), 10)

    agent, host = asyncio.run(asyncio.wait_for(main(), 60))
    assert agent == "the host could not go on: an error in its program ended the session"
    assert host == "failed: synthetic desktop size 10x10 is outside 64x64 .. 3840x2160"
