"""Sessions through a relay: the viewer's connection naming a code, and the
pairings (a relay's pair tag, its cluster) that a reconnection names and
follows (follow42). The host's side is connect/registration.py; one connection
to a relay, connect/relay_open.py; the cluster lists relays tell,
connect/relay_cluster.py. Their public names are importable from here too, as
they were before this file was split.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from dataclasses import dataclass

from screencodec.errors import (
    AuthenticationError,
    ProtocolError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.channel.codes import normalize_password, parse_code
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.framing import (
    AccessRefusedError,
    close_writer,
)
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SILENCE, SecureChannel
from screencodec.transport.connect.direct import handshake_viewer
from screencodec.transport.connect.registration import (
    BACKOFF_MAX,
    LOST_GRACE,  # noqa: F401 (public here before the split; still importable from here)
    RECOVERING_MOST,
    RECOVERING_RETRY,  # noqa: F401 (public here before the split; still importable from here)
    RECOVERING_UNTOLD,
    OnLost,  # noqa: F401 (public here before the split; still importable from here)
    RegistrationState,
    RelayRegistration,
    RelayStatus,
    StatusListener,  # noqa: F401 (public here before the split; still importable from here)
    host_via_relay,
)
from screencodec.transport.connect.relay_cluster import (
    _hostport,
    _this_machine,
    _told_order,
    relay_address,
    told_relays,
)
from screencodec.transport.connect.relay_open import (
    MAX_REDIRECTS,
    RelayRecoveringError,
    _NotARelayError,
    _UnreachedError,
    open_relay,
    redirect_target,
    reset_stream,
)
from screencodec.transport.connect.relay_race import FIRST_ANSWER, Shunned, staggered_first
from screencodec.transport.relay.protocol import (
    CLUSTER_MOST,
    ROLE_VIEWER,
    TOKEN_SIZE,
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
#: Relays through which a session of this process went silent lately
#: (relay46): a reconnection dials them after the other relays its pairing
#: knows. The agent's view learns of a frozen relay (SIGSTOP, a VM paused)
#: by its own link's silence (10 s); dialled first, that relay held the
#: reconnection FIRST_ANSWER (3 s) before the next was tried (measured: the
#: picture moving again 13.1-14.6 s after the stop, of which 3 s at it).
_SILENT = Shunned()


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


def _pair(
    key: tuple[str, int, str],
    tag: bytes,
    names: frozenset[tuple[str, int]] = frozenset(),
    cluster: tuple[tuple[str, int], ...] = (),
) -> RelayPairing:
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


class OtherRegistrationError(TransportError):
    """A viewer reconnecting through a relay was paired with another
    registration of its code than the one it was in (RELAY_OK's pair tag
    differs from the one it named), and the handshake failed or was refused:
    someone who knows the code holds it for now (registered first after a
    relay restart, say). Not the word of the viewer's host: retried
    (connect/reconnect.py), as "no such session" is."""


async def connect_via_relay(
    relay_host: str,
    relay_port: int,
    code: str,
    password: str,
    *,
    timeouts: Timeouts | None = None,
    pair_timeout: float = 20.0,
    follow_cluster: bool = True,
) -> RelayChannel:
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
    others = _elsewhere(held, key) if follow_cluster else []
    if others:  # relay43: the others too, a short while apart, if it stays silent
        reached, (reader, writer) = await _through_cluster(
            [reached, *others], code=code, token=token, timeout=pair_timeout, hops=hops,
            told=told,
        )  # fmt: skip
    else:
        reader, writer = await open_relay(relay_host, relay_port, ROLE_VIEWER, code, token,
                                          timeout=pair_timeout,
                                          on_redirect=lambda h, p: hops.append((h, p)),
                                          on_ok=told.append)  # fmt: skip
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
    dialable = tuple(
        dict.fromkeys(
            a
            for a in ([relay_address(*reached)] if instead else [])
            + [relay_address(*h) for h in hops]
            + listed[1:]
            if _this_machine(teller[0]) or not _this_machine(a[0])
        )
    )
    try:
        try:
            result = await handshake_viewer(reader, writer, code, password, t)
        except (AccessRefusedError, AuthenticationError, ProtocolError) as exc:
            if named is not None and tag is not None and tag != named:
                raise OtherRegistrationError(
                    "the relay paired this viewer with another registration of the code than "
                    f"the session it was in, which did not let it in ({safe_text(exc, 200)}): "
                    "someone else may hold the code for now"
                ) from exc
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
            "another host (ask for the code and password the host shows now)"
        ) from exc
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
        peer = (
            f"relay {safe_text(host, 64)}:{port} (of the same cluster as"
            f" {relay_host}:{relay_port}, which could not be reached)"
        )
    channel = RelayChannel(reader, writer, result, is_host=False, peer=peer, timeouts=t)
    channel.resume_hold = pairing
    at = relay_address(*(hops[-1] if hops else reached))
    _SILENT.answered(at)
    channel.add_close_listener(lambda ch: _went_silent(ch, at))
    if instead:
        channel.instead_of = (_hostport(relay_host, relay_port), _hostport(*reached))
    return channel


#: Seconds after a relay that redirected to one that answered nothing was
#: dialled before it is asked again, at first (doubling to FIRST_ANSWER):
#: a reconnection's first backoff step (connect/reconnect.py).
_ASK_AGAIN = 0.25
#: What one relay's attempt may fail with and the next still be tried (a
#: refusal is the cluster's one directory speaking: it ends the race).
_NOT_A_REFUSAL = (_UnreachedError, _NotARelayError, SessionClosedError)


def _elsewhere(held: RelayPairing | None, key: tuple[str, int, str]) -> list[tuple[str, int]]:
    """The other relays a reconnection through ``key`` may dial: its held
    pairing's cluster without the address given, at most CLUSTER_MOST."""
    if held is None:
        return []
    given = relay_address(*key[:2])
    return [a for a in held.cluster if a != given][:CLUSTER_MOST]


async def _through_cluster(
    relays: list[tuple[str, int]],
    *,
    code: str,
    token: bytes,
    timeout: float,
    hops: list[tuple[str, int]],
    told: list[bytes],
) -> tuple[tuple[str, int], tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The first of ``relays`` (the one given, then its cluster's others)
    to take the viewer: where, and its stream (``hops`` and ``told`` hear
    that attempt's redirects and RELAY_OK). Each is dialled when the one
    before could not be reached or was no relay, or when
    :data:`~screencodec.transport.connect.relay_race.FIRST_ANSWER` seconds
    passed with no answer from any (relay43: before, a relay that accepted
    and answered nothing held the agent for its whole ``timeout``, 20 s,
    before the next was tried); the attempts already made go on. A
    refusal ends it with that refusal (the cluster's one directory speaks);
    none reached: a TransportError naming them all, the first's errno."""

    async def unused(reached: _Reached) -> None:  # answered as another was taken
        await close_writer(reached.stream[1])

    order = _SILENT.order(relays)  # relay46: one a session went silent through, last
    asked: dict[int, int] = {}

    def again(index: int, exc: BaseException) -> float | None:
        """relay46: a relay that redirected to one that answered nothing or
        could not be reached (the directory still names a relay that froze
        or died) is asked again, its directory's answer changing once the
        host moved: :data:`_ASK_AGAIN` after it was last dialled, doubling
        to FIRST_ANSWER (one refused at once, a killed relay named, is
        asked again as soon as a reconnection's backoff did before, when
        the whole attempt failed with it)."""
        if not (isinstance(exc, _UnreachedError) and exc.at_redirect):
            return None
        asked[index] = asked.get(index, 0) + 1
        return min(FIRST_ANSWER, _ASK_AGAIN * 2.0 ** (asked[index] - 1))

    raced = await staggered_first(
        len(order),
        lambda i: _reach(order[i], code, token, timeout),
        FIRST_ANSWER,
        fatal=lambda exc: not isinstance(exc, _NOT_A_REFUSAL),
        unused=unused,
        again=again,
        until=asyncio.get_running_loop().time() + timeout,
    )
    if raced.result is not None:
        hops[:], told[:] = raced.result.hops, raced.result.told
        return raced.result.where, raced.result.stream
    first = raced.failed.get(order.index(relays[0]))
    where = ", ".join(_hostport(*a) for a in relays[1:])
    n = len(relays) - 1
    error = TransportError(
        f"{first}; nor {'the other relay' if n == 1 else f'any of the {n} other relays'} of"
        f" its cluster ({where})"
    )
    error.errno = getattr(first, "errno", None)
    raise error from first


@dataclass
class _Reached:
    """One viewer attempt that a relay took: where, its stream, its
    redirects and RELAY_OK's body."""

    where: tuple[str, int]
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    hops: list[tuple[str, int]]
    told: list[bytes]


async def _reach(where: tuple[str, int], code: str, token: bytes, timeout: float) -> _Reached:
    hops: list[tuple[str, int]] = []
    told: list[bytes] = []
    stream = await open_relay(
        where[0],
        where[1],
        ROLE_VIEWER,
        code,
        token,
        timeout=timeout,
        on_redirect=lambda h, p: hops.append((h, p)),
        on_ok=told.append,
        hop_answer=FIRST_ANSWER,  # relay46: not a redirect's whole 20 s at a frozen relay
    )
    return _Reached(where, stream, hops, told)


def _went_silent(channel: SecureChannel, relay: tuple[str, int]) -> None:
    """A viewer's channel through ``relay`` closed: if by its own silence
    (nothing heard for ``Timeouts.unanswered``: the relay froze, or the
    line), that relay is dialled after the others for a while (:data:`_SILENT`)."""
    if channel.broken and channel.close_reason.startswith(SILENCE):
        _SILENT.failed(relay)
