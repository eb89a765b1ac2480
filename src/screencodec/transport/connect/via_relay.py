"""Sessions through a relay: the host's standing registration (hosts behind NAT
dial out) and the viewer's connection naming a code.

See relay/server.py for the relay protocol. One control connection registers the
session code under a *registration secret* drawn here with :mod:`secrets`
(the relay keeps only a hash), so after a cut or a relay restart this host,
and no one else, takes its code back; each RELAY_INCOMING makes the host open
one data connection for that viewer and run the PAKE over it, end to end
through the relay. Every connection follows at most :data:`MAX_REDIRECTS`
RELAY_REDIRECTs to the relay of a cluster that holds the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import math
import os
import random
import secrets
import socket
import struct
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from screencodec.errors import (
    AuthenticationError,
    ProtocolError,
    ScreencodecError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.codes import SessionCredentials, normalize_password, parse_code
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.framing import (
    HEADER,
    AccessRefusedError,
    FrameType,
    RefuseCode,
    close_writer,
    encode_frame,
    read_body,
    read_frame,
    refusal_error,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect.accept import (
    HostAcceptor,
    OnChannel,
    OnError,
    check_not_ended,
    open_stream,
)
from screencodec.transport.connect.direct import handshake_viewer
from screencodec.transport.relay.protocol import (
    CLUSTER_MOST,
    RECOVERING,
    RELAY_REDIRECT,
    RELAY_RELEASE,
    ROLE_HOST_CONTROL,
    ROLE_HOST_DATA,
    ROLE_VIEWER,
    TOKEN_SIZE,
    encode_open,
    is_relay_host,
    parse_recovering,
    parse_redirect,
    parse_viewer_ok,
)

__all__ = [
    "BACKOFF_MAX",
    "MAX_REDIRECTS",
    "RECOVERING_MOST",
    "RECOVERING_UNTOLD",
    "OtherRegistrationError",
    "RegistrationState",
    "RelayChannel",
    "RelayPairing",
    "RelayRecoveringError",
    "RelayRegistration",
    "RelayStatus",
    "connect_via_relay",
    "host_via_relay",
    "open_relay",
    "redirect_target",
    "relay_address",
    "reset_stream",
    "told_relays",
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
MAX_REDIRECTS = 2
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


@dataclass(frozen=True, eq=False)
class RelayPairing:
    """A viewer's pairing through a relay, once its host proved the
    password: the relay address (as the application names it: one
    cluster's balancer), the session code and the pair tag
    (relay/protocol.pair_tag) of the host registration the relay paired it
    with. Named when a viewer of the code connects again (to resume), so
    that the relay tells SESSION_ENDED only of that registration's end, not
    of one by someone who registered the code after a relay restart, and so
    that a handshake failed by another registration of the code is retried
    (:class:`OtherRegistrationError`). ``order``: later pairings are higher.

    ``names``: the other addresses (:func:`relay_address`) its tag may be
    named to, as that connection's relays told them: those it was
    redirected to, and the cluster the relay that paired it listed in
    RELAY_OK. Nothing another connection hears widens them: a relay that
    lists someone else's address widens only its own pairing.

    ``cluster``: the relays a reconnection tries, in turn, when ``relay``
    cannot be reached (follow42): the one it got in through if not
    ``relay``, where it was redirected, then the others of the cluster
    listed in RELAY_OK (not its first, the relay's own address: the same
    relay by another path), in the relay's order, each once; this machine's addresses (loopback,
    ``localhost``) only if the relay that listed them is at one."""

    relay: tuple[str, int]
    code: str
    tag: bytes
    order: int
    names: frozenset[tuple[str, int]] = frozenset()
    cluster: tuple[tuple[str, int], ...] = ()

    # Immutable, and known by its identity (:data:`_HELD`): a copy of a
    # ticket (copy.deepcopy) holds this very pairing, not one nobody looks for.
    def __copy__(self) -> RelayPairing:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> RelayPairing:
        return self


_ORDER = itertools.count()
#: Every pairing something still holds: the resume ticket of a viewer
#: (session/resume.Ticket's hold, via :attr:`RelayChannel.resume_hold`),
#: for as long as that ticket lives, and :data:`_PAIRED`. Process-wide
#: because an agent reconnects with the relay, code and password alone
#: (connect/reconnect.py, the view command, the web viewer's bridge).
_HELD: weakref.WeakSet[RelayPairing] = weakref.WeakSet()
#: Per relay address and code, this process's latest pairing, for a viewer
#: whose ticket went (or a caller that kept none): the most recent
#: :data:`_PAIRED_MOST` only. Keyed by the relay too, since two relays (two
#: deployments) may each hold a session of the same code.
_PAIRED: dict[tuple[str, int, str], RelayPairing] = {}
_PAIRED_MOST = 256


def relay_address(host: str, port: int) -> tuple[str, int]:
    """``(host, port)`` as pairings compare them: a host name in lower case
    without its final dot, an IP literal in its canonical form (no
    brackets). Never resolved: two names of one machine are two addresses."""
    host = host.strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        return host.removesuffix("."), port


def _paired(key: tuple[str, int, str]) -> bytes | None:
    """The pair tag to name for ``key``: :func:`_held`'s, or None."""
    held = _held(key)
    return None if held is None else held.tag


def _held(key: tuple[str, int, str]) -> RelayPairing | None:
    """The pairing whose tag to name for ``key`` (relay host, port, code):
    the latest held through that address, else the latest whose relays
    named that address as theirs (:attr:`RelayPairing.names`), else None:
    never one of a relay that did not say this one is of its cluster."""
    where = relay_address(*key[:2])
    held = [p for p in _HELD if p.code == key[2]]
    here = [p for p in held if relay_address(*p.relay) == where]
    theirs = [p for p in held if where in p.names]
    return max(here or theirs, key=lambda p: p.order, default=None)


def _pair(key: tuple[str, int, str], tag: bytes,
          names: frozenset[tuple[str, int]] = frozenset(),
          cluster: tuple[tuple[str, int], ...] = ()) -> RelayPairing:
    """A pairing through ``key`` with the registration of ``tag``, kept;
    ``names``: the other addresses it may be named to; ``cluster``: those
    a reconnection may dial instead."""
    pairing = RelayPairing(key[:2], key[2], tag, next(_ORDER), names, cluster)
    _HELD.add(pairing)
    _PAIRED.pop(key, None)
    _PAIRED[key] = pairing
    while len(_PAIRED) > _PAIRED_MOST:
        del _PAIRED[next(iter(_PAIRED))]
    return pairing


class RelayChannel(SecureChannel):
    """A viewer's channel through a relay. :attr:`resume_hold`: its
    pairing (None: the relay told no tag, one of an older version), which
    the Viewer keeps with the session's resume ticket
    (session/resume.Ticket): the next connection names its tag for as long
    as that ticket lives. :attr:`instead_of`: when the relay given could
    not be reached and this reconnection got in through another relay of
    its cluster (:attr:`RelayPairing.cluster`), ``(given, reached)``, each
    ``HOST:PORT``; else None."""

    resume_hold: RelayPairing | None = None
    instead_of: tuple[str, str] | None = None


_RELAY_ANSWERS = {FrameType.RELAY_OK, FrameType.REFUSE, RELAY_REDIRECT}


class OtherRegistrationError(TransportError):
    """A viewer reconnecting through a relay was paired with another
    registration of its code than the one it was in (RELAY_OK's pair tag
    differs from the one it named), and the handshake failed or was refused:
    someone who knows the code holds it for now (registered first after a
    relay restart, say). Not the word of the viewer's host: retried
    (connect/reconnect.py), as "no such session" is."""


class _UnreachedError(TransportError):
    """The relay first dialled could not be reached or did not answer in
    time (:func:`open_relay`): a reconnection tries its cluster's others."""


class _NotARelayError(ProtocolError):
    """What answered is not a screencodec relay (:func:`_relay_answer`)."""


class RelayRecoveringError(TransportError):
    """The relay refused a registration BUSY because its session directory
    recovers (protocol.RECOVERING: a new cluster's first ``claim_ttl``, a
    Redis that restarted or lost its keys): a wait, not a fault. ``left``:
    the seconds the relay said its grace has left (None: not told, a relay
    before relay42). Raised by :meth:`RelayRegistration.wait_registered`
    when it gives up waiting (``waited`` > 0 then)."""

    def __init__(self, message: str, left: float | None, waited: float = 0.0) -> None:
        super().__init__(message)
        self.left = left
        self.waited = waited


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


def reset_stream(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s connection with a reset (RST), not in order: what
    the relay takes for a line that failed, never for a program that stopped
    (a FIN from a host's control connection; relay/server.py). asyncio's and
    uvloop's ``abort()`` alone send a FIN when nothing is left unread; with
    SO_LINGER 0 the kernel sends a RST instead."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # ValueError: uvloop's socket of a connection already closed (fd -1).
        with contextlib.suppress(OSError, ValueError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _relay_answer(reader: asyncio.StreamReader, where: str) -> tuple[int, bytes]:
    """The relay's first frame; anything else is "not a screencodec relay"."""
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise _NotARelayError(f"{where} is not a screencodec relay") from None
        raise SessionClosedError(f"{where} closed the connection without answering") from None
    length, ftype = HEADER.unpack(header)
    if ftype not in _RELAY_ANSWERS or not 1 <= length <= HANDSHAKE_FRAME_MAX + 1:
        shown = header.decode("ascii", "replace")
        shown = "".join(c if c.isprintable() else "?" for c in shown)
        raise _NotARelayError(f"{where} is not a screencodec relay (it answered {shown!r}...)")
    return ftype, await read_body(reader, length - 1)


def redirect_target(body: bytes) -> tuple[str, int]:
    """``(host, port)`` a RELAY_REDIRECT body names; ProtocolError unless its
    host is a host name or an IP literal. The relay's text goes on into
    connection errors, peer names and the CLI: control characters (a
    terminal's escape sequences), spaces or anything else are refused here,
    and the error shows them through ``safe_text``."""
    host, port = parse_redirect(body)
    if is_relay_host(host):
        return host, port
    raise ProtocolError("the relay redirected to something that is not a host name or IP "
                        f"address ({safe_text(host, 64)!r})")


def _this_machine(host: str) -> bool:
    """Whether ``host`` names this machine: a loopback or wildcard literal,
    or ``localhost``."""
    host = relay_address(host, 0)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")
    return ip.is_loopback or ip.is_unspecified


def _hostport(host: str, port: int) -> str:
    """``HOST:PORT`` as a user types it (an IPv6 literal in brackets)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def told_relays(body: bytes) -> list[tuple[str, int]] | None:
    """The relays of its cluster that a relay's RELAY_OK to a host lists
    (protocol.parse_viewer_ok: at most 16, ASCII, each ``HOST:PORT`` with a
    port 1-65535), each a host name or IP literal as a redirect's must be
    (:func:`redirect_target`), each once (:func:`relay_address`), in the
    relay's order; None (nothing told) for a relay before failover42 (no
    list) and for a list breaking any rule: a relay that tells garbage is
    not believed at all. Untrusted input: the host dials these."""
    _, addresses = parse_viewer_ok(body)
    if addresses is None:
        return None
    try:
        told = [relay_address(*redirect_target(a.encode("ascii"))) for a in addresses]
    except ProtocolError:
        return None
    return list(dict.fromkeys(told))


def _told_cluster(addresses: tuple[str, ...] | None) -> frozenset[tuple[str, int]]:
    """The addresses of a RELAY_OK's cluster list (protocol.parse_viewer_ok),
    each checked as a redirect's is: none at all if any is not a host name
    or IP literal and port (a relay that tells garbage is not believed)."""
    try:
        return frozenset(relay_address(*redirect_target(a.encode("ascii")))
                         for a in addresses or ())
    except ProtocolError:
        return frozenset()


async def open_relay(host: str, port: int, role: int, code: str, token: bytes, *,
                     timeout: float | None,
                     on_redirect: Callable[[str, int], None] | None = None,
                     on_ok: Callable[[bytes], None] | None = None,
                     ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:  # fmt: skip
    """Connect to a relay, send RELAY_OPEN and return once a relay answers
    RELAY_OK, following up to :data:`MAX_REDIRECTS` redirects (each reported
    to ``on_redirect``: a host name or an IP literal, :func:`redirect_target`);
    ``on_ok`` hears RELAY_OK's body.

    Raises TransportError naming the address if it cannot be reached or does
    not answer within ``timeout``, ProtocolError if something else than a
    screencodec relay answers, and the refusal's error for a REFUSE.
    """
    for hop in range(MAX_REDIRECTS + 1):
        where = f"{host}:{port}"
        try:
            reader, writer = await open_stream(host, port, timeout)
        except TransportError as exc:
            if hop:
                raise
            unreached = _UnreachedError(str(exc))
            unreached.errno = exc.errno  # open_stream's: ECONNREFUSED, nothing listens
            raise unreached from None
        try:
            writer.write(encode_open(role, code, token))
            try:
                ftype, body = await wait_for(_relay_answer(reader, where), timeout)
            except asyncio.TimeoutError:
                raise (_UnreachedError if not hop else TransportError)(
                    f"{where} did not answer in time: is it a screencodec relay?") from None
            if ftype == FrameType.RELAY_OK:
                if on_ok is not None:
                    on_ok(body)
                return reader, writer
            if ftype == FrameType.REFUSE:
                error = refusal_error(body)
                if str(error) == f"peer refused: BUSY: {RECOVERING}":
                    raise RelayRecoveringError(str(error), parse_recovering(body))
                raise error
            host, port = redirect_target(body)
            if on_redirect is not None:
                on_redirect(host, port)
        except BaseException:
            await close_writer(writer)
            raise
        await close_writer(writer)
    raise ProtocolError(f"more than {MAX_REDIRECTS} relay redirects (a misconfigured cluster)")


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

    def __init__(self, relays: Sequence[tuple[str, int]], acceptor: HostAcceptor, *,
                 ping_interval: float, backoff_max: float,
                 on_lost: OnLost | None = None, follow_cluster: bool = True) -> None:
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
        if self._told is reachable or self._stopping or self._acceptor.credentials.ended:
            return
        self._told = reachable
        why = "" if error is None else safe_text(str(error) or type(error).__name__, 200)
        here = relay_address(self.relay_host, self.relay_port)
        others = () if reachable else tuple(
            _hostport(h, p) for h, p in self.addresses if relay_address(h, p) != here)
        status = RelayStatus(reachable, f"{self.relay_host}:{self.relay_port}",
                             self._acceptor.credentials.display_code, why, others,
                             self._moved_from if reachable else "")
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
                LOST_GRACE, self._tell, False, error)

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
        self._learnt = list(dict.fromkeys(kept + [
            a for a in told[1:] if a not in given and (here or not _this_machine(a[0]))]))

    @property
    def channels(self) -> frozenset[SecureChannel]:
        return frozenset(c for c in self._acceptor.channels if not c.closed)

    async def wait_registered(self, timeout: float | None = None, *,
                              recovering_most: float = RECOVERING_MOST) -> None:
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
            if (isinstance(err, RelayRecoveringError) and self._grace_end is not None
                    and self.state not in ("lost", "closed")):
                limit = min(start + recovering_most, max(self._grace_end, end))
                if now >= limit:
                    raise self._gave_up(err, now - start)
            else:
                limit = end
                if now >= limit or (not self.registrations and self._first_try.is_set()
                                    and err is not None):
                    raise self._not_registered(err)
            waiters = {asyncio.ensure_future(event.wait())
                       for event in (self._registered, self._tried, self._first_try)
                       if not event.is_set()}
            try:
                await asyncio.wait(waiters, timeout=None if limit == math.inf else limit - now,
                                   return_when=asyncio.FIRST_COMPLETED)
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
            " the registration keeps retrying", err.left, waited)

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
            if attempts >= len(self._relays):  # every relay tried once
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

    async def _session(self) -> None:
        creds = self._acceptor.credentials
        addresses = self.addresses
        host, port = addresses[self._next % len(addresses)]
        self._next += 1  # a failed relay: the next attempt tries the next address
        told: list[bytes] = []
        reader, writer = await open_relay(host, port, ROLE_HOST_CONTROL, creds.code,
                                          self._secret, timeout=self._acceptor.timeouts.handshake,
                                          on_ok=told.append)
        self._learn(told[0] if told else b"", host, port)
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
        try:
            self.state = "registered"
            self.registrations += 1
            self._registered.set()
            self._grace_end = self._recovering_since = None
            self._tell(True)
            while not creds.ended and not self._stopping:
                try:
                    ftype, body = await wait_for(
                        read_frame(reader, HANDSHAKE_FRAME_MAX), self._ping_interval * 3)
                except asyncio.TimeoutError:
                    silent = True
                    raise
                if ftype == FrameType.RELAY_INCOMING and len(body) >= TOKEN_SIZE:
                    join = asyncio.ensure_future(self._join(body[:TOKEN_SIZE],
                                                            body[TOKEN_SIZE:].decode(
                                                                "utf-8", "replace")))
                    self._joins.add(join)
                    join.add_done_callback(self._joins.discard)
                elif ftype != FrameType.RELAY_PONG:
                    raise ProtocolError(f"unexpected frame {ftype} from the relay")
        finally:
            self._control = None
            pinger.cancel()
            await asyncio.gather(pinger, return_exceptions=True)
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
                self.relay_host, self.relay_port, ROLE_HOST_DATA,
                self._acceptor.credentials.code, join_id,
                timeout=self._acceptor.timeouts.handshake)
        except (ScreencodecError, OSError) as exc:
            self._acceptor.report(peer, exc)
            return
        await self._acceptor.accept(reader, writer, peer, viewer_addr)


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
    acceptor = HostAcceptor(credentials, on_channel, on_error, timeouts or Timeouts(),
                            attempts_per_minute)
    return RelayRegistration([(relay_host, relay_port), *alternates], acceptor,
                             ping_interval=ping_interval, backoff_max=backoff_max,
                             on_lost=on_lost, follow_cluster=follow_cluster)


async def connect_via_relay(relay_host: str, relay_port: int, code: str, password: str, *,
                            timeouts: Timeouts | None = None,
                            pair_timeout: float = 20.0,
                            follow_cluster: bool = True) -> RelayChannel:
    """Viewer side through a relay: name the code, then run the PAKE end to end.

    Raises like :func:`connect_direct`; an unknown code is
    ``AccessRefusedError`` with ``code == RefuseCode.UNKNOWN_SESSION``. When
    whatever holds the code fails the handshake (a session that is not the
    one the user means), the error says "this session is not answering as
    expected". Follows redirects within a relay cluster.

    A reconnection (this process holds a pairing for the relay and code,
    :attr:`RelayPairing.cluster`) whose relay cannot be reached or does not
    answer in time tries the other relays of its cluster that its relays
    told, in turn, at most :data:`~screencodec.transport.relay.protocol.CLUSTER_MOST`,
    naming the same pair tag (follow42): its host may have moved there. The
    first of them to answer is believed (a refusal too: the cluster shares
    one directory); :attr:`RelayChannel.instead_of` says where it got in.
    ``follow_cluster`` False: the address given alone (an agent whose
    firewall lets it dial that one only).
    """
    code, password = parse_code(code), normalize_password(password)
    t = timeouts or Timeouts()
    hops: list[tuple[str, int]] = []
    told: list[bytes] = []
    key = (relay_host, relay_port, code)
    held = _held(key)
    named = None if held is None else held.tag
    token = named or bytes(TOKEN_SIZE)
    reached = (relay_host, relay_port)
    try:
        reader, writer = await open_relay(relay_host, relay_port, ROLE_VIEWER, code, token,
                                          timeout=pair_timeout,
                                          on_redirect=lambda h, p: hops.append((h, p)),
                                          on_ok=told.append)  # fmt: skip
    except _UnreachedError as exc:
        others = _elsewhere(held, key) if follow_cluster else []
        if not others:
            raise
        reached, (reader, writer) = await _through_cluster(
            others, exc, code=code, token=token, timeout=pair_timeout, hops=hops, told=told)
    tag, cluster = parse_viewer_ok(told[0]) if told else (None, None)
    # What this connection's relays said is theirs: where they redirected
    # it, and the cluster of the one that paired it.
    listed = _told_order(cluster)
    names = frozenset(relay_address(*hop) for hop in hops) | frozenset(listed)
    instead = reached != (relay_host, relay_port)
    if instead:
        names |= {relay_address(*reached)}
    teller = hops[-1] if hops else reached
    # Not the list's first, the relay's own --advertise: the same relay by
    # another path, not another one (an agent that reached it through a
    # tunnel or proxy that is cut must not go around it; failover42's rule).
    dialable = tuple(dict.fromkeys(
        a for a in ([relay_address(*reached)] if instead else [])
        + [relay_address(*h) for h in hops] + listed[1:]
        if _this_machine(teller[0]) or not _this_machine(a[0])))
    try:
        try:
            result = await handshake_viewer(reader, writer, code, password, t)
        except (AccessRefusedError, AuthenticationError, ProtocolError) as exc:
            if named is not None and tag is not None and tag != named:
                raise OtherRegistrationError(
                    "the relay paired this viewer with another registration of the code than "
                    f"the session it was in, which did not let it in ({safe_text(exc, 200)}): "
                    "someone else may hold the code for now") from exc
            raise
        # The host proved the password.
        pairing = None if tag is None else _pair(key, tag, names, dialable)
    except (AccessRefusedError, OtherRegistrationError):
        await close_writer(writer)
        raise  # the host's own word (rate limited, invalidated, ended ...), or not its
    except AuthenticationError as exc:
        await close_writer(writer)
        # Through a relay the viewer cannot tell a mistyped password from a
        # code now held by someone else (both fail the PAKE); say both.
        first = "wrong session password, or t" if "wrong session password" in str(exc) else "T"
        raise AuthenticationError(
            f"{first}his session is not answering as expected: the code may now belong to "
            "another host (ask for the code and password the host shows now)") from exc
    except ProtocolError as exc:
        await close_writer(writer)
        raise ProtocolError(f"this session is not answering as expected ({exc})") from exc
    except BaseException:
        await close_writer(writer)
        raise
    peer = f"relay {relay_host}:{relay_port}"
    if hops:  # the relay that holds the session, as the cluster named it
        host, port = hops[-1]
        peer = f"relay {safe_text(host, 64)}:{port} (redirected from {relay_host}:{relay_port})"
    if instead:
        host, port = hops[-1] if hops else reached
        peer = (f"relay {safe_text(host, 64)}:{port} (of the same cluster as"
                f" {relay_host}:{relay_port}, which could not be reached)")
    channel = RelayChannel(reader, writer, result, is_host=False, peer=peer, timeouts=t)
    channel.resume_hold = pairing
    if instead:
        channel.instead_of = (_hostport(relay_host, relay_port), _hostport(*reached))
    return channel


def _told_order(addresses: tuple[str, ...] | None) -> list[tuple[str, int]]:
    """:func:`_told_cluster`'s addresses in the relay's order, each once."""
    told = _told_cluster(addresses)
    if not told:
        return []
    return list(dict.fromkeys(relay_address(*redirect_target(a.encode("ascii")))
                              for a in addresses or ()))


def _elsewhere(held: RelayPairing | None,
               key: tuple[str, int, str]) -> list[tuple[str, int]]:
    """The other relays a reconnection through ``key`` may dial: its held
    pairing's cluster without the address given, at most CLUSTER_MOST."""
    if held is None:
        return []
    given = relay_address(*key[:2])
    return [a for a in held.cluster if a != given][:CLUSTER_MOST]


async def _through_cluster(
    others: list[tuple[str, int]], first: _UnreachedError, *, code: str, token: bytes,
    timeout: float, hops: list[tuple[str, int]], told: list[bytes],
) -> tuple[tuple[str, int], tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The first of ``others`` that answers (the relay given could not be
    reached: ``first``): where, and its stream. One that answers with a
    refusal ends it with that refusal (the cluster's one directory speaks);
    none reached: a TransportError naming them all, ``first``'s errno."""
    for host, port in others:
        hops.clear()
        try:
            return (host, port), await open_relay(
                host, port, ROLE_VIEWER, code, token, timeout=timeout,
                on_redirect=lambda h, p: hops.append((h, p)), on_ok=told.append)
        except (_UnreachedError, _NotARelayError, SessionClosedError):
            continue  # not a relay that answers: the next (a list may name a dead one)
    where = ", ".join(_hostport(*a) for a in others)
    n = len(others)
    error = TransportError(
        f"{first}; nor {'the other relay' if n == 1 else f'any of the {n} other relays'} of"
        f" its cluster ({where})")
    error.errno = first.errno
    raise error from first
