"""The relay's host side (:mod:`.server`): a host's control connection
(its claim, RELAY_OK, pings and pongs, its release; what its end tells
viewers and the cluster), and a host's data connection matched to its
waiting viewer's join.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import socket
import time

from screencodec.errors import ProtocolError, SessionClosedError, TransportError
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.framing import FrameType, RefuseCode, read_frame
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.relay.admission import RelayAdmission, _add
from screencodec.transport.relay.cluster import MEMBERS_WAIT
from screencodec.transport.relay.directory import ClaimResult, DirectoryUnavailableError
from screencodec.transport.relay.observe import log_event
from screencodec.transport.relay.protocol import (
    RECOVERING,
    RELAY_RELEASE,
    address_key,
    claim_verifier,
    encode_pong,
    encode_recovering,
    encode_viewer_ok,
    pair_tag,
    release_words,
)
from screencodec.transport.relay.refusals import _ENDED, _SHUTTING_DOWN
from screencodec.transport.relay.sessions import Registration, Settling

__all__ = ["RelayHosts"]


class RelayHosts(RelayAdmission):
    """A host's connections, for :class:`~.server.Relay`."""

    async def _serve_host_control(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ip: str,
        code: str,
        secret: bytes,
    ) -> None:
        if not await self._register_allowed(ip):
            await self._refuse(
                writer,
                RefuseCode.RATE_LIMITED,
                "too many registrations from this address; wait a minute",
                ip,
                session=code,
            )
            return
        if _ended_before_read(reader, writer):
            # A registration sent before this relay stopped (SIGSTOP, a VM
            # paused) and read as it woke, its host gone elsewhere since
            # (reset: relay_race gives up on a silent relay): claimed, it
            # took the code from the relay the host is at, and viewers were
            # told "no such session code" until that relay's heartbeat
            # (review43). Nobody is there to take it.
            log_event(
                "unregistered", session=self._tag(code), addr=ip, why="gone before it was read"
            )
            return
        verifier = claim_verifier(code, secret)
        mark = secrets.token_bytes(8)  # this registration's claim (unclaim)
        settled = self._settling.setdefault(code, Settling())
        settled.claims += 1
        try:
            result = await self._claim_here(reader, writer, ip, code, verifier=verifier, mark=mark)
        finally:
            # No await from here to the registration below: a viewer that
            # waited for the code's claims finds it served, or the claim
            # given back.
            settled.claims -= 1
            if not settled.claims:
                del self._settling[code]
                settled.set()
        if result is None:
            return
        if self._draining:
            # Answered after a drain began: handed back as the drain hands
            # its served hosts, the claim left for the host to reclaim
            # elsewhere. Before (review47) it was served by a relay that no
            # longer listened, and told of viewers it could not dial back for.
            await self._refuse(writer, RefuseCode.BUSY, _SHUTTING_DOWN, ip, session=code)
            return
        old = self._sessions.get(code)
        if old is not None:
            old.writer.close()  # the same host again: its old link is dead
        reg = Registration(code, verifier, writer, address_key(ip))
        self._sessions[code] = reg
        self.ended.registered(code)
        self._wake_held(code)  # joins held for the host (viewers.py _host_back)
        self.stats.registrations += 1
        if result is ClaimResult.RECLAIMED:
            self.stats.reclaims += 1
        self.metrics.sessions(len(self._sessions))
        log_event("registered", session=self._tag(code), addr=ip, claim=result.value)
        why = "closed"
        words = ""  # what a viewer naming the code is told once it ended (_ENDED)
        answered = time.monotonic()
        heard = False  # a frame from the host since RELAY_OK
        broke = False  # its connection reset or broke (not closed here, not a FIN)
        try:
            # As a viewer's: the registration's pair tag and the cluster's
            # relays, where the host goes when this relay stops (failover42;
            # a host before it reads no body).
            writer.write(encode_viewer_ok(pair_tag(verifier), self._cluster()))
            while True:
                try:
                    ftype, body = await wait_for(
                        read_frame(reader, HANDSHAKE_FRAME_MAX), self.limits.control_idle_timeout
                    )
                except asyncio.TimeoutError:
                    why = "idle"
                    raise
                except SessionClosedError:
                    # The host's machine closed it (FIN), not this relay (a
                    # drain, the same host again) and not a reset or silence
                    # (a line that may come back): its program stopped.
                    if reader.at_eof() and not writer.is_closing():
                        why = "closed by the host"
                    else:
                        # A reset (the reader holds its error), not this
                        # relay's own close (a drain, the same host again).
                        broke = reader.exception() is not None
                    raise
                heard = True
                if ftype == RELAY_RELEASE:
                    why, words = "released", release_words(body)
                    with contextlib.suppress(DirectoryUnavailableError):
                        await self._dir(
                            "end",
                            self.directory.end(code, verifier, words, self.limits.ended_memory),
                        )
                    return
                if ftype != FrameType.RELAY_PING:
                    why = f"unexpected frame {ftype}"
                    raise ProtocolError(f"unexpected frame {ftype} on a control connection")
                reg.heard = time.monotonic()
                if writer.is_closing():
                    # A ping read before the reset that followed it (a host
                    # gone while this relay was stopped): uvloop raises on a
                    # write to it, logged as a relay bug (lead45).
                    raise SessionClosedError("the host's control connection closed")
                # The cluster as known now (relay43): a relay that joined
                # since the host registered is one it may move to.
                writer.write(encode_pong(pair_tag(verifier), self._cluster()))
                await writer.drain()
        finally:
            if (broke and not heard and not reg.attached and result is ClaimResult.RECLAIMED
                    and not self._draining and self._sessions.get(code) is reg
                    and time.monotonic() - answered < ANSWERED_DOUBT):  # fmt: skip
                # Reset before the host said a word or took a viewer, a
                # round trip after RELAY_OK: the host's race gave up on
                # this relay as it answered (relay46; the reset came after
                # the check above). Its claim, a move from the relay the
                # host is at, would name this one, which holds nothing,
                # until that relay's heartbeat cut the host: it goes back,
                # as one reset during the claim does. A new claim is left
                # (the host's next registration moves it; joinlimit's host,
                # cut before its first ping, is told lost from it). Told
                # lost below all the same (relaynames' agent is told so);
                # a viewer is redirected first where a claim is.
                why = "gone as it was answered"
                with contextlib.suppress(DirectoryUnavailableError):
                    await self._dir(
                        "unclaim",
                        self.directory.unclaim(
                            code, verifier, self.advertise, self.limits.claim_ttl, mark=mark
                        ),
                    )
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
                    if why == "released":  # not coming back: held joins are told now
                        self._wake_held(code)
                    self.ended.ended(
                        code, words, released=why == "released", tag=pair_tag(verifier)
                    )
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

    def _wake_held(self, code: str) -> None:
        """The joins held for ``code``'s host (viewers.py _host_back) look again."""
        back = self._back.pop(code, None)
        if back is not None:
            back.set()

    async def _claim_here(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ip: str,
        code: str,
        *,
        verifier: bytes,
        mark: bytes,
    ) -> ClaimResult | None:
        """Claim ``code`` for a registration here; None when it was refused
        (told why) or its host went during the claim (the claim given
        back). While this awaits the directory, the code is in
        :attr:`_settling`: a viewer naming it waits for the outcome rather
        than being told "no such session code" by a claim that names this
        relay before the registration is served (lead47)."""
        # Read with the claim: its RELAY_OK tells the host the cluster's
        # relays (a relay that joined since the last heartbeat too).
        members = self._members_now()
        try:
            result = await self._dir(
                "claim",
                self.directory.claim(
                    code, verifier, self.advertise, self.limits.claim_ttl, mark=mark
                ),
            )
        except DirectoryUnavailableError:
            await self._refuse(
                writer, RefuseCode.BUSY, "session directory unavailable", ip, session=code
            )
            return None
        if result is ClaimResult.RECOVERING:  # retried: as the grace ends, or the backoff
            await self._refuse(
                writer,
                RefuseCode.BUSY,
                RECOVERING,
                ip,
                session=code,
                body=encode_recovering(await self._grace_left()),
            )
            return None
        if result is ClaimResult.IN_USE:
            await self._refuse(
                writer, RefuseCode.CODE_IN_USE, "session code in use", ip, session=code
            )
            return None
        # Before the code is served: a RELAY_INCOMING must not go out first.
        await asyncio.wait({members}, timeout=MEMBERS_WAIT)
        if _ended_before_read(reader, writer):
            # Reset while the claim awaited the directory (the host's race
            # gave up on this relay, slow for the claim): the claim, a move
            # from the relay the host is at, would name this one, which
            # holds nothing, until that relay's heartbeat cut its host, and
            # viewers here were told "no such session code" (relay44: 8 of
            # 8 samples over 4 s). It goes back to what it replaced.
            with contextlib.suppress(DirectoryUnavailableError):
                await self._dir(
                    "unclaim",
                    self.directory.unclaim(
                        code, verifier, self.advertise, self.limits.claim_ttl, mark=mark
                    ),
                )
            log_event("unregistered", session=self._tag(code), addr=ip, why="gone during its claim")
            return None
        return result

    async def _serve_host_data(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        ip: str,
        code: str,
        join_id: bytes,
    ) -> None:
        reg = self._sessions.get(code)
        match = None
        if reg is not None:
            for pending_id, fut, _ in reg.pending:
                if hmac.compare_digest(pending_id, join_id) and not fut.done():
                    match = fut
        if match is None:
            if (
                reg is None
                and await self._joined_in_cluster(code, join_id)
                and await self._redirect(writer, code, ip, "host data")
            ):
                return
            await self._refuse(
                writer, RefuseCode.UNKNOWN_SESSION, "no such pending viewer", ip, session=code
            )
            return
        done = asyncio.Event()
        # From now on the pair counts against the viewer's address, not the host's.
        self._uncounted.add(writer)
        _add(self._per_address, address_key(ip), -1)
        if reg is not None:  # it is: the match is one of its joins
            reg.attached = True
        match.set_result((reader, writer, done))
        await done.wait()  # the viewer's task forwards, and closes us when done


#: Seconds after a registration's RELAY_OK within which its connection's
#: reset, before any frame from the host, is taken for the host's race
#: giving up on this relay as it answered (relay46) rather than for a line
#: that broke: a reset sent before the RELAY_OK arrived, or answering it
#: (the host's socket closed), comes back within a round trip; a host pings
#: first after 10 s.
ANSWERED_DOUBT = 1.0


def _ended_before_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """The peer's connection ended (a reset, or a FIN after its opening
    frame) before the relay acted on that frame. The kernel is asked too:
    the event loop hands on the bytes it read before the reset that
    followed them, and the reader learns of the reset only at its next
    read (lead45: 1 of 6 runs of review43's test, the abandoned
    registration claimed and served)."""
    return (writer.is_closing() or reader.exception() is not None or reader.at_eof()
            or _kernel_closed(writer))  # fmt: skip


#: linux/tcp.h's TCP_CLOSE (reset, or both sides closed) and TCP_CLOSE_WAIT
#: (the peer's FIN read by the kernel).
_TCP_CLOSED_STATES = (7, 8)


def _kernel_closed(writer: asyncio.StreamWriter) -> bool:
    """Whether the kernel holds ``writer``'s TCP connection reset or closed
    by the peer (``TCP_INFO``'s ``tcpi_state``; False where it cannot say)."""
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "TCP_INFO", None)
    if sock is None or option is None:
        return False
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, 8)
    except (OSError, ValueError):
        return False
    return len(info) > 0 and info[0] in _TCP_CLOSED_STATES
