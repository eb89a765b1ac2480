"""The relay's viewer side (:mod:`.server`): a viewer's join (paired here,
redirected, held, or refused, and in what words), then the pair forwarded
(splice.py) with its handshake's allowance, and the guess it counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from typing import Literal

from screencodec.errors import TransportError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.framing import (
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    write_open,
)
from screencodec.transport.relay.admission import RelayAdmission, _add, hung_up
from screencodec.transport.relay.cluster import MEMBERS_WAIT
from screencodec.transport.relay.directory import DirectoryUnavailableError
from screencodec.transport.relay.observe import log_event
from screencodec.transport.relay.protocol import (
    DIRECTORY_UNAVAILABLE,
    HOST_NOT_BACK_YET,
    address_key,
    encode_viewer_ok,
    pair_tag,
)
from screencodec.transport.relay.refusals import _SHUTTING_DOWN, _TOO_MANY_JOINS, _not_heard
from screencodec.transport.relay.sessions import (
    EvictedError,
    HostBack,
    Pairing,
    Registration,
)
from screencodec.transport.relay.splice import PairControl, PairStreams, is_spliced, splice

__all__ = ["RESUME_ANSWER", "STALL_GRACE", "RelayViewers"]

#: Seconds a handshake may wait on its viewer, on top of twice the viewer's
#: own round trip, before a newcomer may cut it: far longer than a real
#: viewer takes to compute its PAKE answer (sessions.py, evict_handshake).
STALL_GRACE = 1.0

#: Seconds at most a viewer waits for a registration of its code here to be
#: claimed (a directory's round trip as a rule; a stalled one's timeout).
SETTLE_MOST = 10.0


#: How a join's hold for its host (_host_back) went: not held; held, the
#: host still lost (or back: the registration is returned too); held, the
#: host gone for good (it released its code, or its own close was not
#: followed by a new registration within host_gone_after); held, its viewer
#: hung up (nothing is told it, and its host is not asked for it).
_Held = Literal["no", "lost", "ended", "left"]

#: Seconds a hold for a host whose own side closed its connection lasts
#: past host_gone_after from the close: the relay's timers may fire a
#: moment early (uvloop's have milliseconds), and the end is told only
#: once that time has passed (EndedSessions.why).
_PAST_END = 0.05

#: Seconds at most a join naming a registration (an agent coming back) is
#: held for its lost host before it is told: an agent's reconnection
#: (connect/reconnect.py) gives each attempt at least ATTEMPT_AT_LEAST, 5 s,
#: the one as its window ends too, and an attempt held past that ended in
#: "no answer within N s", not the relay's words (resume52: the page of
#: test_pagewords_reconnect.py, a 5 s window, the host never back). Its
#: next attempt comes at once (an agent spaces its attempts from their
#: start, connect/reconnect.py) and is held again, for as long as the loss
#: is remembered (lost_memory, resume52b; lost_hold before).
RESUME_ANSWER = 4.0

#: A join's host data streams, its pair's done event, the cluster's member read.
_Paired = tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Event, "asyncio.Future[None]"]


class RelayViewers(RelayAdmission):
    """A viewer's join and its pair, for :class:`~.server.Relay`."""

    async def _serve_viewer(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ip: str,
        code: str,
        tag: bytes,
    ) -> None:
        # A join is counted once, where it is decided (paired here, or
        # refused as unknown or ended), never where it is only redirected:
        # the relay it is sent to counts it. The session's guess budget is
        # checked only where the session is served.
        named = tag if any(tag) else None
        held_at: float | None = None  # when a hold for its lost host began
        # An agent coming back is answered within RESUME_ANSWER of its join.
        answer_by = None if named is None else time.monotonic() + RESUME_ANSWER
        reg, _ = await self._settled(code)
        if reg is None:
            if await self._redirect(writer, code, ip, "viewer", named):
                return
            # A registration of the code may have begun here while the
            # directory answered (its claim then named this relay): the
            # agent dialling the relay its host moves to (flake47b,
            # failover42_cli: 1 of 12 runs at load 7-10).
            reg, waited = await self._settled(code)
            if reg is None and waited and await self._redirect(writer, code, ip, "viewer", named):
                return
            if self._draining:  # its registration answered as a drain began (hosts.py)
                await self._refuse(writer, RefuseCode.BUSY, _SHUTTING_DOWN, ip, session=code)
                return
            async with contextlib.aclosing(self._claim_may_come(ip, reader)) as looks:
                async for left in looks:
                    if left:  # counted all the same, as a join told is
                        self._left(code, ip)
                        await self._join_allowed(ip, None)
                        return
                    reg = self._sessions.get(code)
                    if reg is None and await self._redirect(writer, code, ip, "viewer", named):
                        return
                    if reg is not None:
                        break
            if reg is None:
                # A join as its host's connection was lost just now (a Wi-Fi
                # roam, a NAT rebind): held for it to register again, a
                # first join (grace51) or an agent coming back, naming the
                # registration it was in (resume52: told at once how long
                # the host had not been heard from, it retried on its own
                # schedule, 0.25 s doubling to 4 s, and its picture came
                # back up to 4 s after its host). Not paired, each is told
                # what it was told before: a viewer naming no registration
                # learns nothing of a lost host's silence, an agent how
                # long its host has not been heard from, or that it ended.
                held_at = time.monotonic()
                reg, held = await self._host_back(
                    reader, code, ip, named, agent=named is not None, until=_earlier(
                        held_at + self.limits.pair_timeout, answer_by))
                if held == "left":  # counted all the same, as a join told is
                    await self._join_allowed(ip, named)
                    return
                if reg is None and held != "no" and await self._redirect(
                        writer, code, ip, "viewer", named):  # fmt: skip
                    return  # it came back at another relay of the cluster
            if reg is None and self._draining:  # held as a drain began (server.drain wakes it)
                await self._refuse(writer, RefuseCode.BUSY, _SHUTTING_DOWN, ip, session=code)
                return
            if reg is None:
                await self._refuse_absent(writer, ip, code, named)
                return
        known = named if named is not None and hmac.compare_digest(
            named, pair_tag(reg.verifier)) else None  # fmt: skip
        if not await self._join_allowed(ip, known):
            await self._refuse(writer, RefuseCode.RATE_LIMITED, _TOO_MANY_JOINS, ip, session=code)
            return
        if not await self._guesses_left(code, ip):
            await self._refuse(
                writer,
                RefuseCode.RATE_LIMITED,
                "too many failed attempts on this session from this address; wait a minute",
                ip,
                session=code,
            )
            return
        # One join, counted above once, waits pair_timeout in all, through
        # any hold for its host (the viewer waits 20 s for an answer).
        until = (held_at or time.monotonic()) + self.limits.pair_timeout
        while True:
            pairing = await self._tell_host(reader, writer, reg, ip, until)
            if not isinstance(pairing, Registration):
                break
            gone = pairing
            # The host's connection was lost while the join waited for it
            # (grace51: "the host went away" to an agent whose customer's
            # host was back 0.3 s later): held for the same host to
            # register again, then told it; else refused as before.
            reg, held = await self._host_back(
                reader, code, ip, pair_tag(gone.verifier), gone=gone,
                agent=known is not None, until=_earlier(until, answer_by))  # fmt: skip
            if held == "left":
                return
            if reg is None:
                aside = " (its connection to the relay was lost)" if held == "lost" else ""
                await self._refuse(
                    writer,
                    RefuseCode.UNKNOWN_SESSION,
                    "the host went away: " + _not_heard(time.monotonic() - gone.heard) + aside,
                    ip,
                    session=code,
                )
                return
        if pairing is None:
            return
        host_reader, host_writer, done, members = pairing
        await asyncio.wait({members}, timeout=MEMBERS_WAIT)
        await self._forward(reg, ip, PairStreams(reader, writer, host_reader, host_writer), done)

    async def _tell_host(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reg: Registration,
        ip: str,
        until: float,
    ) -> _Paired | Registration | None:
        """A counted join of ``reg``'s code told to its host (RELAY_INCOMING),
        waiting for the host's data connection until ``until`` (monotonic):
        the host's data streams, its pair's done event and the cluster's
        member read; ``reg`` if its registration ended meanwhile (or its
        connection could not be written: lost while the join awaited the
        directory); None once the viewer was refused (told why), or hung up
        (its viewer's stream ``reader`` watched meanwhile: resume52b, a join
        whose viewer was gone kept its address's place among the code's
        pending joins to its pair_timeout, and the host's dial for it was
        paired with nobody; now the dial is refused "no such pending
        viewer")."""
        code = reg.code
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
        hung = asyncio.ensure_future(hung_up(reader))
        taken = False  # the host's data connection handed on
        try:
            incoming = encode_frame(FrameType.RELAY_INCOMING, join_id + ip.encode()[:64])
            if not write_open(reg.writer, incoming):  # reset while this join awaited the directory
                raise TransportError("the host's control connection closed")
            watched: set[asyncio.Future[object]] = {fut, hung}  # type: ignore[arg-type]
            await asyncio.wait(watched, timeout=max(0.0, until - time.monotonic()),
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            if hung.done():  # paired or not, with nobody to forward to
                self._left(code, ip)
                return None
            if not fut.done():
                raise asyncio.TimeoutError
            host_reader, host_writer, done = fut.result()
            taken = True
        except asyncio.TimeoutError:
            # No parentheses: a viewer shows these words inside its own.
            await self._refuse(
                writer,
                RefuseCode.TIMEOUT,
                "the host did not answer: " + _not_heard(time.monotonic() - reg.heard),
                ip,
                session=code,
            )
            return None
        except EvictedError as exc:
            await self._refuse(writer, RefuseCode.BUSY, str(exc), ip, session=code)
            return None
        except TransportError:
            return reg
        finally:
            _add(self._announced, reg.host_key, -1)
            with contextlib.suppress(ValueError):
                reg.pending.remove(entry)
            if not fut.done():  # a dial for it now is refused (hosts.py)
                fut.cancel()
            elif not taken and not fut.cancelled() and fut.exception() is None:
                _unpaired(fut.result())  # its viewer gone, or the relay closing
            hung.cancel()
            # Its read let go of the stream before splice reads it (a
            # StreamReader takes one waiter at a time).
            await asyncio.wait({hung})
        return host_reader, host_writer, done, members

    async def _host_back(
        self,
        reader: asyncio.StreamReader,
        code: str,
        ip: str,
        tag: bytes | None,
        *,
        gone: Registration | None = None,
        agent: bool = False,
        until: float | None = None,
    ) -> tuple[Registration | None, _Held]:
        """A registration of ``code`` that came back here while a join from
        ``ip`` (its viewer's stream ``reader``) was held for it, and how the
        hold went (:data:`_Held`). Held while its host's connection, lost
        (a reset, silence, or its own close within host_gone_after:
        EndedSessions.silent_for, of the registration of pair tag ``tag``,
        or any if None) or ``gone`` (the registration the join was announced
        to, which ended or cannot be written: one of the same host only, the
        same verifier), was lost less than ``RelayLimits.lost_hold`` ago,
        and at most until ``until`` (monotonic): a host retries 0.2 s after
        it lost a registration, doubling. A host whose own side closed its
        connection is waited for no longer than ``host_gone_after`` from
        its close, when it is taken for gone (resume52: up to lost_hold
        before); one that released its code, not at all. Not while
        draining; nor for a join not counted yet (``gone`` None) from an
        address past its joins, nor more than ``max_pending_per_address``
        of one address held at once (those are told at once): a stranger
        parks no more here than at a host. A join whose viewer hangs up
        meanwhile is dropped at once (resume52: it stayed held, counted
        against its address, and was told to the host come back). Any join
        of a code whose host is lost is held alike: it learns that the code
        was live, and, by when it is answered, about when its host was lost
        and whether by its own close or a dropped link (attack52: a strict
        xfail, docs/relay.md).

        ``agent``: the join names the registration ``tag`` (checked: only
        that registration's loss is looked up, or it is the registration
        the join was told to), an agent coming back: held for as long as
        the loss is remembered (``lost_memory``), not ``lost_hold`` only
        (resume52b: past 8 s it was told at once and retried on its own
        schedule, its picture up to 4.8 s after its host); its ``until``
        (RESUME_ANSWER) bounds each of its joins. A first join keeps
        ``lost_hold``: someone who knows only the code camps on it no
        longer than before."""
        current = self._sessions.get(code)
        if current is not None and current is not gone:  # the host is back already
            return (current, "lost") if _same_host(current, gone, tag) else (None, "lost")
        # The registration the join was told to may still be served while
        # its end is read (its write failed): lost now.
        silent = 0.0 if current is not None else self.ended.silent_for(code, tag)
        if silent is None or self._draining:
            return None, "no"
        if self.limits.lost_hold <= 0:  # holds nothing
            left = 0.0
        elif agent:
            kept = self.ended.lost_left(code, tag) if current is None else None
            left = self.limits.lost_memory if kept is None else kept
        else:
            left = self.limits.lost_hold - silent
        if until is not None:
            left = min(left, until - time.monotonic())
        ends = self.ended.ends_in(code, tag)
        if ends is not None:  # its program stopped: gone unless back by then
            left = min(left, ends + _PAST_END)
        key = address_key(ip)
        if left <= 0 or (gone is None and not await self._join_left(ip, tag)):
            return None, self._hold_end(code, tag)
        # Checked and counted with no await between (as _claim_may_come).
        if self._held.get(key, 0) >= self.limits.max_pending_per_address:
            return None, self._hold_end(code, tag)
        back = self._back.get(code)
        if back is None:
            back = self._back[code] = HostBack()
        back.waiting += 1
        _add(self._held, key, 1)
        self.stats.held_for_host += 1
        log_event("held_for_host", session=self._tag(code), addr=ip, seconds=round(left, 1))
        hung = asyncio.ensure_future(hung_up(reader))
        woken = asyncio.ensure_future(back.wait())
        try:
            await asyncio.wait({hung, woken}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        finally:
            _add(self._held, key, -1)
            back.waiting -= 1
            if not back.waiting and self._back.get(code) is back:
                del self._back[code]
            hung.cancel()
            woken.cancel()
            # Its read let go of the stream before anything else reads it
            # (a StreamReader takes one waiter at a time).
            await asyncio.wait({hung, woken})
        if (not hung.cancelled() and hung.done()) or reader.at_eof():
            self._left(code, ip)
            return None, "left"
        reg = self._sessions.get(code)
        if reg is None or reg is gone or not _same_host(reg, gone, tag):
            return None, self._hold_end(code, tag)
        return reg, "lost"

    def _left(self, code: str, ip: str) -> None:
        """A join from ``ip`` whose viewer hung up while it waited (held for
        its host or its code's claim, or told to its host): dropped."""
        self.stats.held_left += 1
        log_event("held_left", session=self._tag(code), addr=ip)

    def _hold_end(self, code: str, tag: bytes | None) -> _Held:
        """How a hold for ``code``'s host (the registration of pair tag
        ``tag``, any if None) ended without it: "ended" if that host ended
        its session (released, or its own close not followed by a new
        registration within host_gone_after), else "lost"."""
        return "ended" if self.ended.why(code, tag) is not None else "lost"

    async def _refuse_absent(
        self, writer: asyncio.StreamWriter, ip: str, code: str, named: bytes | None
    ) -> None:
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
            await self._refuse(writer, RefuseCode.RATE_LIMITED, _TOO_MANY_JOINS, ip, session=code)
        elif ended is not None:  # a viewer reconnecting to it need not go on
            await self._refuse(writer, RefuseCode.SESSION_ENDED, ended, ip, session=code)
        elif silent is not None:
            await self._refuse(writer, RefuseCode.UNKNOWN_SESSION, f"{_not_heard(silent)} (its "
                               "connection to the relay was lost)", ip, session=code)  # fmt: skip
        else:
            why, words = await self._unknown_refusal()
            await self._refuse(writer, why, words, ip, session=code)

    async def _unknown_refusal(self) -> tuple[RefuseCode, str]:
        """What a viewer of a code nobody holds is told: while the directory
        recovers (a grace: its relays make their hosts' claims again, or a
        grace with no end set), that the host may not be back yet (relay43:
        a viewer held past a heartbeat that came later than the hold,
        claim_ttl over 52.5 s, was told "no such session code", and a new
        agent gave up on it); while the directory cannot say whether it
        recovers (Redis down or past its timeout), BUSY and that it is
        unavailable, as a viewer whose code's claim could not be looked up
        is told (_redirect): both are words a viewer waits on. Before
        relay49 both were "no such session code". Else that."""
        try:
            left = await self._grace()
        except DirectoryUnavailableError:
            return RefuseCode.BUSY, DIRECTORY_UNAVAILABLE
        return RefuseCode.UNKNOWN_SESSION, HOST_NOT_BACK_YET if left else "no such session code"

    async def _forward(
        self, reg: Registration, ip: str, streams: PairStreams, done: asyncio.Event
    ) -> None:
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
            # Either may have gone meanwhile: splice then ends on its stream.
            write_open(writer, encode_viewer_ok(pair_tag(reg.verifier), self._cluster()))
            write_open(host_writer, encode_frame(FrameType.RELAY_OK))
            why = await splice(
                streams,
                idle_timeout=self.limits.idle_timeout,
                handshake_timeout=self.limits.handshake_timeout,
                max_body=self.limits.max_frame_body,
                tap=self._tap,
                on_bytes=count,
                control=control,
                on_raw=handshake_over,
            )
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
            log_event(
                "pair_end",
                session=self._tag(reg.code),
                addr=ip,
                why=why,
                bytes=forwarded,
                seconds=round(loop.time() - started, 3),
            )

    async def _settled(self, code: str) -> tuple[Registration | None, bool]:
        """The registration serving ``code`` here, once none of its
        registrations here awaits its claim (at most :data:`SETTLE_MOST`),
        and whether it waited for one. In that moment the claim may name this
        relay, which holds nothing yet (or gives the claim back, its host
        gone meanwhile): a viewer was told "no such session code", and an
        agent gives up on that (lead47)."""
        settling = self._settling.get(code)
        if settling is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(settling.wait(), SETTLE_MOST)
        return self._sessions.get(code), settling is not None

    def _evict_one(self, reg: Registration) -> bool:
        if reg.evict_handshake(asyncio.get_running_loop().time(), STALL_GRACE):
            self.stats.evicted += 1
            log_event("handshake_evicted", logging.WARNING, session=self._tag(reg.code))
            return True
        return False

    async def _count_guess(self, code: str, ip: str, control: PairControl, *, raw: bool) -> None:
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


def _earlier(when: float, other: float | None) -> float:
    """The earlier of two deadlines, ``other`` None: none."""
    return when if other is None else min(when, other)


def _same_host(reg: Registration, gone: Registration | None, tag: bytes | None) -> bool:
    """Whether ``reg`` is the same host's registration as ``gone``, or, with
    none, the one of pair tag ``tag`` the join named (any, if None): a join
    told to one host, or an agent held for its own, is never handed to
    another who has only the code (after its claim expired; attack52: a
    held agent was told to, and paired with, whoever registered it next)."""
    if gone is not None:
        return hmac.compare_digest(reg.verifier, gone.verifier)
    return tag is None or hmac.compare_digest(pair_tag(reg.verifier), tag)


def _unpaired(pairing: Pairing) -> None:
    """A host's data connection that came as its viewer's join was
    cancelled (the relay closing): closed, and its task let go."""
    pairing[1].close()
    pairing[2].set()
