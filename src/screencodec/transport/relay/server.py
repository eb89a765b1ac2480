"""The relay server: pairs hosts behind NAT with viewers and forwards their
sealed bytes; it holds no key.

The protocol it speaks is in protocol.py. Per connection: a host control
connection claims its code in the session directory (directory.py) and stays
open; a viewer is paired with the host if this relay holds it, redirected to
the relay that does, or refused; a host data connection is matched to its
waiting viewer by join id, and the pair is forwarded (splice.py): frame by
frame until the end-to-end handshake is over, then as raw bytes.

Limits (limits.py): attempt limits per address (/64 for IPv6; a join is
counted where it is decided, not where it is redirected, and an agent's
joins back to its registration per address and pair tag), and failed
guesses per session and address, counted in the directory, so shared by a
cluster; open connections per address and in all; deadlines for the
opening frame, pairing, the end-to-end handshake and idle streams; waiting
joins per code and address, and handshakes per code (a newcomer is never
refused for a crowded code: it cuts only its own address's oldest waiting
join, or a handshake stalled on its viewer, so nobody who knows only the
code can cut the real agent's join or handshake: sessions.py).

Operations: structured log lines and metrics (observe.py), which name a
session by a keyed tag (:func:`session_tag`), never by its code; :meth:`Relay.drain`
stops accepting, hands hosts back to the cluster and lets live pairs run up
to a deadline.

The relay is built in layers, each a module beside this one that imports
only those below it: :mod:`.refusals` (words), :mod:`.cluster` (the
directory, the heartbeat, the cluster's key and members), :mod:`.admission`
(attempt limits, holds, refusals, redirects), :mod:`.hosts` (a host's
control and data connections) and :mod:`.viewers` (a viewer's join and its
pair); this module adds the relay's life (start, drain, close) and each
connection's first steps. The names this module held before (relay43) are
still importable from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import Callable, Sequence

from screencodec.errors import ConfigError, ProtocolError, ScreencodecError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.framing import (
    RefuseCode,
    close_writer,
    read_frame,
    stop_listening,
)
from screencodec.transport.channel.handshake import VersionMismatchError
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, AttemptLimiter
from screencodec.transport.relay.admission import (
    CLAIM_HOLD_MOST,  # noqa: F401
    _add,
)
from screencodec.transport.relay.cluster import (
    MEMBERS_WAIT,  # noqa: F401
    RENEW_RETRY,  # noqa: F401
    T,  # noqa: F401
    session_tag,
)
from screencodec.transport.relay.directory import (
    Directory,
    DirectoryUnavailableError,
    MemoryDirectory,
)
from screencodec.transport.relay.hosts import RelayHosts
from screencodec.transport.relay.limits import CLAIM_TTL_MOST, RelayLimits, SharedLimits
from screencodec.transport.relay.observe import RelayMetrics, RelayStats, log_event
from screencodec.transport.relay.protocol import (
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    address_key,
    check_advertise,
    check_public_names,
    parse_open,
)
from screencodec.transport.relay.refusals import (
    _ENDED,  # noqa: F401
    _SHUTTING_DOWN,
    _TOO_MANY_JOINS,  # noqa: F401
    _not_heard,  # noqa: F401
)
from screencodec.transport.relay.sessions import EndedSessions, HostBack, Registration, Settling
from screencodec.transport.relay.splice import Tap, is_spliced
from screencodec.transport.relay.viewers import (
    STALL_GRACE,  # noqa: F401
    RelayViewers,
    _unpaired,  # noqa: F401
)

__all__ = ["Relay", "RelayLimits", "RelayStats", "run_relay", "session_tag"]

_log = logging.getLogger(__name__)


class Relay(RelayViewers, RelayHosts):
    """A relay server. ``await relay.start()``, then ``relay.port``; ``await relay.close()``.

    ``directory``: where claims and attempt counters live (default: a private
    :class:`MemoryDirectory`). ``advertise``: the ``HOST:PORT`` other relays
    send viewers to (default: the bound address, 127.0.0.1 for a wildcard).
    ``public_names``: other ``HOST:PORT`` names of this relay's cluster (the
    load balancer's name its clients dial) that it lists to the viewers it
    pairs beside its members, so that an agent paired through a relay's own
    address names its pair tag to the balancer's name too.
    :class:`~screencodec.errors.ConfigError` (a ValueError), naming the
    option (``--advertise: ...``, ``--public-name: ...``), if a viewer
    would not believe them, they do not fit in a RELAY_OK
    (:func:`~.protocol.check_public_names`), or ``advertise`` cannot be
    dialled (:func:`~.protocol.check_advertise`).

    Concurrency: one task per connection on one event loop; shared state
    (registrations, counters, stats) is only touched between awaits. The
    directory is the only state shared with other relays.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: RelayLimits | None = None,
        tap: Tap | None = None,
        directory: Directory | None = None,
        advertise: str | None = None,
        public_names: Sequence[str] = (),
    ) -> None:
        # Here, not at start: bind's OverflowError is no ScreencodecError (review39c).
        if not 0 <= port <= 65535:
            raise ConfigError(f"the port {port} is not 0-65535")
        if isinstance(public_names, str):  # one name, which a loop reads letter by letter
            raise ConfigError(f"--public-name: a list of HOST:PORT names, not the one string"
                              f" {public_names!r}")  # fmt: skip
        self._host = host
        self._port = port
        self.limits = limits or RelayLimits()
        if not self.limits.claim_ttl <= CLAIM_TTL_MOST:
            # relay46: a code whose relay died stays taken claim_ttl (a
            # claim_ttl of 1e9 s: for good).
            raise ConfigError(f"--claim-ttl: {self.limits.claim_ttl:g} s is longer than"
                              f" {CLAIM_TTL_MOST:g} s")  # fmt: skip
        if not 0.0 <= self.limits.lost_hold < math.inf:
            # nan was a hold with no end; no join waits past the relay's
            # memory of the loss (lost_memory) whatever it says.
            raise ConfigError(f"--lost-hold: {self.limits.lost_hold:g} s is no number of seconds"
                              " from 0")  # fmt: skip
        self._tap = tap
        self.directory = directory or MemoryDirectory()
        if advertise is not None:
            try:
                check_advertise(advertise)
            except ValueError as exc:
                raise ConfigError(f"--advertise: {exc}") from None
        self._advertise = advertise
        # Checked against the longest this relay's own address may be (its
        # port is not known before start() when it is 0).
        longest = advertise or self._advertised(65535)
        try:
            self.public_names = check_public_names(public_names, longest)
        except ValueError as exc:
            raise ConfigError(f"--public-name: {exc}") from None
        self._server: asyncio.Server | None = None
        self._sessions: dict[str, Registration] = {}
        # Codes whose registrations here await their claim (hosts.py
        # _claim_here), each set once the last is served or given back.
        self._settling: dict[str, Settling] = {}
        # Codes with joins held for their host, whose connection was lost,
        # to register again (viewers.py _host_back): set as it does.
        self._back: dict[str, HostBack] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._pairs: set[asyncio.Event] = set()
        self._no_pairs = asyncio.Event()
        self._per_address: dict[str, int] = {}
        # Connections no longer counted against their address (a host's data
        # connection, matched to its join), and per host address key the joins
        # announced to hosts registered from it and not attached yet: that
        # address may hold one more connection for each.
        self._uncounted: set[asyncio.StreamWriter] = set()
        self._announced: dict[str, int] = {}
        # Per address key, viewers held while a claim may come back after a
        # loss of the directory's keys (_claim_may_come).
        self._held: dict[str, int] = {}
        self._shared = SharedLimits(self.directory, self.limits)
        # Used only while the directory cannot be reached, so an outage does
        # not switch the attempt limits off.
        self._fallback_joins = AttemptLimiter(self.limits.joins_per_minute, 60.0)
        self._fallback_rejoins = AttemptLimiter(self.limits.rejoins_per_minute, 60.0)
        self._fallback_regs = AttemptLimiter(self.limits.registrations_per_minute, 60.0)
        self._heartbeat: asyncio.Task[None] | None = None
        self._draining = False
        self._closed = False  # close() began: what the loop still accepts is cut
        #: Codes whose host ended its registration here by a close (sessions.py).
        self.ended = EndedSessions(self.limits.host_gone_after, self.limits.ended_memory,
                                   self.limits.max_ended,
                                   lost_memory=self.limits.lost_memory)  # fmt: skip
        self.stats = RelayStats()
        self.metrics = RelayMetrics()
        #: Seconds the directory refused new registrations for when this
        #: relay started (Directory.begin: a Redis that held no epoch, a new
        #: cluster's or one that lost its keys, or a grace running).
        self.recovering_at_start = 0.0
        #: What the directory found at start that the operator should fix
        #: (Directory.caveat: a Redis whose scripts may not call INFO), ''
        #: nothing; logged once (directory_caveat) and on the CLI's line.
        self.caveat = ""
        # This relay's own until the directory gives the cluster's (start()).
        self._tag_key = secrets.token_bytes(16)
        # The key before the cluster's last changed (an operator rotated it,
        # or a relay started on a Redis that had lost it), and until when
        # join ids under it are verified: the other relays take a new key
        # at their own heartbeats, and made ids under the old one till then.
        self._old_tag_key = b""
        self._old_key_until = 0.0
        # The key read again for an id no key verifies (at most once a
        # second): another relay may have taken a new key before this one.
        self._rereading_key: asyncio.Future[None] | None = None
        self._key_read_at = -math.inf
        # A renewal made at once (not at the heartbeat) after a directory
        # call found the cluster's keys lost (_renew_now), shared.
        self._renewing: asyncio.Future[None] | None = None
        #: The cluster's relays as the directory last listed them
        #: (Directory.members), and the read in flight that viewers share.
        self._members: tuple[str, ...] = ()
        self._reading_members: asyncio.Future[None] | None = None
        #: Directory writes that outlive the connection that caused them.
        self._background: set[asyncio.Future[None]] = set()

    @property
    def sessions(self) -> frozenset[str]:
        """Codes whose host's control connection this relay holds right now."""
        return frozenset(self._sessions)

    @property
    def draining(self) -> bool:
        """True once :meth:`drain` has begun."""
        return self._draining

    @property
    def connections(self) -> int:
        """Open client connections right now."""
        return len(self._writers)

    @property
    def pairs(self) -> int:
        """Pairs being forwarded right now."""
        return len(self._pairs)

    async def start(self) -> None:
        self._closed = False
        with contextlib.suppress(DirectoryUnavailableError):
            # `or 0.0`: a Directory of an embedder written before begin()
            # returned the grace returns None.
            self.recovering_at_start = float(
                await self._dir("begin", self.directory.begin(self.limits.claim_ttl)) or 0.0
            )
        self.caveat = self.directory.caveat()
        if self.caveat:
            log_event("directory_caveat", logging.WARNING, why=self.caveat)
        await self._share_tag_key()
        self._server = await asyncio.start_server(
            self._accepted, self._host, self._port, backlog=1024
        )
        # The port bound (port 0: the kernel's pick): a drain stops
        # listening, and `advertise` then named port 0, so a draining relay
        # took its own claims for another's and redirected viewers to itself
        # (review47).
        self._port = self.port
        await self._announce()
        self._heartbeat = asyncio.ensure_future(self._renew_claims())
        log_event(
            "listening",
            address=f"{self._host}:{self.port}",
            advertise=self.advertise,
            public=",".join(self.public_names) or "-",
            directory=self.directory.describe(),
            recovering=f"{self.recovering_at_start:.1f}",
        )

    async def drain(self, deadline: float) -> None:
        """Stop accepting, hand every host back to the cluster (they reclaim
        their codes elsewhere with their secret) and let live pairs run for
        up to ``deadline`` seconds; then cut what is left, and let the
        cluster learn of sessions that ended here (up to ``host_gone_after``
        more, RelayLimits). Idempotent."""
        self._draining = True
        log_event(
            "drain_start", pairs=len(self._pairs), sessions=len(self._sessions), deadline=deadline
        )
        if self._server is not None:
            await stop_listening(self._server)
        for code in list(self._back):
            # Joins held for a lost host (viewers.py _host_back) are told now
            # (attack52: held to their pair_timeout, then "no such session
            # code"; the CLI's close() after the drain cut them with no word).
            self._wake_held(code)
        for reg in list(self._sessions.values()):
            reg.writer.close()  # its claim stays: the host reclaims it elsewhere
        self._sessions.clear()
        self.metrics.sessions(0)
        if self._pairs:
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._no_pairs.wait(), deadline)
        left = len(self._pairs)
        for stop in list(self._pairs):
            stop.set()
        if self._background:
            # A host's program that stopped just before (a FIN) is told to
            # the cluster once host_gone_after has passed; close() would
            # cancel that, and the other relays would say "no such session
            # code" once the claim expired. At most the grace and a call.
            await asyncio.wait(set(self._background), timeout=self.limits.host_gone_after + 2.0)
        log_event("drain_done", cut=left)

    async def close(self) -> None:
        """Stop listening and drop every connection (hosts will re-register elsewhere)."""
        self._closed = True
        if self._server is not None:
            await stop_listening(self._server)
        if self._heartbeat is not None:
            await _stop(self._heartbeat)
            self._heartbeat = None
        if self._rereading_key is not None:
            await _stop(self._rereading_key)
        if self._renewing is not None:
            await _stop(self._renewing)
        if self._reading_members is not None:
            await _stop(self._reading_members)
            self._reading_members = None
        for task in list(self._tasks):
            task.cancel()
        for later in list(self._background):
            await _stop(later)
        for writer in list(self._writers):
            if is_spliced(writer):
                writer.transport.abort()
            else:
                await close_writer(writer, 0.2)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self._sessions.clear()
        self.metrics.sessions(0)

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    # -- per connection ----------------------------------------------------

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Known from the moment it is accepted, not from its task's first
        step: a task that close() cancels before it starts never runs its
        finally, and its socket would be left open. The loop may still hand
        over a connection it accepted just before close(): cut it."""
        if self._closed:
            writer.transport.abort()
            return
        self._writers.add(writer)
        task = asyncio.get_running_loop().create_task(self._handle(reader, writer))
        self._tasks.add(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        ip = str((writer.get_extra_info("peername") or ("?",))[0])
        key = address_key(ip)
        self._per_address[key] = self._per_address.get(key, 0) + 1
        try:
            if self._draining:
                await self._refuse(writer, RefuseCode.BUSY, _SHUTTING_DOWN, ip)
            elif len(self._writers) > self.limits.max_connections:
                await self._refuse(writer, RefuseCode.BUSY, "relay at capacity", ip)
            elif self._per_address[
                key
            ] > self.limits.max_connections_per_address + self._announced.get(key, 0):
                # Without this, one address holding sockets open (slowloris)
                # could use up max_connections for everyone. A host's address
                # may also open one data connection per join announced to it
                # (else a crowd of joins from other addresses would make the
                # host's own connections here the ones refused).
                await self._refuse(writer, RefuseCode.BUSY, "too many connections from here", ip)
            else:
                await self._serve(reader, writer, ip)
        except (ScreencodecError, OSError, EOFError, asyncio.TimeoutError):
            pass  # one client's failure is that client's problem
        except asyncio.CancelledError:
            # close() ended this connection's task. It is the top of the task
            # (asyncio's client_connected_cb), and on Python 3.11 asyncio's
            # done callback logs a cancelled one as "Exception in callback".
            pass
        except Exception:
            # A bug, not a client: say so, but keep serving everyone else.
            _log.exception("relay: unexpected error on one connection")
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            if writer in self._uncounted:
                self._uncounted.discard(writer)
            else:
                _add(self._per_address, key, -1)
            if not is_spliced(writer):
                await close_writer(writer, 0.2)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ip: str
    ) -> None:
        try:
            ftype, body = await wait_for(
                read_frame(reader, HANDSHAKE_FRAME_MAX), self.limits.open_timeout
            )
            role, code, token = parse_open(ftype, body)
        except asyncio.TimeoutError:
            await self._refuse(writer, RefuseCode.TIMEOUT, "no opening message in time", ip)
            return
        except VersionMismatchError as exc:
            await self._refuse(writer, RefuseCode.BAD_VERSION, str(exc), ip)
            return
        except ProtocolError as exc:
            await self._refuse(writer, RefuseCode.MALFORMED, str(exc), ip)
            return
        if role == ROLE_HOST_CONTROL:
            await self._serve_host_control(reader, writer, ip, code, token)
        elif role == ROLE_VIEWER:
            await self._serve_viewer(reader, writer, ip, code, token)
        else:
            await self._serve_host_data(reader, writer, ip, code, token)


async def _stop(task: asyncio.Future[None]) -> None:
    """Cancel ``task`` until it has ended. Once is not always enough: on
    Python 3.11 ``asyncio.wait_for`` (around each Redis directory call)
    swallows a cancellation that lands as the call completes, and the
    heartbeat would beat on while close() waited for it."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    await asyncio.gather(task, return_exceptions=True)


async def run_relay(
    host: str = "0.0.0.0",
    port: int = 7390,
    *,
    limits: RelayLimits | None = None,
    ready: Callable[[Relay], None] | None = None,
    directory: Directory | None = None,
    advertise: str | None = None,
    public_names: Sequence[str] = (),
) -> None:
    """Run a relay until cancelled (for embedding; the CLI adds signals)."""
    relay = Relay(
        host,
        port,
        limits=limits,
        directory=directory,
        advertise=advertise,
        public_names=public_names,
    )
    await relay.start()
    try:
        if ready is not None:
            ready(relay)
        await asyncio.Event().wait()
    finally:
        await relay.close()
