"""A host's standing registration at a relay (hosts behind NAT dial out).

See relay/server.py for the relay protocol. One control connection registers the
session code under a *registration secret* drawn here with :mod:`secrets`
(the relay keeps only a hash), so after a cut or a relay restart this host,
and no one else, takes its code back; each RELAY_INCOMING makes the host open
one data connection for that viewer and run the PAKE over it, end to end
through the relay. A relay whose session directory recovers is waited out
(relay42); a host that learns its cluster moves when its relay stops
(failover42).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from screencodec.errors import (
    ProtocolError,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_frame,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect.accept import (
    HostAcceptor,
    OnChannel,
    OnError,
    check_not_ended,
)
from screencodec.transport.connect.relay_cluster import (
    _hostport,
    _this_machine,
    relay_address,
    told_relays,
)
from screencodec.transport.connect.relay_doubt import relay_went_silent
from screencodec.transport.connect.relay_open import (
    RelayRecoveringError,
    _NotARelayError,
    _UnreachedError,
    open_relay,
    reset_stream,
)
from screencodec.transport.connect.relay_race import FIRST_ANSWER, Shunned, first_connected
from screencodec.transport.relay.protocol import (
    RELAY_RELEASE,
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    TOKEN_SIZE,
)

__all__ = [
    "BACKOFF_MAX",
    "RECOVERING_MOST",
    "RECOVERING_UNTOLD",
    "RegistrationState",
    "RelayRegistration",
    "RelayStatus",
    "host_via_relay",
]

#: A host's longest wait between attempts to reach its relay again (s), its
#: ``host_via_relay(backoff_max=...)`` by default. The test suite shortens it
#: for a ``screencodec host`` it starts (a test that restarts the relay and
#: waits for the host to be back) with $SCREENCODEC_TEST_RELAY_BACKOFF_MAX
#: (tests only).
BACKOFF_MAX = float(os.environ.get("SCREENCODEC_TEST_RELAY_BACKOFF_MAX", "10"))

RegistrationState = Literal["connecting", "registered", "backoff", "lost", "closed"]
#: Called when the registration is ``lost``: another registration holds the
#: code (it expired while this host was away, or a relay without a shared
#: directory restarted and someone else registered it first). Return new
#: credentials (a new code) to register those instead, and show them to the
#: user; return None to stay ``lost``.
OnLost = Callable[["RelayRegistration"], "SessionCredentials | None"]
#: A registration cut and taken back within this many seconds (a relay that
#: dropped the connection and answers the next attempt) is not told as lost.
LOST_GRACE = 1.0
#: The longest :meth:`RelayRegistration.wait_registered` waits for a relay
#: whose session directory recovers (s), whatever grace the relay tells:
#: a relay cannot keep its host waiting for good. A grace is the cluster's
#: ``claim_ttl`` (15 s by default).
RECOVERING_MOST = 300.0
#: How long it waits for a relay that says its directory recovers and not
#: for how long (a relay before relay42): what ``screencodec host`` waited.
RECOVERING_UNTOLD = 60.0
#: The soonest a registration tries again after a relay told its grace ends (s).
RECOVERING_RETRY = 0.5


@dataclass(frozen=True, slots=True)
class RelayStatus:
    """Whether the host's session code works at the relay right now, told on
    each change (:meth:`RelayRegistration.add_status_listener`).

    ``reachable`` False: the relay cannot be reached (it went down, the
    network is cut, or the first attempt failed): a viewer who tries the code
    meanwhile is told there is no such session. The registration keeps
    retrying (unless its state is ``lost``: another registration holds the
    code). True: registered (again); ``code`` works. Told once per change,
    never once per retry. ``relay`` is ``HOST:PORT`` as the application gave
    it; ``code`` the display code (``"123 456 789"``); ``error`` why it was
    lost, through ``safe_text`` (a refusal's text comes from the relay), ``""``
    when reachable.

    ``others``: when lost, the other relays (``HOST:PORT``) the registration
    tries after ``relay``: the application's alternates, then those its
    relays told it are of their cluster (failover42). ``moved_from``: when
    reachable again at another relay than the one it had been at, that one
    (``relay`` is where it went), else ``""``.
    """

    reachable: bool
    relay: str
    code: str
    error: str = ""
    others: tuple[str, ...] = ()
    moved_from: str = ""


StatusListener = Callable[[RelayStatus], None]


class RelayRegistration:
    """A host's standing registration at a relay (see :func:`host_via_relay`).

    State machine: ``connecting`` -> ``registered`` (control connection up,
    viewers can join) -> on loss ``backoff`` (sleep 0.2 s doubling to
    ``backoff_max``, with jitter) -> ``connecting`` ... until :meth:`close`
    or the credentials end -> ``closed``; or ``lost`` if the relay says
    another registration holds the code (CODE_IN_USE), where it calls
    ``on_lost`` and stops, or goes on with the new credentials (a new code,
    a new secret) that ``on_lost`` returns. ``registrations`` counts successful registrations, so a
    re-registration after a relay restart is observable.

    Status listeners (:meth:`add_status_listener`) hear when the code stops
    working (a registration cut and not taken back within :data:`LOST_GRACE`,
    or an attempt that failed) and when it works again, once per change.

    Each connection attempt goes to the next of :attr:`addresses`: ``relays``
    (the first is the primary; with a cluster behind one load balancer
    there is just one address), then the relays of its cluster that the
    relay it last registered at listed (:func:`told_relays`), so that a
    host given one relay's own address moves to another when that one
    stops (failover42). The registration secret lives as long as this
    object, which is what lets it reclaim its code on any relay of a
    cluster within the claim's expiry.

    Each RELAY_INCOMING spawns a task that opens a data connection for that
    viewer and runs the host handshake over it; live channels are in
    :attr:`channels`. Channels survive a lost control connection but not a
    relay restart (their TCP streams go with it).
    """

    def __init__(
        self,
        relays: Sequence[tuple[str, int]],
        acceptor: HostAcceptor,
        *,
        ping_interval: float,
        backoff_max: float,
        on_lost: OnLost | None = None,
        follow_cluster: bool = True,
    ) -> None:
        self._relays = list(relays)
        self._follow = follow_cluster
        #: The relays the last RELAY_OK listed that ``relays`` does not hold
        #: (at most protocol.CLUSTER_MOST: it replaces, never adds up).
        self._learnt: list[tuple[str, int]] = []
        #: ``HOST:PORT`` of the relay it was last registered at, and of the
        #: one before if that was another (RelayStatus.moved_from).
        self._last_relay = ""
        self._moved_from = ""
        self._next = 0
        #: Relays that failed lately: tried after the others (relay43).
        self._shunned = Shunned()
        #: The last attempt reached none of them (each attempt tries all).
        self._tried_all = False
        self.relay_host, self.relay_port = self._relays[0]
        self._acceptor = acceptor
        self._secret = secrets.token_bytes(TOKEN_SIZE)
        self._ping_interval = ping_interval
        self._backoff_max = backoff_max
        self._on_lost = on_lost
        self._registered = asyncio.Event()
        self._first_try = asyncio.Event()
        #: Set (and replaced) after every attempt that failed: wait_registered
        #: looks at what it failed with.
        self._tried = asyncio.Event()
        #: While the relay's directory recovers (RelayRecoveringError): the
        #: loop time by which a registration should be through (the grace it
        #: told, and a registration's round trip), and when it was first told.
        self._grace_end: float | None = None
        self._recovering_since: float | None = None
        self._control: asyncio.StreamWriter | None = None
        self._stopping = False  # set by close(); the loops check it
        self._status_listeners: list[StatusListener] = []
        #: The last status told: None before the first, else reachable or not.
        self._told: bool | None = None
        self._lost_timer: asyncio.TimerHandle | None = None
        self._joins: set[asyncio.Task[None]] = set()
        self.state: RegistrationState = "connecting"
        self.registrations = 0
        self.last_error: BaseException | None = None
        #: RELAY_RELEASE's body once the credentials end: why the host ends
        #: its code (relay/protocol.py), which the relay tells an agent
        #: still reconnecting. Empty: its user ended the session.
        self.release_why = b""
        self._task = asyncio.ensure_future(self._run())
        self._closing: asyncio.Task[None] | None = None
        acceptor.credentials.add_end_listener(self._on_end)

    def _on_end(self, credentials: SessionCredentials) -> None:
        # The host ended the session: take the code off the relay right away
        # (unless these are credentials that on_lost already replaced).
        if credentials is self._acceptor.credentials:
            self._closing = asyncio.ensure_future(self.close())

    def add_status_listener(self, listener: StatusListener) -> None:
        """Call ``listener(status)`` (a :class:`RelayStatus`) whenever the code
        stops or starts working at the relay, from now on: once per change,
        not once per retry. Nothing is told after :meth:`close` or once the
        credentials have ended. Exceptions a listener raises are ignored."""
        self._status_listeners.append(listener)

    def _tell(self, reachable: bool, error: BaseException | None = None) -> None:
        """Tell the listeners, if this is a change and the registration goes on."""
        if self._lost_timer is not None:
            self._lost_timer.cancel()
            self._lost_timer = None
        # A move to another relay is told even when the loss was not (back
        # within LOST_GRACE: relay43's hosts move that fast).
        moved = reachable and bool(self._moved_from)
        if (
            (self._told is reachable and not moved)
            or self._stopping
            or (self._acceptor.credentials.ended)
        ):
            return
        self._told = reachable
        why = "" if error is None else safe_text(str(error) or type(error).__name__, 200)
        here = relay_address(self.relay_host, self.relay_port)
        others = (
            ()
            if reachable
            else tuple(_hostport(h, p) for h, p in self.addresses if relay_address(h, p) != here)
        )
        status = RelayStatus(
            reachable,
            f"{self.relay_host}:{self.relay_port}",
            self._acceptor.credentials.display_code,
            why,
            others,
            self._moved_from if reachable else "",
        )
        for listener in list(self._status_listeners):
            with contextlib.suppress(Exception):
                listener(status)

    def _cut(self, error: BaseException | None) -> None:
        """The registration was cut: tell it lost unless it is back within
        :data:`LOST_GRACE` (or an attempt fails first, which tells at once)."""
        if self._stopping or self._acceptor.credentials.ended:
            return  # closed, not cut
        if self._lost_timer is None and self._told is not False:
            self._lost_timer = asyncio.get_running_loop().call_later(
                LOST_GRACE, self._tell, False, error
            )

    @property
    def addresses(self) -> tuple[tuple[str, int], ...]:
        """The relays it tries, in order: those it was given, then those
        learnt from its relay's RELAY_OK."""
        return (*self._relays, *self._learnt)

    def _learn(self, body: bytes, relay: str, port: int) -> None:
        """Keep the cluster a RELAY_OK's ``body`` lists, if it is believed
        (:func:`told_relays`); a relay that tells none (before failover42)
        or garbage leaves what was learnt before. Addresses of this machine
        (loopback, ``localhost``) only from a relay reached at one: a relay
        elsewhere naming them is one without ``--advertise`` (it names its
        bind address), or one pointing the host at its own services."""
        told = told_relays(body)
        if told is None or not self._follow:
            return
        # The first is the relay's own --advertise (protocol.encode_viewer_ok):
        # the same relay by another path, not another relay to go to. A
        # host reaching it through a tunnel or proxy that fails must not
        # come back around it.
        given = {relay_address(*a) for a in self._relays}
        here = _this_machine(relay)
        # The relay it is at, if it learnt it before: it stays one to come
        # back to (found: a host moved to B that B's list named first only
        # forgot B, and after a blip tried nothing but its dead A).
        at = relay_address(relay, port)
        kept = [] if at in given else [at]
        self._learnt = list(
            dict.fromkeys(
                kept + [a for a in told[1:] if a not in given and (here or not _this_machine(a[0]))]
            )
        )

    @property
    def channels(self) -> frozenset[SecureChannel]:
        return frozenset(c for c in self._acceptor.channels if not c.closed)

    async def wait_registered(
        self, timeout: float | None = None, *, recovering_most: float = RECOVERING_MOST
    ) -> None:
        """Wait until the relay has confirmed the registration.

        Fails fast: if the first attempt at each relay fails (nothing listens
        there, not a screencodec relay, refused), raises the last error at
        once instead of waiting out ``timeout``; the registration keeps retrying in the
        background until closed. Later losses do not raise here; they wait.
        A timeout raises TransportError naming the relay.

        A relay whose session directory recovers (a new cluster's first
        ``claim_ttl``, a Redis that restarted or lost its keys) refuses
        registrations for a while and says for how long: that is waited
        out, past ``timeout`` if need be, up to ``recovering_most`` seconds
        from this call (a relay that does not say how long: 60 s,
        :data:`RECOVERING_UNTOLD`); then :class:`RelayRecoveringError`.
        Before relay42 it raised that first refusal at once, and an
        embedder's first customer after a Redis restart was sent away.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = math.inf if timeout is None else start + timeout
        while not self._registered.is_set():
            now = loop.time()
            err = self.last_error
            if (
                isinstance(err, RelayRecoveringError)
                and self._grace_end is not None
                and self.state not in ("lost", "closed")
            ):
                limit = min(start + recovering_most, max(self._grace_end, end))
                if now >= limit:
                    raise self._gave_up(err, now - start)
            else:
                limit = end
                if now >= limit or (
                    not self.registrations and self._first_try.is_set() and err is not None
                ):
                    raise self._not_registered(err)
            waiters = {
                asyncio.ensure_future(event.wait())
                for event in (self._registered, self._tried, self._first_try)
                if not event.is_set()
            }
            try:
                await asyncio.wait(
                    waiters,
                    timeout=None if limit == math.inf else limit - now,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def _not_registered(self, err: BaseException | None) -> BaseException:
        """What wait_registered raises when it fails fast or times out."""
        where = f"relay {self.relay_host}:{self.relay_port}"
        if err is None:
            return TransportError(f"{where} did not confirm the registration in time")
        if isinstance(err, ScreencodecError):
            return err
        return TransportError(f"cannot register at {where}: {err}")

    def _gave_up(self, err: RelayRecoveringError, waited: float) -> RelayRecoveringError:
        said = "" if err.left is None else f"; it says for {math.ceil(err.left)} s more"
        return RelayRecoveringError(
            f"the relay {self.relay_host}:{self.relay_port} still refuses registrations"
            " while its session directory recovers (a new relay cluster, or its Redis"
            f" restarted or lost its keys{said}): gave up waiting after {waited:.0f} s;"
            " the registration keeps retrying",
            err.left,
            waited,
        )

    async def close(self) -> None:
        """Unregister, stop accepting and close every channel. Idempotent.

        Handshakes in flight are stopped; sessions already handed to
        ``on_channel`` see their channel close and are given 2 s to return
        before their tasks are cancelled. Safe to call from inside on_channel.
        """
        self.state = "closed"
        self._stopping = True
        if self._lost_timer is not None:
            self._lost_timer.cancel()
            self._lost_timer = None
        self._registered.clear()
        self._task.cancel()
        if self._control is not None:
            # Also end the control stream: on Python 3.11 a cancellation that
            # lands as a read completes is swallowed by wait_for. The
            # credentials ended: free the code first (the session's end, for
            # the relay; written here, the cancelled task's is too late).
            self._release(self._control)
            self._control.close()
        await self._acceptor.close_channels()
        others = [t for t in self._joins if t is not asyncio.current_task()]
        if others:
            _, pending = await asyncio.wait(others, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(self._task, return_exceptions=True)

    async def __aenter__(self) -> RelayRegistration:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _run(self) -> None:
        backoff = 0.2
        attempts = 0
        while not self._acceptor.credentials.ended and not self._stopping:
            self.state = "connecting"
            before = self.registrations
            error: BaseException | None = None
            try:
                await self._session()
            except AccessRefusedError as exc:
                self.last_error = error = exc
                if exc.code == RefuseCode.CODE_IN_USE:
                    if not self._lose():
                        self._tell(False, exc)  # for good: nothing retries
                        return
                    continue
            except (ScreencodecError, OSError, asyncio.TimeoutError) as exc:
                self.last_error = error = exc
            pause = backoff * random.uniform(0.8, 1.2)  # jitter, not a secret
            if isinstance(error, RelayRecoveringError):
                pause = min(pause, self._recovering(error))
            if self.registrations > before:
                self._cut(error)  # registered, then cut: maybe back at once
            else:
                self._tell(False, error or self.last_error)  # this attempt failed
            attempts += 1
            # Every relay given was tried: an attempt that reached none tried
            # them all (relay43); one refused stops at that relay.
            if attempts >= len(self._relays) or self._tried_all:
                self._first_try.set()
            if self.registrations and self._registered.is_set():
                backoff = 0.2  # we were registered: the relay is back, retry soon
            self._registered.clear()
            if self._acceptor.credentials.ended or self._stopping:
                break
            self.state = "backoff"
            self._tried.set()
            self._tried = asyncio.Event()
            await asyncio.sleep(pause)
            backoff = min(backoff * 2, self._backoff_max)
        self.state = "closed"

    def _recovering(self, error: RelayRecoveringError) -> float:
        """The relay's directory recovers: note until when (what
        wait_registered waits for), and return how soon to try again: as its
        grace ends (plus jitter), if it told that and it comes before the
        backoff's next try. A relay telling a longer grace (or a lie) delays
        nothing past the backoff."""
        now = asyncio.get_running_loop().time()
        if self._recovering_since is None:
            self._recovering_since = now
        if error.left is None:  # a relay before relay42: what the CLI waited
            self._grace_end = self._recovering_since + RECOVERING_UNTOLD
            return math.inf
        # A registration's round trip after the grace ends (a loaded relay).
        self._grace_end = now + error.left + (self._acceptor.timeouts.handshake or 5.0)
        # Not sooner than RECOVERING_RETRY: a relay saying "0 s left" over
        # and over (a lie, or a grace restarted) must not make it spin.
        return max(RECOVERING_RETRY, error.left) + random.uniform(0.05, 0.25)  # jitter

    def _lose(self) -> bool:
        """The code is someone else's: True if ``on_lost`` gave new credentials
        to register instead (with a new secret)."""
        self.state = "lost"
        new = None
        if self._on_lost is not None:
            with contextlib.suppress(Exception):
                new = self._on_lost(self)
        if new is None or new.ended or self._stopping:
            self._first_try.set()
            return False
        self._acceptor.credentials = new
        self._secret = secrets.token_bytes(TOKEN_SIZE)
        new.add_end_listener(self._on_end)
        self.state = "connecting"
        return True

    async def _open(self) -> tuple[str, int, asyncio.StreamReader, asyncio.StreamWriter]:
        """A registration at the first relay that takes it (relay43): every
        address, from the one it was at last, those that failed lately
        last (:class:`Shunned`), dialled a short delay apart
        (:func:`first_connected`); one that connects and does not answer
        within :data:`FIRST_ANSWER` while others are left is passed over.
        Before, one address per backoff step: with 9 dead relays listed
        before the live one, a host was back 40 s after its relay died.
        A refusal is the cluster's directory speaking: raised. None taken:
        the first address's error."""
        creds = self._acceptor.credentials
        self._tried_all = False
        every = list(self.addresses)
        start = self._next % len(every)
        left = self._shunned.order(every[start:] + every[:start])
        timeout = self._acceptor.timeouts.handshake
        first = left[0]  # whose error is told when none takes it
        errors: dict[tuple[str, int], BaseException] = {}
        while left:
            try:
                index, got_reader, got_writer, failed = await first_connected(left, timeout)
            except TransportError as exc:
                for address in left:
                    self._shunned.failed(address)
                self._tried_all = True
                raise errors.get(first, next(iter(errors.values()), exc)) from None
            for i, why in failed.items():
                self._shunned.failed(left[i])
                errors[left[i]] = why
            host, port = left[index]
            left = [a for i, a in enumerate(left) if i != index and i not in failed]
            told: list[bytes] = []
            try:
                reader, writer = await open_relay(
                    host,
                    port,
                    ROLE_HOST_CONTROL,
                    creds.code,
                    self._secret,
                    timeout=timeout,
                    on_ok=told.append,
                    stream=(got_reader, got_writer),
                    first_answer=FIRST_ANSWER if left else None,
                )
            except (_UnreachedError, _NotARelayError, SessionClosedError) as exc:
                self._shunned.failed((host, port))
                errors[host, port] = exc
                if not left:
                    self._tried_all = True
                    raise errors.get(first, exc) from None
                continue
            except Exception:
                # A refusal (BUSY: that relay's directory out of reach,
                # RATE_LIMITED, ...): the next attempt starts at the next
                # relay, as before relay43, and this one is tried last.
                self._shunned.failed((host, port))
                self._next = every.index((host, port)) + 1
                raise
            self._shunned.answered((host, port))
            self._learn(told[0] if told else b"", host, port)
            return host, port, reader, writer
        raise TransportError("no relay to register at")  # not reached: addresses holds one

    async def _session(self) -> None:
        creds = self._acceptor.credentials
        host, port, reader, writer = await self._open()
        # This one works: stay with it (where it is in the list learnt now).
        where_now = [relay_address(*a) for a in self.addresses]
        at = relay_address(host, port)
        self._next = where_now.index(at) if at in where_now else 0
        self.relay_host, self.relay_port = host, port
        where = f"{host}:{port}"
        self._moved_from = self._last_relay if self._last_relay not in ("", where) else ""
        self._last_relay = where
        if self._stopping:
            await close_writer(writer)
            return
        self._control = writer
        pinger = asyncio.ensure_future(self._ping(writer))
        silent = False  # the relay sent nothing for 3 pings: the line, not us
        heard = asyncio.get_running_loop().time()  # the relay's last frame
        reading: asyncio.Future[tuple[int, bytes]] | None = None

        def doubting() -> asyncio.Task[None]:
            return asyncio.ensure_future(
                relay_went_silent(lambda: self.channels, lambda: _ping_now(writer), lambda: heard)
            )

        doubt = doubting()
        try:
            self.state = "registered"
            self.registrations += 1
            self._registered.set()
            self._grace_end = self._recovering_since = None
            self._tell(True)
            while not creds.ended and not self._stopping:
                reading = asyncio.ensure_future(read_frame(reader, HANDSHAKE_FRAME_MAX))
                await asyncio.wait({reading, doubt}, timeout=self._ping_interval * 3,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                if doubt.done() and not doubt.cancelled() and doubt.exception() is not None:
                    reading.cancel()
                    raise doubt.exception()  # type: ignore[misc]
                if not reading.done():
                    # Three pings unanswered, or asked at once (relay44: a
                    # session through it went silent) and nothing came.
                    reading.cancel()
                    await asyncio.gather(reading, return_exceptions=True)
                    silent = True
                    # Tried after the others (relay44): the silent relay
                    # accepts and says nothing, and the one registration
                    # sent at a time waited FIRST_ANSWER (3 s) there first.
                    self._shunned.failed((host, port))
                    raise asyncio.TimeoutError
                ftype, body = reading.result()
                heard = asyncio.get_running_loop().time()
                if doubt.done():
                    # Its last look and this frame came in one wakeup (review44b,
                    # read): the relay answered; a done doubt would make the
                    # next wait return at once and take the relay for silent.
                    doubt = doubting()
                if ftype == FrameType.RELAY_INCOMING and len(body) >= TOKEN_SIZE:
                    join = asyncio.ensure_future(
                        self._join(body[:TOKEN_SIZE], body[TOKEN_SIZE:].decode("utf-8", "replace"))
                    )
                    self._joins.add(join)
                    join.add_done_callback(self._joins.discard)
                elif ftype == FrameType.RELAY_PONG:
                    # relay43: the cluster as the relay knows it now (a
                    # relay that joined since); believed as RELAY_OK's list.
                    self._learn(body, host, port)
                else:
                    raise ProtocolError(f"unexpected frame {ftype} from the relay")
        finally:
            self._control = None
            pinger.cancel()
            doubt.cancel()
            if reading is not None:
                reading.cancel()  # this task cancelled while it waited
            await asyncio.gather(
                pinger, doubt, *([reading] if reading else []), return_exceptions=True
            )
            self._release(writer)
            if silent:
                # A reset: a FIN that the uplink (perhaps still working)
                # delivers would tell the relay this program stopped, and
                # viewers reconnecting to resume would be told the session
                # ended while this host tries to register again.
                reset_stream(writer)
            else:
                await close_writer(writer)

    def _release(self, writer: asyncio.StreamWriter) -> None:
        """Once the credentials ended (done for good), tell the relay: it
        frees the code now, not at the claim's expiry, and tells a viewer
        still reconnecting that the session ended."""
        if self._acceptor.credentials.ended and not writer.is_closing():
            with contextlib.suppress(Exception):
                writer.write(encode_frame(RELAY_RELEASE, self.release_why))

    async def _ping(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            while True:
                await asyncio.sleep(self._ping_interval)
                writer.write(encode_frame(FrameType.RELAY_PING))
                await writer.drain()

    async def _join(self, join_id: bytes, viewer_addr: str) -> None:
        peer = f"relay {self.relay_host}:{self.relay_port} viewer {viewer_addr}"
        try:
            reader, writer = await open_relay(
                self.relay_host,
                self.relay_port,
                ROLE_HOST_DATA,
                self._acceptor.credentials.code,
                join_id,
                timeout=self._acceptor.timeouts.handshake,
            )
        except (ScreencodecError, OSError) as exc:
            self._acceptor.report(peer, exc)
            return
        await self._acceptor.accept(reader, writer, peer, viewer_addr)


def _ping_now(writer: asyncio.StreamWriter) -> None:
    """A ping outside the interval's (relay_doubt): the relay answers it."""
    with contextlib.suppress(OSError, RuntimeError):
        writer.write(encode_frame(FrameType.RELAY_PING))


async def host_via_relay(
    relay_host: str,
    relay_port: int,
    credentials: SessionCredentials,
    on_channel: OnChannel,
    *,
    timeouts: Timeouts | None = None,
    attempts_per_minute: int = 10,
    on_error: OnError | None = None,
    ping_interval: float = 10.0,
    backoff_max: float = BACKOFF_MAX,
    alternates: Sequence[tuple[str, int]] = (),
    on_lost: OnLost | None = None,
    follow_cluster: bool = True,
) -> RelayRegistration:
    """Register ``credentials.code`` at a relay and accept viewers through it.

    ``alternates``: more relays of the same cluster (sharing a directory), tried
    in turn when one cannot be reached. ``follow_cluster``: also try, after
    those, the other relays its relay's RELAY_OK lists (failover42,
    :attr:`RelayRegistration.addresses`); False: only the addresses given
    (a host allowed to reach nothing else, a firewall that lets it dial the
    balancer alone). ``backoff_max`` must stay below the
    relays' claim expiry (15 s by default) for a reclaim after a cut.

    Raises AccessRefusedError(SESSION_ENDED) if the credentials have ended;
    when they end later, the registration closes (the relay forgets the code).

    Returns at once with a :class:`RelayRegistration` that keeps (re)connecting
    in the background; ``await reg.wait_registered(timeout)`` to know it is up.
    ``attempts_per_minute`` limits attempts per viewer address as the relay
    reports it.
    """
    check_not_ended(credentials)
    acceptor = HostAcceptor(
        credentials, on_channel, on_error, timeouts or Timeouts(), attempts_per_minute
    )
    return RelayRegistration(
        [(relay_host, relay_port), *alternates],
        acceptor,
        ping_interval=ping_interval,
        backoff_max=backoff_max,
        on_lost=on_lost,
        follow_cluster=follow_cluster,
    )
