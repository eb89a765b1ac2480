"""The host that the take-over scenarios (takeover36, attack36) set up: a
real Host on a synthetic desktop whose user says yes once and no to every
later question, its events recorded, a direct listener, and a way to
connect to it from a given address. Used by the network-namespace scripts
(takeover36_silent_run.py, attack36_blip_run.py,
attack36_silent_upload_run.py, run as root) and test_attack36_replay_direct.py.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import CONTROL, VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import DirectListener, connect_direct, listen_direct
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session.events import SessionEnded
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.transport.session.resume import Ticket

from .helpers import until

__all__ = ["TIMEOUTS", "TakeoverHost", "host_for_takeover", "reset"]

#: The agents' channels: a handshake bound, no idle or keepalive ends (a
#: scenario's dead path is noticed by the host's probes, not by these).
TIMEOUTS = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


def reset(channel: SecureChannel) -> None:
    """Cut ``channel``'s connection with a reset (a lost link, noticed)."""
    transport = channel._writer.transport
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class TakeoverHost:
    """``host`` behind ``listener`` (:func:`host_for_takeover` starts it);
    ``asked``: each question its user was asked (the first said yes, every
    later one no); ``seen``: its events, in order."""

    listener: DirectListener

    def __init__(self, **host_args: Any) -> None:
        self.creds = SessionCredentials()
        self.asked: list[ConsentRequest] = []
        self.seen: list[Any] = []
        self.host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3),
                         consent=self._consent, injector=RecordingInjector(),
                         **host_args)  # fmt: skip
        self._noting = asyncio.ensure_future(self._note(self.host.events()))

    async def _consent(self, request: ConsentRequest) -> Grant:
        self.asked.append(request)
        return Grant(request.level) if len(self.asked) == 1 else Grant.deny()

    async def _note(self, events: AsyncIterator[Any]) -> None:
        async for ev in events:
            self.seen.append(ev)

    async def connect(self, address: str = "127.0.0.1") -> SecureChannel:
        """A channel to the host from ``address`` (the session's code and
        password), past the handshake."""
        return await connect_direct(address, self.listener.port, self.creds.code,
                                    self.creds.password, timeouts=TIMEOUTS)  # fmt: skip

    async def first_agent_away(self) -> Ticket:
        """Alice joins (the one yes), has her ticket and a picture, and her
        link is reset: the session is away. Her ticket."""
        first = Viewer(await self.connect(), who="Alice")
        await first.start(VIEW | CONTROL)
        running = asyncio.ensure_future(first.run())
        await until(lambda: first.resume_ticket is not None and first.decoded >= 1, 10,
                    "ticket")  # fmt: skip
        ticket = first.resume_ticket
        assert ticket is not None and isinstance(first.channel, SecureChannel)
        reset(first.channel)
        await asyncio.wait_for(running, 10)
        await until(lambda: any(isinstance(e, SessionEnded) and e.resumable for e in self.seen),
                    10, "away")  # fmt: skip
        return ticket

    async def close(self) -> None:
        """Stop recording events, close the listener and the host."""
        self._noting.cancel()
        await self.listener.close()
        await self.host.close()


async def host_for_takeover(bind: str = "0.0.0.0", **host_args: Any) -> TakeoverHost:
    """The scenarios' host, listening on ``bind`` (any port): a typing
    synthetic desktop (160x120, seed 3), a RecordingInjector, and
    ``host_args`` for :class:`Host` (file_consent, config, ...)."""
    setup = TakeoverHost(**host_args)
    setup.listener = await listen_direct(bind, 0, setup.creds, setup.host.serve)
    return setup
