"""The relay's "session ended" (84e8916: a host whose own side closed its
control connection, a FIN, and did not register again within
``RelayLimits.host_gone_after``, 3 s, is taken for a program that stopped)
against a host whose program is alive and whose *link* failed, one way
first (ced9cba's case). Real relay, real host and viewer, real sockets on
loopback; the host reaches the relay through a proxy that loses what the
relay sends (its downlink dies) and then resets its new connections (its
link is down while it retries).

What happens: the host hears no PONG, closes its control connection itself
(a FIN: its uplink still carries it) and retries; its attempts fail while
its link is down. The agent's link is lost too (the host heard nothing from
it and closed it with sealed.SILENCE) and it reconnects to resume. Expected
(docs/relay.md: "a silent line ... is not such an end: the host may come
back, and viewers are told UNKNOWN_SESSION (retried) meanwhile"): the agent
keeps retrying and resumes unasked once the host's link is back. Found: its
first attempt is refused SESSION_ENDED ("the host's program stopped") and it
gives up, while the host keeps its ticket parked and registers again.

Fix (connect/via_relay.py, resume-rest's): a host that closes its control
connection because the relay went silent resets it (``reset_stream``:
SO_LINGER 0, then abort(); a RST, which the relay does not take for a
program that stopped) instead of closing it in order; only a host process
that exits leaves a FIN. The test proxy passes a reset on as a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import RelayRegistration, connect_via_relay, host_via_relay
from screencodec.transport.connect.reconnect import reconnect
from screencodec.transport.relay import Relay, RelayLimits
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.permissions import Grant
from transport.helpers import LinkProxy, ended_lost
from transport.secure_fixtures import both_loops
from transport.secure_fixtures import run as run_on

from .cluster import run, wait_for

#: The host's timeouts: it takes a relay that sent nothing for 3 pings
#: (0.9 s) for gone, and a viewer it heard nothing from for 2 s.
_HOST = Timeouts(handshake=2.0, idle=2.0, keepalive=0.5)
#: The relay's host_gone_after at 1.5 s, not 3: what a FIN would end, it
#: ends sooner; the tests wait past it all the same.
_GONE = RelayLimits(host_gone_after=1.5)


class Watched:
    """A host registered at a relay through ``proxy`` (its link), with the
    agent watching it straight through the relay: what the tests need to
    break the session's links and see whether the agent resumes."""

    def __init__(self, proxy: LinkProxy, timeouts: Timeouts | None, seed: int,
                 ping_interval: float = 0.3) -> None:  # fmt: skip
        self.proxy = proxy
        self.ping_interval = ping_interval  #: the host's, to the relay
        self.asked: list[ConsentRequest] = []
        self.host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=seed),
                         consent=self._consent)  # fmt: skip
        self.creds = SessionCredentials()
        self.code, self.password = self.creds.code, self.creds.password
        self._timeouts = timeouts
        self.reg: RelayRegistration | None = None
        self.viewer: Viewer | None = None
        self.task: asyncio.Task[str] | None = None

    async def _consent(self, request: ConsentRequest) -> Grant:
        self.asked.append(request)
        return Grant(request.level)

    async def _serve(self, channel: SecureChannel) -> None:
        await self.host.serve(channel)

    async def start(self, relay_port: int) -> None:
        # The proxy is the host's line: when the test cuts it the host's
        # network is down, and it must not go around it to another relay of
        # the cluster its relay told it of (failover42), on loopback too.
        self.reg = await host_via_relay("127.0.0.1", self.proxy.port, self.creds, self._serve,
                                        timeouts=self._timeouts,
                                        ping_interval=self.ping_interval,
                                        backoff_max=0.3, follow_cluster=False)  # fmt: skip
        await self.reg.wait_registered(5)
        self.viewer = Viewer(await connect_via_relay("127.0.0.1", relay_port, self.code,
                                                     self.password), who="Alice")  # fmt: skip
        await self.viewer.start(VIEW)
        self.task = asyncio.ensure_future(self.viewer.run())
        viewer = self.viewer
        await wait_for(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1)

    async def lost(self) -> None:
        """The agent's link was lost (its run ended so)."""
        assert self.viewer is not None and self.task is not None
        await ended_lost(self.viewer, self.task)

    async def resumes(self, relay_port: int,
                      on_refusal: Callable[[BaseException], Awaitable[None]] | None = None,
                      ) -> None:  # fmt: skip
        """The agent reconnects through the relay on ``relay_port``; told to
        retry once, ``on_refusal(error)`` runs (by default: the host's link
        is mended). Expected: it gets in and resumes unasked."""
        assert self.viewer is not None
        ran: list[asyncio.Task[None]] = []

        def tried(n: int, error: BaseException | None) -> None:
            if error is not None and not ran:  # the agent was told to retry
                ran.append(asyncio.ensure_future((on_refusal or self._mend)(error)))

        ch = await reconnect(lambda: connect_via_relay("127.0.0.1", relay_port, self.code,
                                                       self.password),
                             within=20, on_attempt=tried)  # fmt: skip
        again = Viewer(ch, who="Alice", resume=self.viewer.resume_ticket)
        assert await again.start(VIEW) == VIEW
        assert len(self.asked) == 1  # resumed unasked
        await again.bye()
        await asyncio.gather(*ran)

    async def _mend(self, _: BaseException) -> None:
        self.proxy.muted, self.proxy.refusing = None, False

    async def close(self) -> None:
        if self.reg is not None:
            await self.reg.close()
        await self.host.close()
        await self.proxy.close()


@contextlib.asynccontextmanager
async def watched(relay_port: int, seed: int, timeouts: Timeouts | None = None,
                  ping_interval: float = 0.3) -> AsyncIterator[Watched]:  # fmt: skip
    """A :class:`Watched` session at the relay on ``relay_port``."""
    proxy = LinkProxy(relay_port)
    await proxy.start()
    session = Watched(proxy, timeouts, seed, ping_interval)
    try:
        await session.start(relay_port)
        yield session
    finally:
        await session.close()


async def _gone_for(relay: Relay, seconds: float) -> None:
    """Until the relay has held no registration for ``seconds``."""
    loop = asyncio.get_running_loop()
    since = loop.time()
    while relay.sessions or loop.time() - since < seconds:
        if relay.sessions:
            since = loop.time()
        await asyncio.sleep(0.02)


def test_an_agent_resumes_after_its_hosts_link_to_the_relay_was_down_a_while() -> None:
    async def main() -> None:
        async with Relay(limits=_GONE) as relay, watched(relay.port, 7, _HOST) as session:
            session.proxy.mute("host")  # what the relay sends the host is lost ...
            session.proxy.refusing = True  # ... and its new connections fail
            await session.lost()
            await _gone_for(relay, relay.limits.host_gone_after + 0.5)
            assert session.reg is not None and session.reg.state != "closed"  # it goes on
            await session.resumes(relay.port)

    run(main(), 60)


@both_loops
def test_a_host_that_hears_nothing_from_its_relay_resets_its_control_connection(
        loop_kind: str) -> None:  # fmt: skip
    """The host's side of the above on either event loop (asyncio's and
    uvloop's abort() alone both send a FIN): its registration alone, its
    downlink dead and its link then down. The relay must see a reset: the
    code is not told ended once host_gone_after has passed."""

    async def main() -> None:
        async with Relay(limits=_GONE) as relay:
            proxy = LinkProxy(relay.port)
            await proxy.start()
            creds = SessionCredentials()
            reg = await host_via_relay("127.0.0.1", proxy.port, creds, lambda ch: None,
                                       timeouts=_HOST, ping_interval=0.3, backoff_max=0.3)
            try:
                await reg.wait_registered(5)
                proxy.mute("host")
                proxy.refusing = True
                await _gone_for(relay, relay.limits.host_gone_after + 0.5)
                assert relay.ended.why(creds.code) is None
                assert reg.state != "closed"
            finally:
                await reg.close()
                await proxy.close()

    run_on(main(), timeout=30, loop_kind=loop_kind)
