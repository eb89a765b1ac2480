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
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from screencodec.errors import (
    ConfigError,
    ProtocolError,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.framing import (
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_frame,
    send_refusal,
    stop_listening,
)
from screencodec.transport.channel.handshake import VersionMismatchError
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, AttemptLimiter
from screencodec.transport.relay.directory import (
    ClaimResult,
    Directory,
    DirectoryUnavailableError,
    MemoryDirectory,
)
from screencodec.transport.relay.limits import RelayLimits, SharedLimits, rejoin_key
from screencodec.transport.relay.observe import RelayMetrics, RelayStats, log_event
from screencodec.transport.relay.protocol import (
    ENDED_RELEASED,
    ENDED_STOPPED,
    HOST_NOT_BACK_YET,
    RECOVERING,
    RELAY_RELEASE,
    ROLE_HOST_CONTROL,
    ROLE_VIEWER,
    TOKEN_SIZE,
    address_key,
    check_advertise,
    check_public_names,
    claim_verifier,
    encode_pong,
    encode_recovering,
    encode_redirect,
    encode_viewer_ok,
    pair_tag,
    parse_open,
    release_words,
)
from screencodec.transport.relay.sessions import (
    EndedSessions,
    EvictedError,
    Pairing,
    Registration,
)
from screencodec.transport.relay.splice import PairControl, PairStreams, Tap, is_spliced, splice

__all__ = ["Relay", "RelayLimits", "RelayStats", "run_relay", "session_tag"]

T = TypeVar("T")

#: Seconds a handshake may wait on its viewer, on top of twice the viewer's
#: own round trip, before a newcomer may cut it: far longer than a real
#: viewer takes to compute its PAKE answer (sessions.py, evict_handshake).
STALL_GRACE = 1.0
#: Seconds after a failed renewal of its claims before a relay tries again
#: (at most ``claim_ttl / 3``, its heartbeat).
RENEW_RETRY = 1.0
#: The longest a viewer is held while its code's claim may come back after
#: a loss of the directory's keys (_claim_may_come), in seconds: inside a
#: viewer's wait for a relay's answer (connect_via_relay: 20 s, each
#: redirect its own). The hold follows the relay's claim_ttl (a heartbeat,
#: claim_ttl / 3, and 0.5 s) up to this: claim_ttl 52.5 s. Before relay43
#: 10 s: with a claim_ttl over 28.5 s a heartbeat came after the hold.
CLAIM_HOLD_MOST = 18.0
#: Seconds a viewer's RELAY_OK may wait, once its host is there, for the
#: cluster's members read when it arrived (one directory round trip, begun
#: while the host answers); past it, those read last are told. A host's
#: RELAY_OK waits as long, after its claim, for the read begun with it.
MEMBERS_WAIT = 0.25
_log = logging.getLogger(__name__)
_TOO_MANY_JOINS = "too many join attempts from this address; wait a minute"
#: How a host's registration ended, when that ends its session: what a viewer
#: naming the code is told (EndedSessions).
_ENDED = {"released": ENDED_RELEASED, "closed by the host": ENDED_STOPPED}
def session_tag(code: str, key: bytes) -> str:
    """What the log says for a session code: 6 hex digits of a keyed hash.

    Never the code itself: a code and a guessed password are a way in, and
    logs are read by more people than should hold codes. Keyed with a random
    key (an unkeyed hash of a 9-digit code is undone by trying all 10**9)
    that the relays sharing a directory share (``Directory.log_key``), so the
    lines of one session share their tag on every relay of a cluster.
    """
    return hmac.new(key, code.encode(), "sha256").hexdigest()[:6]


class Relay:
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

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 limits: RelayLimits | None = None, tap: Tap | None = None,
                 directory: Directory | None = None, advertise: str | None = None,
                 public_names: Sequence[str] = ()) -> None:
        # Here, not at start: bind's OverflowError is no ScreencodecError (review39c).
        if not 0 <= port <= 65535:
            raise ConfigError(f"the port {port} is not 0-65535")
        if isinstance(public_names, str):  # one name, which a loop reads letter by letter
            raise ConfigError(f"--public-name: a list of HOST:PORT names, not the one string"
                              f" {public_names!r}")  # fmt: skip
        self._host = host
        self._port = port
        self.limits = limits or RelayLimits()
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
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def advertise(self) -> str:
        """The ``HOST:PORT`` this relay's claims name, for redirects."""
        if self._advertise is not None:
            return self._advertise
        return self._advertised(self.port)

    def _advertised(self, port: int) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "", "::") else self._host
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

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
            self.recovering_at_start = float(await self._dir(
                "begin", self.directory.begin(self.limits.claim_ttl)) or 0.0)
        self.caveat = self.directory.caveat()
        if self.caveat:
            log_event("directory_caveat", logging.WARNING, why=self.caveat)
        await self._share_tag_key()
        self._server = await asyncio.start_server(self._accepted, self._host, self._port,
                                                  backlog=1024)
        await self._announce()
        self._heartbeat = asyncio.ensure_future(self._renew_claims())
        log_event("listening", address=f"{self._host}:{self.port}", advertise=self.advertise,
                  public=",".join(self.public_names) or "-",
                  directory=self.directory.describe(),
                  recovering=f"{self.recovering_at_start:.1f}")

    def _tag(self, code: str) -> str:
        return session_tag(code, self._tag_key)

    def _join_id(self, code: str) -> bytes:
        """A new join id for a viewer of ``code``: 8 random bytes and 8 of a
        MAC of them and the code under the cluster's key (the log key, which
        every relay of a cluster shares), so that any relay of the cluster
        can tell a host's data connection for it from a probe
        (:meth:`_joined_in_cluster`)."""
        nonce = secrets.token_bytes(TOKEN_SIZE // 2)
        return nonce + self._join_mac(code, nonce)

    def _join_mac(self, code: str, nonce: bytes, key: bytes | None = None) -> bytes:
        return hmac.new(key or self._tag_key,
                        b"screencodec relay join\0" + code.encode() + nonce,
                        "sha256").digest()[:TOKEN_SIZE // 2]

    def _mac_verifies(self, code: str, join_id: bytes) -> bool:
        half = TOKEN_SIZE // 2
        keys = [self._tag_key]
        if self._old_tag_key and asyncio.get_running_loop().time() < self._old_key_until:
            keys.append(self._old_tag_key)
        return any(hmac.compare_digest(join_id[half:], self._join_mac(code, join_id[:half], k))
                   for k in keys)

    async def _joined_in_cluster(self, code: str, join_id: bytes) -> bool:
        """Whether ``join_id`` is one a relay of this cluster made for a
        viewer of ``code``. Only then is a host's data connection redirected:
        it counts against no join limit, so before (attack40) any data
        connection to a relay that did not hold the code learnt whether
        another relay held it (redirected, or "no such pending viewer"),
        without limit: an oracle of live codes. Under the cluster's key, the
        one it had before for a while, or (read again: at most once a
        second) the one another relay took first. Before (epoch41), for up
        to a heartbeat after the key changed, joins made around the change
        were refused at the relays that held another key."""
        if self._mac_verifies(code, join_id):
            return True
        loop = asyncio.get_running_loop()
        if self._rereading_key is None or (self._rereading_key.done()
                                           and loop.time() - self._key_read_at >= 1.0):
            self._key_read_at = loop.time()
            self._rereading_key = asyncio.ensure_future(self._share_tag_key())
        await asyncio.shield(self._rereading_key)
        return self._mac_verifies(code, join_id)

    async def _share_tag_key(self) -> None:
        """Tag sessions with the cluster's key (Directory.log_key); while the
        directory cannot be reached, with the key this relay has."""
        with contextlib.suppress(DirectoryUnavailableError):
            key = await self._dir("log_key", self.directory.log_key(self._tag_key))
            if key != self._tag_key and self._server is not None:
                log_event("tags_changed", logging.WARNING, why="the cluster's key differs")
                self._old_tag_key = self._tag_key
                self._old_key_until = (asyncio.get_running_loop().time()
                                       + self.limits.claim_ttl / 3 + self.limits.pair_timeout)
            self._tag_key = key

    async def drain(self, deadline: float) -> None:
        """Stop accepting, hand every host back to the cluster (they reclaim
        their codes elsewhere with their secret) and let live pairs run for
        up to ``deadline`` seconds; then cut what is left, and let the
        cluster learn of sessions that ended here (up to ``host_gone_after``
        more, RelayLimits). Idempotent."""
        self._draining = True
        log_event("drain_start", pairs=len(self._pairs), sessions=len(self._sessions),
                  deadline=deadline)
        if self._server is not None:
            await stop_listening(self._server)
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
            await asyncio.wait(set(self._background),
                               timeout=self.limits.host_gone_after + 2.0)
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

    # -- the directory -----------------------------------------------------

    async def _dir(self, op: str, call: Awaitable[T]) -> T:
        start = time.perf_counter()
        ok = False
        try:
            result = await call
            ok = True
            return result
        except DirectoryUnavailableError as exc:
            log_event("directory_error", logging.WARNING, op=op, why=exc)
            raise
        finally:
            self.metrics.directory(op, time.perf_counter() - start, ok)

    async def _renew_claims(self) -> None:
        """Heartbeat: extend every claim this relay holds, every ttl / 3
        from the last renewal's start. The renewal goes first, and one that
        failed (the directory stalled or away) is tried again
        :data:`RENEW_RETRY` later: a claim must not lapse while its host is
        connected (a lapsed claim is a free code, and the host is cut for
        whoever registers it). Before (attack40), a beat spent the
        directory's timeout on the log key, then the members, then the
        renewal, and a failed one waited a whole period: a 10 s Redis
        stall let a live host's claim lapse for a second."""
        loop = asyncio.get_running_loop()
        period = self.limits.claim_ttl / 3
        wait = period
        while True:
            await asyncio.sleep(wait)
            started = loop.time()
            claims = {code: reg.verifier for code, reg in self._sessions.items()}
            try:
                lost = await self._dir("renew", self.directory.renew(
                    claims, self.advertise, self.limits.claim_ttl))
            except DirectoryUnavailableError:
                wait = min(period, RENEW_RETRY)  # keep serving local hosts; retry soon
                continue
            self._drop_lost(claims, lost)
            await self._share_tag_key()
            await self._announce()
            wait = max(0.0, started + period - loop.time())

    def _drop_lost(self, claims: Mapping[str, bytes], lost: set[str]) -> None:
        """Cut the hosts whose claims a renewal found someone else's."""
        for code in lost:
            reg = self._sessions.get(code)
            if reg is not None and reg.verifier == claims.get(code):
                log_event("claim_lost", logging.WARNING, session=self._tag(code))
                reg.writer.close()

    async def _renew_now(self) -> None:
        """What a heartbeat does, now: a join's count found the cluster's
        keys lost (Directory.loss_noticed: Redis flushed, or restarted
        without persistence), and this relay's claims are gone from it
        until they are made again. Before relay42 that waited for the next
        heartbeat (up to claim_ttl / 3): meanwhile every other relay said
        "no such session code" to a viewer of its hosts, and refused the
        host's data connection of a join made here ("no such pending
        viewer": the viewer's join timed out, 15 s), the more so at a
        relay started after the loss, which made a new cluster key the
        join ids here were not made under (measured, 2 relay processes,
        claim_ttl 15 s, a relay started right after a FLUSHALL: 141 of 548
        such data connections refused in 7 of 9 runs, for 0.5-4.7 s; after,
        0 of 318). Now the first join after the loss waits for the claims
        (one round trip) and the new key, and its host's data connection is
        redirected anywhere. Shared by the joins that come meanwhile."""
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.ensure_future(self._beat_once())
        with contextlib.suppress(DirectoryUnavailableError):
            await asyncio.shield(self._renewing)

    async def _beat_once(self) -> None:
        """One heartbeat's work (_renew_claims), without its retry."""
        claims = {code: reg.verifier for code, reg in self._sessions.items()}
        self._drop_lost(claims, await self._dir("renew", self.directory.renew(
            claims, self.advertise, self.limits.claim_ttl)))
        await self._share_tag_key()
        await self._announce()

    async def _claim_may_come(self, ip: str) -> AsyncGenerator[None, None]:
        """Once a second, while a code's claim may still come, before a
        viewer (from ``ip``) is told that nobody holds it: while the
        directory recovers from a loss of its keys, a live host's relay
        makes its claim again at its next heartbeat (or join: _renew_now),
        within ``claim_ttl / 3`` of the loss, so this looks until that much
        has passed since the grace began (and 0.5 s for the renewal), at
        most :data:`CLAIM_HOLD_MOST` (a ``claim_ttl`` over 52.5 s beats
        later: such a viewer is told that its host may not be back yet,
        _unknown_words, and retries). Before
        relay42 the viewer was told "no such session code" (a new agent
        gives up on that) until then (measured, 2 relay processes, claim_ttl
        15 s, a viewer at the relay started right after a FLUSHALL every
        0.1 s: for 2.5-4.3 s in 4 of 4 runs; after, 0 in 3 runs, the first
        viewer redirected 1.0-2.0 s after it came). Not for an address past
        its joins, nor for more than ``max_pending_per_address`` of one
        address at once (the others are told at once): a stranger parks
        no more here than it may at a host, each looking once a second."""
        left = await self._grace_left()
        if not left:
            return
        loop = asyncio.get_running_loop()
        most = self.limits.claim_ttl / 3 + 0.5
        end = loop.time() + min(CLAIM_HOLD_MOST, most - (self.limits.claim_ttl - left))
        key = address_key(ip)
        if loop.time() >= end or not await self._join_left(ip, None):
            return
        # Checked and counted with no await between: a crowd arriving at
        # once is not let past the cap by the looks above.
        if self._held.get(key, 0) >= self.limits.max_pending_per_address:
            return
        _add(self._held, key, 1)
        try:
            while (now := loop.time()) < end:
                await asyncio.sleep(min(1.0, end - now))
                yield
        finally:
            _add(self._held, key, -1)

    async def _grace_left(self) -> float | None:
        """Seconds the directory's recovering grace has left, as a refused
        host is told (Directory.recovering_left): None if not known. A
        host that is told retries as it ends, and waits as long as it says
        (bounded: registration.RECOVERING_MOST); before relay42 it was told
        nothing, and ``screencodec host`` gave up after a fixed 60 s."""
        try:
            return await self._dir("recovering", self.directory.recovering_left())
        except DirectoryUnavailableError:
            return None

    async def _announce(self) -> None:
        """Say in the directory that this relay is one of the cluster (for a
        claim's lifetime: renewed at every heartbeat), and read who else is."""
        with contextlib.suppress(DirectoryUnavailableError):
            await self._dir("announce", self.directory.announce(self.advertise,
                                                                self.limits.claim_ttl))
            await self._read_members()

    async def _read_members(self) -> None:
        with contextlib.suppress(DirectoryUnavailableError):
            self._members = tuple(await self._dir("members", self.directory.members()))

    def _members_now(self) -> asyncio.Future[None]:
        """A read of the cluster's members, the one in flight if any (the
        viewers being paired share it)."""
        if self._reading_members is None or self._reading_members.done():
            self._reading_members = asyncio.ensure_future(self._read_members())
        return self._reading_members

    def _cluster(self) -> list[str]:
        """What a paired viewer is told of this relay's cluster: this relay
        (a viewer that came through a balancer or a proxy may come back to
        it directly), the cluster's public names (a viewer paired through
        this relay's own address may come back through the balancer), then
        the other relays the directory lists; each once."""
        return list(dict.fromkeys([self.advertise, *self.public_names, *self._members]))

    async def _ended_in_cluster(self, code: str, tag: bytes) -> str | None:
        """Why ``code``'s session ended, if its host released it at any relay
        sharing the directory (None: not known, or the directory is out)."""
        try:
            why = await self._dir("ended", self.directory.ended(code, tag))
        except DirectoryUnavailableError:
            return None
        return None if why is None else safe_text(why, 200)

    async def _silent_in_cluster(self, code: str, tag: bytes) -> float | None:
        """Seconds since the host of ``code`` (the registration of pair tag
        ``tag``) was last heard from, if a relay of the cluster lost its
        connection (Directory.lost); None: not known, or the directory is out."""
        try:
            return await self._dir("silent", self.directory.silent_for(code, tag))
        except DirectoryUnavailableError:
            return None

    def _later(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` beside the connections; close() cancels it. Not once
        close() began (it would outlive it): dropped."""
        if self._closed:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _tell_cluster_ended(self, code: str, verifier: bytes, why: str) -> None:
        """A host whose own side closed its control connection here (a FIN)
        and did not register again within ``host_gone_after``: its session
        ended, and every relay of the cluster is told (Directory.end, as a
        RELAY_RELEASE is), not only this one. Else a viewer that reached
        another relay once the claim had expired (15 s), or once this relay
        was gone (a restart, a drain), was told "no such session" and retried
        for its whole 60 s. Not if the host registered again meanwhile, here
        or (the claim naming another relay) elsewhere."""
        await asyncio.sleep(self.limits.host_gone_after)
        if code in self._sessions or not self.ended.has_ended(code, pair_tag(verifier)):
            return
        with contextlib.suppress(DirectoryUnavailableError):
            await self._dir("end", self.directory.end(code, verifier, why,
                                                      self.limits.ended_memory,
                                                      relay=self.advertise))

    async def _tell_cluster_lost(self, code: str, verifier: bytes, heard: float) -> None:
        """A host whose control connection here was lost without an end (a
        reset, silence; last heard from at ``heard``): every relay of the
        cluster tells a viewer naming its registration so, for the host's
        resume window (Directory.lost), not only this one. Else, once the
        claim had expired (15 s), or once this relay was gone, a viewer at
        another relay was told "no such session code" for the rest of its
        60 s, and gave up with it. Not if the host is back: here (checked
        now), or elsewhere (the directory checks the claim)."""
        if code in self._sessions:
            return
        with contextlib.suppress(DirectoryUnavailableError):
            await self._dir("lost", self.directory.lost(
                code, verifier, time.monotonic() - heard, self.limits.lost_memory,
                relay=self.advertise))

    async def _register_allowed(self, ip: str) -> bool:
        """One registration by address ``ip``, counted in the directory (the
        whole cluster)."""
        try:
            return await self._dir("limit", self._shared.register(ip))
        except DirectoryUnavailableError:
            return self._fallback_regs.try_acquire(address_key(ip))

    async def _join_allowed(self, ip: str, known: bytes | None) -> bool:
        """One join by address ``ip``, counted in the directory (the whole
        cluster): against its address's joins, or, ``known`` the pair tag
        of a registration this relay knows (an agent coming back), against
        its joins back to that registration (RelayLimits.rejoins_per_minute)."""
        try:
            allowed = await self._dir("limit", self._shared.join(ip, known))
        except DirectoryUnavailableError:
            if known is None:
                return self._fallback_joins.try_acquire(address_key(ip))
            return self._fallback_rejoins.try_acquire(rejoin_key(ip, known))
        if self.directory.loss_noticed():
            await self._renew_now()
        return allowed

    async def _join_left(self, ip: str, known: bytes | None) -> bool:
        """Whether ``ip`` may join once more (as :meth:`_join_allowed`, which
        the relay deciding the join asks; looks, counts nothing). While the
        directory cannot be reached: yes (the deciding relay counts it)."""
        try:
            return await self._dir("limit", self._shared.join_left(ip, known))
        except DirectoryUnavailableError:
            return True

    async def _guesses_left(self, code: str, ip: str) -> bool:
        """Whether ``ip`` has failed guesses on ``code`` to spare (looking
        only). While the directory cannot be reached the join limit, which
        was just counted, is all there is."""
        try:
            return await self._dir("limit", self._shared.guesses_left(code, ip))
        except DirectoryUnavailableError:
            return True

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
                await self._refuse(writer, RefuseCode.BUSY, "relay shutting down", ip)
            elif len(self._writers) > self.limits.max_connections:
                await self._refuse(writer, RefuseCode.BUSY, "relay at capacity", ip)
            elif (self._per_address[key] > self.limits.max_connections_per_address
                  + self._announced.get(key, 0)):
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

    async def _refuse(self, writer: asyncio.StreamWriter, why: RefuseCode, detail: str,
                      ip: str, session: str = "", *, body: bytes | None = None) -> None:
        self.stats.refuse(why)
        self.metrics.refused(why)
        level = logging.WARNING if why == RefuseCode.RATE_LIMITED else logging.INFO
        log_event("refused", level, reason=why.name,
                  session=self._tag(session) if session else "-", addr=ip,
                  detail=detail)
        await send_refusal(writer, why, detail, body=body)

    async def _redirect(self, writer: asyncio.StreamWriter, code: str, ip: str,
                        role: str, named: bytes | None = None) -> bool:
        """Send the client to the relay holding ``code``; False if none does.

        A viewer (naming pair tag ``named``, or None) past its join limit is
        refused RATE_LIMITED instead, unless it names the holder's
        registration (an agent coming back: its joins back to it are what
        count). The redirect counts no join (the relay it is sent to does),
        so before (attack40) an address past its limit still learnt, for
        any code, whether another relay held it: redirected, or refused as
        a code nobody holds is, an unlimited oracle of live codes."""
        try:
            holder = await self._dir("locate", self.directory.locate(code))
        except DirectoryUnavailableError:
            await self._refuse(writer, RefuseCode.BUSY, "session directory unavailable", ip,
                               session=code)
            return True
        if holder is None or holder.relay == self.advertise:
            return False
        if role == "viewer":
            known = named if named is not None and holder.tag and hmac.compare_digest(
                named, holder.tag) else None  # fmt: skip
            if not await self._join_left(ip, known):
                await self._refuse(writer, RefuseCode.RATE_LIMITED, _TOO_MANY_JOINS, ip,
                                   session=code)
                return True
        self.stats.redirected += 1
        self.metrics.redirected()
        log_event("redirect", session=self._tag(code), addr=ip, role=role, to=holder.relay)
        writer.write(encode_redirect(holder.relay))
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await wait_for(writer.drain(), 1.0)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     ip: str) -> None:
        try:
            ftype, body = await wait_for(read_frame(reader, HANDSHAKE_FRAME_MAX),
                                         self.limits.open_timeout)
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

    async def _serve_host_control(self, reader: asyncio.StreamReader,
                                  writer: asyncio.StreamWriter, ip: str,
                                  code: str, secret: bytes) -> None:
        if not await self._register_allowed(ip):
            await self._refuse(writer, RefuseCode.RATE_LIMITED,
                               "too many registrations from this address; wait a minute", ip,
                               session=code)
            return
        if _ended_before_read(reader, writer):
            # A registration sent before this relay stopped (SIGSTOP, a VM
            # paused) and read as it woke, its host gone elsewhere since
            # (reset: relay_race gives up on a silent relay): claimed, it
            # took the code from the relay the host is at, and viewers were
            # told "no such session code" until that relay's heartbeat
            # (review43). Nobody is there to take it.
            log_event("unregistered", session=self._tag(code), addr=ip,
                      why="gone before it was read")
            return
        verifier = claim_verifier(code, secret)
        # Read with the claim: its RELAY_OK tells the host the cluster's
        # relays (a relay that joined since the last heartbeat too).
        members = self._members_now()
        try:
            result = await self._dir("claim", self.directory.claim(
                code, verifier, self.advertise, self.limits.claim_ttl))
        except DirectoryUnavailableError:
            await self._refuse(writer, RefuseCode.BUSY, "session directory unavailable", ip,
                               session=code)
            return
        if result is ClaimResult.RECOVERING:  # retried: as the grace ends, or the backoff
            await self._refuse(writer, RefuseCode.BUSY, RECOVERING, ip, session=code,
                               body=encode_recovering(await self._grace_left()))
            return
        if result is ClaimResult.IN_USE:
            await self._refuse(writer, RefuseCode.CODE_IN_USE, "session code in use", ip,
                               session=code)
            return
        # Before the code is served: a RELAY_INCOMING must not go out first.
        await asyncio.wait({members}, timeout=MEMBERS_WAIT)
        old = self._sessions.get(code)
        if old is not None:
            old.writer.close()  # the same host again: its old link is dead
        reg = Registration(code, verifier, writer, address_key(ip))
        self._sessions[code] = reg
        self.ended.registered(code)
        self.stats.registrations += 1
        if result is ClaimResult.RECLAIMED:
            self.stats.reclaims += 1
        self.metrics.sessions(len(self._sessions))
        log_event("registered", session=self._tag(code), addr=ip, claim=result.value)
        why = "closed"
        words = ""  # what a viewer naming the code is told once it ended (_ENDED)
        try:
            # As a viewer's: the registration's pair tag and the cluster's
            # relays, where the host goes when this relay stops (failover42;
            # a host before it reads no body).
            writer.write(encode_viewer_ok(pair_tag(verifier), self._cluster()))
            while True:
                try:
                    ftype, body = await wait_for(
                        read_frame(reader, HANDSHAKE_FRAME_MAX), self.limits.control_idle_timeout)
                except asyncio.TimeoutError:
                    why = "idle"
                    raise
                except SessionClosedError:
                    # The host's machine closed it (FIN), not this relay (a
                    # drain, the same host again) and not a reset or silence
                    # (a line that may come back): its program stopped.
                    if reader.at_eof() and not writer.is_closing():
                        why = "closed by the host"
                    raise
                if ftype == RELAY_RELEASE:
                    why, words = "released", release_words(body)
                    with contextlib.suppress(DirectoryUnavailableError):
                        await self._dir("end", self.directory.end(
                            code, verifier, words, self.limits.ended_memory))
                    return
                if ftype != FrameType.RELAY_PING:
                    why = f"unexpected frame {ftype}"
                    raise ProtocolError(f"unexpected frame {ftype} on a control connection")
                reg.heard = time.monotonic()
                # The cluster as known now (relay43): a relay that joined
                # since the host registered is one it may move to.
                writer.write(encode_pong(pair_tag(verifier), self._cluster()))
                await writer.drain()
        finally:
            if why != "idle":
                # Its connection's end (a reset, a FIN, a broken line) is the
                # last the relay heard of the host: what a viewer is told
                # counts from it, not from the last ping, up to a ping
                # interval (10 s) before (walk34: "not heard from for 4 s"
                # a second after the loss). Silence counts from the last ping.
                reg.heard = time.monotonic()
            if self._sessions.get(code) is reg:
                del self._sessions[code]
                if why in _ENDED:
                    words = words or _ENDED[why]
                    self.ended.ended(code, words, released=why == "released",
                                     tag=pair_tag(verifier))
                    if why != "released":  # the cluster learns it once the grace is over
                        self._later(self._tell_cluster_ended(code, verifier, words))
                else:  # a reset, silence: the host may come back
                    self.ended.lost(code, pair_tag(verifier), reg.heard)
                    if not self._draining:  # a drain cuts hosts itself: not lost
                        self._later(self._tell_cluster_lost(code, verifier, reg.heard))
            self.metrics.sessions(len(self._sessions))
            for _, fut, _ in reg.pending:
                if not fut.done():
                    fut.set_exception(TransportError("the host's registration ended"))
            log_event("unregistered", session=self._tag(code), addr=ip, why=why)

    async def _serve_viewer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            ip: str, code: str, tag: bytes) -> None:
        # A join is counted once, where it is decided (paired here, or
        # refused as unknown or ended), never where it is only redirected:
        # the relay it is sent to counts it. The session's guess budget is
        # checked only where the session is served.
        named = tag if any(tag) else None
        reg = self._sessions.get(code)
        if reg is None:
            if await self._redirect(writer, code, ip, "viewer", named):
                return
            async with contextlib.aclosing(self._claim_may_come(ip)) as looks:
                async for _ in looks:
                    reg = self._sessions.get(code)
                    if reg is None and await self._redirect(writer, code, ip, "viewer", named):
                        return
                    if reg is not None:
                        break
            if reg is None:
                await self._refuse_absent(writer, ip, code, named)
                return
        known = named if named is not None and hmac.compare_digest(
            named, pair_tag(reg.verifier)) else None  # fmt: skip
        if not await self._join_allowed(ip, known):
            await self._refuse(writer, RefuseCode.RATE_LIMITED, _TOO_MANY_JOINS, ip,
                               session=code)
            return
        if not await self._guesses_left(code, ip):
            await self._refuse(writer, RefuseCode.RATE_LIMITED,
                               "too many failed attempts on this session from this address; "
                               "wait a minute", ip, session=code)
            return
        key = address_key(ip)
        if reg.make_room(key, self.limits.max_pending_per_address):
            self.stats.evicted += 1  # this address's own oldest join: never another's
        join_id = self._join_id(code)
        # Read while the host answers: a relay that joined the cluster since
        # the last heartbeat is told too.
        members = self._members_now()
        fut: asyncio.Future[Pairing] = asyncio.get_running_loop().create_future()
        entry = (join_id, fut, key)
        reg.pending.append(entry)
        _add(self._announced, reg.host_key, +1)
        try:
            reg.writer.write(encode_frame(FrameType.RELAY_INCOMING,
                                          join_id + ip.encode()[:64]))
            host_reader, host_writer, done = await wait_for(
                fut, self.limits.pair_timeout, dropped=_unpaired)
        except asyncio.TimeoutError:
            # No parentheses: a viewer shows these words inside its own.
            await self._refuse(writer, RefuseCode.TIMEOUT, "the host did not answer: " +
                               _not_heard(time.monotonic() - reg.heard), ip, session=code)
            return
        except EvictedError as exc:
            await self._refuse(writer, RefuseCode.BUSY, str(exc), ip, session=code)
            return
        except TransportError:
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, "the host went away: " +
                               _not_heard(time.monotonic() - reg.heard), ip, session=code)
            return
        finally:
            _add(self._announced, reg.host_key, -1)
            with contextlib.suppress(ValueError):
                reg.pending.remove(entry)
        await asyncio.wait({members}, timeout=MEMBERS_WAIT)
        await self._forward(reg, ip, PairStreams(reader, writer, host_reader, host_writer), done)

    async def _refuse_absent(self, writer: asyncio.StreamWriter, ip: str, code: str,
                             named: bytes | None) -> None:
        """Refuse a viewer naming ``code`` that no relay holds, and pair tag
        ``named`` (None: it names none), after counting its join: against
        its joins back to that registration if this relay, or its cluster,
        knows it ended or lost it (an agent coming back), else its address's.

        SESSION_ENDED only for an end by the registration the viewer names
        (protocol.pair_tag), none if it names none: after a restart the first
        to register a code may be someone who knows only it. Otherwise
        UNKNOWN_SESSION, with how long its host (that registration) has not
        been heard from, if a relay of the cluster lost that host's
        connection (a reset, silence, Directory.lost) and it has not come
        back. A viewer retries UNKNOWN_SESSION; this is what it waits for
        (an agent's terminal shows it)."""
        ended = silent = None
        if named is not None:
            ended = self.ended.why(code, named) or await self._ended_in_cluster(code, named)
            if ended is None:
                silent = self.ended.silent_for(code, named)
                if silent is None:
                    silent = await self._silent_in_cluster(code, named)
        known = named if ended is not None or silent is not None else None
        if not await self._join_allowed(ip, known):
            await self._refuse(writer, RefuseCode.RATE_LIMITED, _TOO_MANY_JOINS, ip,
                               session=code)
        elif ended is not None:  # a viewer reconnecting to it need not go on
            await self._refuse(writer, RefuseCode.SESSION_ENDED, ended, ip, session=code)
        else:
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, await self._unknown_words()
                               if silent is None else f"{_not_heard(silent)} (its connection "
                               "to the relay was lost)", ip, session=code)  # fmt: skip

    async def _unknown_words(self) -> str:
        """What a viewer of a code nobody holds is told: while the directory
        recovers (a grace: its relays make their hosts' claims again), that
        the host may not be back yet (relay43: a viewer held past a
        heartbeat that came later than the hold, claim_ttl over 52.5 s, was
        told "no such session code", and a new agent gave up on it); else
        "no such session code"."""
        return HOST_NOT_BACK_YET if await self._grace_left() else "no such session code"

    async def _forward(self, reg: Registration, ip: str, streams: PairStreams,
                       done: asyncio.Event) -> None:
        writer, host_writer = streams.v_writer, streams.h_writer
        loop = asyncio.get_running_loop()
        control = PairControl(opened=loop.time())  # RELAY_OK goes out below, without an await
        stop = control.stop
        if len(reg.handshaking) >= self.limits.max_handshaking_per_session:
            # When no handshake in flight has stalled past its allowance (one
            # may be the agent on its way to answering), the newcomer goes
            # ahead over the cap: how many can be in flight at once is bounded
            # by the joins the attackers' addresses may make (the per-address
            # join limits: joins, and joins back naming the tag, which
            # whoever pairs learns), and each is cut at handshake_timeout.
            self._evict_one(reg)
        reg.handshaking.append(control)
        self._pairs.add(stop)
        self._no_pairs.clear()
        self.stats.paired += 1
        self.metrics.pair(+1)
        log_event("paired", session=self._tag(reg.code), addr=ip)
        started = loop.time()
        forwarded = 0

        def count(n: int) -> None:
            nonlocal forwarded
            forwarded += n
            self.stats.bytes_forwarded += n
            self.metrics.forwarded(n)

        def handshake_over() -> None:
            with contextlib.suppress(ValueError):
                reg.handshaking.remove(control)

        why = "error"
        try:
            # The viewer is told which registration it is paired with, to
            # name when it reconnects (only that one's end is its session's),
            # and to which relays it may name it: this cluster's.
            writer.write(encode_viewer_ok(pair_tag(reg.verifier), self._cluster()))
            host_writer.write(encode_frame(FrameType.RELAY_OK))
            why = await splice(streams, idle_timeout=self.limits.idle_timeout,
                               handshake_timeout=self.limits.handshake_timeout,
                               max_body=self.limits.max_frame_body, tap=self._tap,
                               on_bytes=count, control=control, on_raw=handshake_over)
        finally:
            with contextlib.suppress(ValueError):
                reg.handshaking.remove(control)
            await self._count_guess(reg.code, ip, control, raw=is_spliced(writer))
            self._pairs.discard(stop)
            if not self._pairs:
                self._no_pairs.set()
            self.metrics.pair(-1)
            if not is_spliced(host_writer):
                await close_writer(host_writer, 0.2)
            if not is_spliced(writer):
                await close_writer(writer, 0.2)
            done.set()
            if why == "half-closed":
                self.stats.half_closed_cuts += 1
            log_event("pair_end", session=self._tag(reg.code), addr=ip, why=why, bytes=forwarded,
                      seconds=round(loop.time() - started, 3))

    def _evict_one(self, reg: Registration) -> bool:
        if reg.evict_handshake(asyncio.get_running_loop().time(), STALL_GRACE):
            self.stats.evicted += 1
            log_event("handshake_evicted", logging.WARNING, session=self._tag(reg.code))
            return True
        return False

    async def _count_guess(self, code: str, ip: str, control: PairControl, *,
                           raw: bool) -> None:
        """A completed handshake clears the guess count of its address on the
        code; one that ended after the viewer's PAKE message without
        completing adds one to it."""
        if not raw and control.frames["viewer->host"] < 2:
            return  # never guessed (a parked or cut HELLO): not a guess
        if not raw:
            self.stats.failed_handshakes += 1
            log_event("guess_failed", logging.WARNING, session=self._tag(code))
        with contextlib.suppress(DirectoryUnavailableError):
            await self._dir("limit", self._shared.guessed(code, ip, right=raw))

    async def _serve_host_data(self, reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter, ip: str, code: str,
                               join_id: bytes) -> None:
        reg = self._sessions.get(code)
        match = None
        if reg is not None:
            for pending_id, fut, _ in reg.pending:
                if hmac.compare_digest(pending_id, join_id) and not fut.done():
                    match = fut
        if match is None:
            if (reg is None and await self._joined_in_cluster(code, join_id)
                    and await self._redirect(writer, code, ip, "host data")):
                return
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, "no such pending viewer", ip,
                               session=code)
            return
        done = asyncio.Event()
        # From now on the pair counts against the viewer's address, not the host's.
        self._uncounted.add(writer)
        _add(self._per_address, address_key(ip), -1)
        match.set_result((reader, writer, done))
        await done.wait()  # the viewer's task forwards, and closes us when done


async def _stop(task: asyncio.Future[None]) -> None:
    """Cancel ``task`` until it has ended. Once is not always enough: on
    Python 3.11 ``asyncio.wait_for`` (around each Redis directory call)
    swallows a cancellation that lands as the call completes, and the
    heartbeat would beat on while close() waited for it."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    await asyncio.gather(task, return_exceptions=True)


def _ended_before_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """The peer's connection ended (a reset, or a FIN after its opening
    frame) before the relay acted on that frame."""
    return writer.is_closing() or reader.exception() is not None or reader.at_eof()


def _unpaired(pairing: Pairing) -> None:
    """A host's data connection that came as its viewer's join was
    cancelled (the relay closing): closed, and its task let go."""
    pairing[1].close()
    pairing[2].set()


def _not_heard(seconds: float) -> str:
    return f"the host has not been heard from for {seconds:.0f} s"


def _add(counts: dict[str, int], key: str, n: int) -> None:
    """Add ``n`` to ``counts[key]``, dropping keys that reach 0."""
    left = counts.get(key, 0) + n
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


async def run_relay(host: str = "0.0.0.0", port: int = 7390, *,
                    limits: RelayLimits | None = None,
                    ready: Callable[[Relay], None] | None = None,
                    directory: Directory | None = None,
                    advertise: str | None = None,
                    public_names: Sequence[str] = ()) -> None:
    """Run a relay until cancelled (for embedding; the CLI adds signals)."""
    relay = Relay(host, port, limits=limits, directory=directory, advertise=advertise,
                  public_names=public_names)
    await relay.start()
    try:
        if ready is not None:
            ready(relay)
        await asyncio.Event().wait()
    finally:
        await relay.close()
