"""review39b: walk39's HOST_FAILED Bye says an error on the host's side
ended the session, "not which: the host's own words stay with the host".
Attacked as a hostile agent that reads on past the Bye: the host closed its
channel with its error's words as the close's reason, and a sealed close
carries its reason to the peer (RECORD_CLOSE, 200 bytes): the agent read
"failed: synthetic desktop size 10x10 is outside ..." (a path, a user name,
whatever the host's exception said). Real sockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from screencodec.capture import FrameSource
from screencodec.errors import SessionClosedError
from screencodec.transport import allow, share
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import VIEW
from screencodec.transport.session.refusal import HOST_FAILED

from .secure_fixtures import FAST

WORDS = "[Errno 13] Permission denied: '/home/alice/clients/acme-payroll.db'"


def _fails(index: int) -> FrameSource:
    raise OSError(WORDS)


def _bug(index: int) -> FrameSource:  # a bug: the host's 'internal error' path
    raise RuntimeError(WORDS)


@pytest.mark.parametrize("factory", [_fails, _bug])
def test_attack_an_agent_reads_the_hosts_error_past_its_bye(
        factory: Callable[[int], FrameSource]) -> None:  # fmt: skip
    async def main() -> tuple[list[m.Message], str]:
        async with share(factory, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            ch = await connect_direct("127.0.0.1", s.address[1], s.code, s.password, timeouts=FAST)
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "Mallory")))
            got: list[m.Message] = []
            why = ""
            with contextlib.suppress(SessionClosedError):
                while True:
                    got.append(m.decode(await ch.recv()))
            why = ch.close_reason
            await ch.close()
            ended = await asyncio.wait_for(s.wait_ended(), 10)
            assert "acme-payroll" in ended  # the host's own words stay with the host
            return got, why

    got, why = asyncio.run(asyncio.wait_for(main(), 60))
    assert any(isinstance(x, m.Bye) and x.reason == HOST_FAILED for x in got), got
    assert "alice" not in why and "payroll" not in why, why
