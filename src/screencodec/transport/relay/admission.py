"""Who the relay lets in, and how it says no (:mod:`.server`): attempt
limits counted in the directory (registrations, joins, joins back, failed
guesses; an outage falls back to this relay's own counts), a viewer held
while its code's claim may come back after a loss of the directory's keys,
refusals, and redirects to the relay that holds a code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
from collections.abc import AsyncGenerator

from screencodec.transport.aio import wait_for
from screencodec.transport.channel.framing import RefuseCode, send_refusal, write_open
from screencodec.transport.relay.cluster import RelayCluster
from screencodec.transport.relay.directory import DirectoryUnavailableError
from screencodec.transport.relay.limits import rejoin_key
from screencodec.transport.relay.observe import log_event
from screencodec.transport.relay.protocol import (
    DIRECTORY_UNAVAILABLE,
    address_key,
    encode_redirect,
)
from screencodec.transport.relay.refusals import _TOO_MANY_JOINS

__all__ = ["CLAIM_HOLD_MOST", "RelayAdmission"]

#: The longest a viewer is held while its code's claim may come back after
#: a loss of the directory's keys (_claim_may_come), in seconds: inside a
#: viewer's wait for a relay's answer (connect_via_relay: 20 s, each
#: redirect its own). The hold follows the relay's claim_ttl (a heartbeat,
#: claim_ttl / 3, and 0.5 s) up to this: claim_ttl 52.5 s. Before relay43
#: 10 s: with a claim_ttl over 28.5 s a heartbeat came after the hold.
CLAIM_HOLD_MOST = 18.0


class RelayAdmission(RelayCluster):
    """Limits, holds, refusals and redirects, for :class:`~.server.Relay`."""

    async def _claim_may_come(
        self, ip: str, reader: asyncio.StreamReader
    ) -> AsyncGenerator[bool, None]:
        """Once a second, while a code's claim may still come, before a
        viewer (from ``ip``, its stream ``reader``) is told that nobody
        holds it (False), or once it hung up (True, the last: resume52b,
        it stayed held to the end, keeping its address's place): while the
        directory recovers from a loss of its keys, a live host's relay
        makes its claim again at its next heartbeat (or join: _renew_now),
        within ``claim_ttl / 3`` of the loss, so this looks until that much
        has passed since the grace began (and 0.5 s for the renewal), at
        most :data:`CLAIM_HOLD_MOST` (a ``claim_ttl`` over 52.5 s beats
        later: such a viewer is told that its host may not be back yet,
        _unknown_refusal, and retries). Before
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
        # A grace with no end set (NO_END) is held as one that just began.
        since = 0.0 if math.isinf(left) else self.limits.claim_ttl - left
        end = loop.time() + min(CLAIM_HOLD_MOST, most - since)
        key = address_key(ip)
        if loop.time() >= end or not await self._join_left(ip, None):
            return
        # Checked and counted with no await between: a crowd arriving at
        # once is not let past the cap by the looks above.
        if self._held.get(key, 0) >= self.limits.max_pending_per_address:
            return
        _add(self._held, key, 1)
        left = False
        try:
            while (now := loop.time()) < end:
                left = await hung_up_within(reader, min(1.0, end - now))
                if left:
                    break
                yield False
        finally:
            _add(self._held, key, -1)
        if left:
            yield True

    async def _grace_left(self) -> float | None:
        """Seconds the directory's recovering grace has left, as a refused
        host is told (Directory.recovering_left): None if not known. A
        host that is told retries as it ends, and waits as long as it says
        (bounded: registration.RECOVERING_MOST); before relay42 it was told
        nothing, and ``screencodec host`` gave up after a fixed 60 s."""
        try:
            return await self._grace()
        except DirectoryUnavailableError:
            return None

    async def _grace(self) -> float | None:
        """:meth:`_grace_left`, but DirectoryUnavailableError when the
        directory cannot tell: a viewer of a code nobody holds is then told
        so (viewers._unknown_refusal), not "no such session code" (relay49:
        a read that failed was taken for no grace)."""
        return await self._dir("recovering", self.directory.recovering_left())

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

    async def _refuse(
        self,
        writer: asyncio.StreamWriter,
        why: RefuseCode,
        detail: str,
        ip: str,
        session: str = "",
        *,
        body: bytes | None = None,
    ) -> None:
        self.stats.refuse(why)
        self.metrics.refused(why)
        level = logging.WARNING if why == RefuseCode.RATE_LIMITED else logging.INFO
        log_event(
            "refused",
            level,
            reason=why.name,
            session=self._tag(session) if session else "-",
            addr=ip,
            detail=detail,
        )
        await send_refusal(writer, why, detail, body=body)

    async def _redirect(
        self,
        writer: asyncio.StreamWriter,
        code: str,
        ip: str,
        role: str,
        named: bytes | None = None,
    ) -> bool:
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
            # Not known whether (or where) the code is held: words a viewer
            # waits on (protocol.DIRECTORY_UNAVAILABLE), and retries BUSY.
            await self._refuse(writer, RefuseCode.BUSY, DIRECTORY_UNAVAILABLE, ip, session=code)
            return True
        if holder is None or holder.relay == self.advertise:
            return False
        if role == "viewer":
            known = named if named is not None and holder.tag and hmac.compare_digest(
                named, holder.tag) else None  # fmt: skip
            if not await self._join_left(ip, known):
                await self._refuse(
                    writer, RefuseCode.RATE_LIMITED, _TOO_MANY_JOINS, ip, session=code
                )
                return True
        self.stats.redirected += 1
        self.metrics.redirected()
        log_event("redirect", session=self._tag(code), addr=ip, role=role, to=holder.relay)
        if write_open(writer, encode_redirect(holder.relay)):  # the viewer may be gone
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await wait_for(writer.drain(), 1.0)
        return True


async def hung_up_within(reader: asyncio.StreamReader, timeout: float) -> bool:
    """Whether the viewer of a join that waits (for its host, or its code's
    claim) closed or reset its stream, or sent something, within
    ``timeout`` seconds; its stream's read let go of either way (a
    StreamReader takes one waiter at a time)."""
    hung = asyncio.ensure_future(hung_up(reader))
    try:
        await asyncio.wait({hung}, timeout=timeout)
    finally:
        hung.cancel()
        await asyncio.wait({hung})
    return not hung.cancelled()


async def hung_up(reader: asyncio.StreamReader) -> None:
    """Returns once the viewer of a join that waits closed or reset its
    stream, or sent something: a viewer says nothing before the relay's
    answer (connect/relay_open.py), so one that does is no viewer, and what
    it sent is not kept."""
    with contextlib.suppress(OSError, ConnectionError, asyncio.IncompleteReadError):
        await reader.read(1)


def _add(counts: dict[str, int], key: str, n: int) -> None:
    """Add ``n`` to ``counts[key]``, dropping keys that reach 0."""
    left = counts.get(key, 0) + n
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
