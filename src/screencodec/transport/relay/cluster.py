"""The relay's side of its cluster (:mod:`.server`): calls to the session
directory (timed, counted, logged), the heartbeat that renews this relay's
claims and says it is a member, the cluster's key (session tags, join ids
any relay of the cluster can verify), the members a paired client is told,
and what the cluster is told, or asked, of sessions that ended or were lost.

:class:`RelayCluster` is the lowest of :class:`~.server.Relay`'s layers; it
declares (annotations only) the relay's state, which ``Relay.__init__`` sets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Coroutine, Mapping
from typing import Any, TypeVar

from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.limits import AttemptLimiter
from screencodec.transport.relay.directory import Directory, DirectoryUnavailableError
from screencodec.transport.relay.limits import RelayLimits, SharedLimits
from screencodec.transport.relay.observe import RelayMetrics, RelayStats, log_event
from screencodec.transport.relay.protocol import TOKEN_SIZE, pair_tag
from screencodec.transport.relay.sessions import EndedSessions, HostBack, Registration, Settling
from screencodec.transport.relay.splice import Tap

__all__ = ["MEMBERS_WAIT", "RENEW_RETRY", "RelayCluster", "session_tag"]

T = TypeVar("T")
#: Seconds after a failed renewal of its claims before a relay tries again
#: (at most ``claim_ttl / 3``, its heartbeat).
RENEW_RETRY = 1.0
#: Seconds a viewer's RELAY_OK may wait, once its host is there, for the
#: cluster's members read when it arrived (one directory round trip, begun
#: while the host answers); past it, those read last are told. A host's
#: RELAY_OK waits as long, after its claim, for the read begun with it.
MEMBERS_WAIT = 0.25


def session_tag(code: str, key: bytes) -> str:
    """What the log says for a session code: 6 hex digits of a keyed hash.

    Never the code itself: a code and a guessed password are a way in, and
    logs are read by more people than should hold codes. Keyed with a random
    key (an unkeyed hash of a 9-digit code is undone by trying all 10**9)
    that the relays sharing a directory share (``Directory.log_key``), so the
    lines of one session share their tag on every relay of a cluster.
    """
    return hmac.new(key, code.encode(), "sha256").hexdigest()[:6]


class RelayCluster:
    """The directory and the cluster, for :class:`~.server.Relay` (its state
    is the relay's, described in ``Relay.__init__``)."""

    _host: str
    _port: int
    limits: RelayLimits
    _tap: Tap | None
    directory: Directory
    _advertise: str | None
    public_names: tuple[str, ...]
    _server: asyncio.Server | None
    _sessions: dict[str, Registration]
    _settling: dict[str, Settling]
    _back: dict[str, HostBack]
    _tasks: set[asyncio.Task[None]]
    _writers: set[asyncio.StreamWriter]
    _pairs: set[asyncio.Event]
    _no_pairs: asyncio.Event
    _per_address: dict[str, int]
    _uncounted: set[asyncio.StreamWriter]
    _announced: dict[str, int]
    _held: dict[str, int]
    _shared: SharedLimits
    _fallback_joins: AttemptLimiter
    _fallback_rejoins: AttemptLimiter
    _fallback_regs: AttemptLimiter
    _heartbeat: asyncio.Task[None] | None
    _draining: bool
    _closed: bool
    ended: EndedSessions
    stats: RelayStats
    metrics: RelayMetrics
    recovering_at_start: float
    caveat: str
    _tag_key: bytes
    _old_tag_key: bytes
    _old_key_until: float
    _rereading_key: asyncio.Future[None] | None
    _key_read_at: float
    _renewing: asyncio.Future[None] | None
    _members: tuple[str, ...]
    _reading_members: asyncio.Future[None] | None
    _background: set[asyncio.Future[None]]

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
        return hmac.new(
            key or self._tag_key, b"screencodec relay join\0" + code.encode() + nonce, "sha256"
        ).digest()[: TOKEN_SIZE // 2]

    def _mac_verifies(self, code: str, join_id: bytes) -> bool:
        half = TOKEN_SIZE // 2
        keys = [self._tag_key]
        if self._old_tag_key and asyncio.get_running_loop().time() < self._old_key_until:
            keys.append(self._old_tag_key)
        return any(
            hmac.compare_digest(join_id[half:], self._join_mac(code, join_id[:half], k))
            for k in keys
        )

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
        if self._rereading_key is None or (
            self._rereading_key.done() and loop.time() - self._key_read_at >= 1.0
        ):
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
                self._old_key_until = (
                    asyncio.get_running_loop().time()
                    + self.limits.claim_ttl / 3
                    + self.limits.pair_timeout
                )
            self._tag_key = key

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
                lost = await self._dir(
                    "renew", self.directory.renew(claims, self.advertise, self.limits.claim_ttl)
                )
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
        self._drop_lost(
            claims,
            await self._dir(
                "renew", self.directory.renew(claims, self.advertise, self.limits.claim_ttl)
            ),
        )
        await self._share_tag_key()
        await self._announce()

    async def _announce(self) -> None:
        """Say in the directory that this relay is one of the cluster (for a
        claim's lifetime: renewed at every heartbeat), and read who else is."""
        with contextlib.suppress(DirectoryUnavailableError):
            await self._dir(
                "announce", self.directory.announce(self.advertise, self.limits.claim_ttl)
            )
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
            await self._dir(
                "end",
                self.directory.end(
                    code, verifier, why, self.limits.ended_memory, relay=self.advertise
                ),
            )

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
            await self._dir(
                "lost",
                self.directory.lost(
                    code,
                    verifier,
                    time.monotonic() - heard,
                    self.limits.lost_memory,
                    relay=self.advertise,
                ),
            )
