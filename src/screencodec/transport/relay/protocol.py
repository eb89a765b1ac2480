"""The relay's own messages: the opening frame that clients speak, the redirect
that sends them to the relay holding their session, and the claim verifier.

Spoken by the relay server and by the hosts and viewers that dial it. Every
message is a frame (channel/framing.py). Each
connection opens with one RELAY_OPEN frame: magic, version, a role, the
session code and a 16-byte token.

* **Host control** (role 1, token = the host's *registration secret*, drawn
  with :mod:`secrets` once per registration object): claims the code in the
  session directory (see directory.py) and stays open; the directory keeps
  only a verifier (a hash of code and secret). The host sends RELAY_PING, the
  relay answers RELAY_PONG; silence past ``control_idle_timeout`` ends the
  connection. Its RELAY_OK is a viewer's (:func:`encode_viewer_ok`: the
  registration's pair tag and the cluster's relays), which the host dials
  when this relay stops (failover42; a host before it reads no body). A
  claim held under another secret is refused CODE_IN_USE. When
  the connection ends, the claim stays for ``claim_ttl`` seconds: the host
  (and only it) reclaims the code on this or any relay sharing the directory.
  RELAY_RELEASE on the control connection drops the claim at once.
* **Viewer** (role 2, token: the :func:`pair_tag` its last pairing with this
  code was told in RELAY_OK, or zeros): names a code. If this relay holds the
  host's control connection it draws a 16-byte *join id* (8 random bytes
  and 8 of a MAC under the cluster's key: cluster.py, ``_join_id``), sends
  RELAY_INCOMING(join id, viewer address) to the host and waits up to
  ``pair_timeout``; once paired, RELAY_OK tells the viewer the pair tag and,
  in a cluster, the relays that belong to it (:func:`encode_viewer_ok`). If
  another relay holds the code, it answers RELAY_REDIRECT(HOST:PORT) and
  closes: the client dials that relay, so the path stays one relay long.
  Otherwise REFUSE UNKNOWN_SESSION.
* **Host data** (role 3, token = a join id): the host's connection for one
  viewer; redirected like a viewer if it reached another relay of the
  cluster, and only if a relay of the cluster made its join id. The relay
  matches the join id (constant time), answers RELAY_OK to both ends and
  forwards (splice.py): frame by frame until the end-to-end handshake is
  over, then as raw bytes. It never sees a key or plaintext.

The frame types that are not in
:class:`~screencodec.transport.channel.framing.FrameType` yet
(:data:`RELAY_REDIRECT`, :data:`RELAY_RELEASE`) are defined here; they use
numbers next to the other relay frames.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import struct
from collections.abc import Sequence

from screencodec.errors import ProtocolError, RefuseCode
from screencodec.transport.channel.codes import CODE_DIGITS, parse_code
from screencodec.transport.channel.framing import MAGIC, PROTOCOL_VERSION, FrameType, encode_frame
from screencodec.transport.channel.handshake import VersionMismatchError
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX

__all__ = [
    "CLUSTER_MOST",
    "DIRECTORY_UNAVAILABLE",
    "ENDED_DISPLAY_GONE",
    "ENDED_RELEASED",
    "ENDED_STOPPED",
    "HOST_NOT_BACK_YET",
    "RECOVERING",
    "RELAY_REDIRECT",
    "RELAY_RELEASE",
    "RELEASE_DISPLAY_GONE",
    "ROLE_HOST_CONTROL",
    "ROLE_HOST_DATA",
    "ROLE_VIEWER",
    "TOKEN_SIZE",
    "address_key",
    "check_advertise",
    "check_public_names",
    "claim_verifier",
    "encode_open",
    "encode_pong",
    "encode_recovering",
    "encode_redirect",
    "encode_viewer_ok",
    "is_relay_host",
    "pair_tag",
    "parse_open",
    "parse_recovering",
    "parse_redirect",
    "parse_viewer_ok",
    "release_words",
]

ROLE_HOST_CONTROL = 1
ROLE_VIEWER = 2
ROLE_HOST_DATA = 3
TOKEN_SIZE = 16
_OPEN = struct.Struct(f">4sHB{CODE_DIGITS}s{TOKEN_SIZE}s")

#: A relay's words, with BUSY, for a registration while its session
#: directory recovers (a new cluster's first ``claim_ttl``, a Redis that
#: lost its keys): a wait, which a host sits out (cli/host_start.py).
RECOVERING = "session directory recovering"
#: A relay's words, with UNKNOWN_SESSION, for a viewer of a code nobody
#: holds while the session directory recovers (its relays make their hosts'
#: claims again): not "no such session code", which a new agent gives up
#: on, while the host may still come back (relay43; cli/view_connect.py
#: waits on them).
HOST_NOT_BACK_YET = (
    "the session directory is recovering: this code's host may not have registered again yet"
)
#: A relay's words, with BUSY, for a viewer (or a host's data connection)
#: while its session directory cannot be reached (Redis down, or past its
#: timeout): the relay cannot tell whether, or where, the code's host is
#: registered, so not "no such session code", which a new agent gives up on
#: (relay49: said when the directory's recovering grace could not be read).
#: They begin as a relay before relay49 worded it ("session directory
#: unavailable"), which cli/view_connect.py waits on as on
#: :data:`HOST_NOT_BACK_YET`; a viewer reconnecting retries BUSY.
DIRECTORY_UNAVAILABLE = (
    "session directory unavailable: this relay cannot tell for now whether this code's host"
    " is registered"
)
#: Every version reads a REFUSE's words from its body's bytes 1-199 and no
#: further (framing.refusal_error), so a field after them is unseen by a
#: peer that does not know it. The words are padded with spaces up to it,
#: which safe_text drops: an older host still reads exactly RECOVERING.
_REFUSE_WORDS_END = 200
#: The field after a RECOVERING refusal's words: kind 1, then the
#: milliseconds the grace has left (4 bytes, big-endian).
_GRACE_FIELD = 1
_GRACE = struct.Struct(">BI")
#: Relay -> client, instead of RELAY_OK: "the session lives on this other
#: relay"; body is its ``HOST:PORT`` in ASCII. The client dials there once more.
RELAY_REDIRECT = 0x25
#: Host -> relay on the control connection: "I am done with this code"; the
#: relay drops the claim at once instead of holding it for a reclaim. Its
#: body says why: empty (or a byte this relay does not know), the host's
#: user ended the session; :data:`RELEASE_DISPLAY_GONE`, the host stopped
#: because its X display went. A relay of a version before reads none.
RELAY_RELEASE = 0x26
#: RELAY_RELEASE's body from a host whose X display (its screen, mouse and
#: keyboard) went: it ended its sessions and stopped.
RELEASE_DISPLAY_GONE = b"\x01"
#: A relay's words, with SESSION_ENDED, for a viewer naming a registration
#: that ended: the host released it (RELAY_RELEASE: its user ended the
#: session, or its display went), or its program stopped (its socket
#: closed without a release). A reconnecting viewer tells them apart by
#: them (connect/reconnect.ended_while_away).
ENDED_RELEASED = "the host ended this session"
ENDED_STOPPED = "the host's program stopped: this session has ended"
ENDED_DISPLAY_GONE = "the host's X display is gone and the host stopped: this session has ended"


def encode_recovering(left: float | None) -> bytes:
    """A REFUSE frame's body for a registration while the session directory
    recovers: BUSY, :data:`RECOVERING`, and the seconds the grace has left
    (None: not known, or inf: no end set; then no field). Before relay42
    the words alone: a host waited a fixed 60 s, so a relay whose grace
    (its ``claim_ttl``) was longer sent its first customer away."""
    body = bytes([RefuseCode.BUSY]) + RECOVERING.encode()
    if left is None or math.isinf(left):  # a grace with no end (directory.NO_END): none told
        return body
    ms = min(0xFFFFFFFF, max(0, int(left * 1000)))
    return body.ljust(_REFUSE_WORDS_END, b" ") + _GRACE.pack(_GRACE_FIELD, ms)


def parse_recovering(body: bytes) -> float | None:
    """The seconds of grace left that a RECOVERING refusal's ``body`` tells
    (:func:`encode_recovering`), or None if it tells none (a relay before
    relay42, or anything else)."""
    tail = body[_REFUSE_WORDS_END:]
    if len(tail) != _GRACE.size:
        return None
    kind, ms = _GRACE.unpack(tail)
    return ms / 1000 if kind == _GRACE_FIELD else None


def release_words(body: bytes) -> str:
    """What a relay tells a viewer naming a code its host released with
    RELAY_RELEASE's ``body``."""
    return ENDED_DISPLAY_GONE if body == RELEASE_DISPLAY_GONE else ENDED_RELEASED


_MAX_ADDRESS = 255
#: RELAY_OK's field after the pair tag: the ``HOST:PORT`` of the relays of
#: this relay's cluster (kind byte, count byte, then per address a length
#: byte and ASCII).
_CLUSTER_FIELD = 1
#: At most this many cluster addresses in a RELAY_OK; a viewer believes no
#: list that holds more.
CLUSTER_MOST = 16


def encode_open(role: int, code: str, token: bytes = bytes(TOKEN_SIZE)) -> bytes:
    """The RELAY_OPEN frame a client sends first.

    ``token``: for a host control connection, the host's *registration
    secret*; for a host data connection, the join id; unused for a viewer.
    """
    body = _OPEN.pack(MAGIC, PROTOCOL_VERSION, role, parse_code(code).encode(), token)
    return encode_frame(FrameType.RELAY_OPEN, body)


def parse_open(ftype: int, body: bytes) -> tuple[int, str, bytes]:
    """Validate a RELAY_OPEN frame; returns (role, code, token)."""
    if ftype != FrameType.RELAY_OPEN or len(body) != _OPEN.size or body[:4] != MAGIC:
        raise ProtocolError("not a screencodec relay client")
    _, version, role, code, token = _OPEN.unpack(body)
    if version != PROTOCOL_VERSION:
        raise VersionMismatchError(f"relay speaks version {PROTOCOL_VERSION}, client {version}")
    if role not in (ROLE_HOST_CONTROL, ROLE_VIEWER, ROLE_HOST_DATA):
        raise ProtocolError(f"unknown relay role {role}")
    try:
        return role, parse_code(code.decode("ascii")), token
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("malformed session code") from None


def encode_redirect(address: str) -> bytes:
    """The RELAY_REDIRECT frame naming another relay's ``HOST:PORT``."""
    return encode_frame(RELAY_REDIRECT, address.encode("ascii")[:_MAX_ADDRESS])


def parse_redirect(body: bytes) -> tuple[str, int]:
    """``(host, port)`` from a RELAY_REDIRECT body; ProtocolError if malformed."""
    try:
        text = body.decode("ascii")
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(text)
    except ValueError:
        raise ProtocolError("malformed relay redirect") from None
    return host.strip("[]"), int(port)


#: What a relay's redirect or cluster list may name: a host name
#: (dot-separated labels of letters, digits, '-' and '_', 253 characters in
#: all, a final dot allowed) or an IP literal (IPv6 in brackets, a zone of
#: such characters).
_HOST_CHARS = re.compile(r"[A-Za-z0-9._:%-]{1,253}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def is_relay_host(host: str) -> bool:
    """Whether ``host`` (brackets taken off) is a host name or an IP literal,
    as a viewer believes a relay's redirect or cluster list
    (connect/relay_open.redirect_target): nothing else, no control
    characters, spaces or anything a terminal would act on."""
    if not _HOST_CHARS.fullmatch(host):
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return "%" not in host and ":" not in host and all(map(_LABEL.fullmatch, labels))


def _believed(name: str) -> bytes:
    """``name`` in ASCII if a viewer believes it as a redirect's or a
    cluster list's ``HOST:PORT`` (connect/relay_open.redirect_target); else
    ValueError saying why."""
    try:
        raw = name.encode("ascii")
        host, _ = parse_redirect(raw)
    except (UnicodeEncodeError, ProtocolError):
        raise ValueError(f"{name!r} is not HOST:PORT with a port 1-65535") from None
    if not is_relay_host(host):
        raise ValueError(f"{name!r} is not a host name or IP address and port")
    return raw


def check_advertise(advertise: str) -> str:
    """``advertise``, a relay's own ``HOST:PORT`` (``relay --advertise``), if
    it can work: every claim of the relay names it (the other relays
    redirect viewers to it) and every RELAY_OK lists it first, so a viewer
    must believe it (as :func:`check_public_names` checks), a redirect
    must carry it whole (255 bytes), and clients on other machines must be
    able to dial it (not 0.0.0.0 or ::, a machine's wildcard). ValueError
    saying why not."""
    raw = _believed(advertise)
    if len(raw) > _MAX_ADDRESS:
        raise ValueError(f"{advertise[:40]!r}... is longer than a redirect carries "
                         f"({_MAX_ADDRESS} bytes)")
    host, _ = parse_redirect(raw)
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        unspecified = False
    if unspecified:
        raise ValueError(f"{advertise!r} is not an address clients can dial ({host} is this "
                         f"machine's wildcard: give its name or address)")
    return advertise


def check_public_names(names: Sequence[str], advertise: str) -> tuple[str, ...]:
    """``names`` (``HOST:PORT`` each), the public names of a relay's cluster
    (a load balancer's) that it lists in RELAY_OK after ``advertise`` (its
    own, or the longest it may be), if a viewer would believe them all and
    they fit with it in one RELAY_OK: at most :data:`CLUSTER_MOST` addresses
    in all, each of 255 ASCII bytes at most, the body within a handshake
    frame. ValueError naming the first that breaks a rule: a list a viewer
    does not believe is not believed at all (:func:`parse_viewer_ok`), so a
    relay must not start with one."""
    if len(names) > CLUSTER_MOST - 1:
        raise ValueError(f"at most {CLUSTER_MOST - 1} public names (RELAY_OK lists at most "
                         f"{CLUSTER_MOST} addresses, this relay's own first)")
    room = HANDSHAKE_FRAME_MAX - TOKEN_SIZE - 2 - (len(advertise.encode()) + 1)
    for name in names:
        raw = _believed(name)
        if len(raw) > _MAX_ADDRESS:
            raise ValueError(f"{name!r} is not a host name or IP address and port")
        room -= len(raw) + 1
        if room < 0:
            raise ValueError(f"the public names do not fit in one RELAY_OK "
                             f"({HANDSHAKE_FRAME_MAX} bytes with the pair tag and this "
                             f"relay's own address): {name!r} and after")
    return tuple(names)


def encode_viewer_ok(tag: bytes, cluster: Sequence[str] = ()) -> bytes:
    """The RELAY_OK frame that tells a paired viewer ``tag`` (:func:`pair_tag`)
    and, if ``cluster`` names any, the ``HOST:PORT`` of the relays of this
    relay's cluster: the addresses the viewer may name this pairing's tag
    to. A registering host is sent the same (its registration's tag; the
    relays it may register at when this one stops, failover42). The first
    :data:`CLUSTER_MOST` that fit in a handshake frame (ASCII, at most 255
    bytes each; others are left out). With none, the body is the
    tag alone, as relays before cluster lists sent it (a viewer that expects
    exactly 16 bytes keeps the tag)."""
    return encode_frame(FrameType.RELAY_OK, _tag_and_cluster(tag, cluster))


def encode_pong(tag: bytes, cluster: Sequence[str] = ()) -> bytes:
    """The RELAY_PONG frame that answers a host's RELAY_PING: its
    registration's pair tag and this relay's cluster as it knows it now,
    as RELAY_OK told them (:func:`encode_viewer_ok`'s body, read with
    :func:`parse_viewer_ok`), so a relay that joined the cluster after the
    host registered is known to it (relay43). A host before relay43 reads
    no body; a relay before it sends none."""
    return encode_frame(FrameType.RELAY_PONG, _tag_and_cluster(tag, cluster))


def _tag_and_cluster(tag: bytes, cluster: Sequence[str]) -> bytes:
    """``tag`` and the cluster field listing ``cluster`` (RELAY_OK's body)."""
    entries = []
    room = HANDSHAKE_FRAME_MAX - TOKEN_SIZE - 2
    for address in cluster:
        try:
            raw = address.encode("ascii")
        except UnicodeEncodeError:
            continue
        if not raw or len(raw) > _MAX_ADDRESS or len(raw) + 1 > room:
            continue
        entries.append(bytes([len(raw)]) + raw)
        room -= len(raw) + 1
        if len(entries) == CLUSTER_MOST:
            break
    body = tag
    if entries:
        body += bytes([_CLUSTER_FIELD, len(entries)]) + b"".join(entries)
    return body


def parse_viewer_ok(body: bytes) -> tuple[bytes | None, tuple[str, ...] | None]:
    """``(pair tag, cluster addresses)`` from a RELAY_OK a viewer was sent.

    The tag is None if the body holds none (a relay before pair tags sends
    an empty body). The addresses are None, *nothing told*, unless the body
    holds exactly one cluster field after the tag with at most
    :data:`CLUSTER_MOST` ASCII ``HOST:PORT`` entries (:func:`parse_redirect`)
    and nothing after them: a relay before cluster lists sends none, and a
    list that breaks any rule (too many, malformed, an unknown field) is
    not believed at all. The caller still checks each host
    (connect/relay_open.redirect_target)."""
    if len(body) < TOKEN_SIZE:
        return None, None
    tag, rest = body[:TOKEN_SIZE], body[TOKEN_SIZE:]
    if len(rest) < 2 or rest[0] != _CLUSTER_FIELD or rest[1] > CLUSTER_MOST:
        return tag, None
    addresses = []
    at = 2
    for _ in range(rest[1]):
        size = rest[at] if at < len(rest) else 0
        raw = rest[at + 1:at + 1 + size]
        if not size or len(raw) != size:
            return tag, None
        try:
            parse_redirect(raw)
        except ProtocolError:
            return tag, None
        addresses.append(raw.decode("ascii"))
        at += 1 + size
    if at != len(rest):
        return tag, None
    return tag, tuple(addresses)


def claim_verifier(code: str, secret: bytes) -> bytes:
    """What a relay keeps of a host's registration secret: a hash bound to the
    code. A copy of the directory (a Redis dump) gives no one the secret, and
    a secret is useless for any other code."""
    return hashlib.sha256(b"screencodec relay claim v1\0" + code.encode() + b"\0" + secret).digest()


def pair_tag(verifier: bytes) -> bytes:
    """What a relay tells a viewer it paired (RELAY_OK's body) of the host
    registration it paired it with, and what that viewer names when it
    reconnects to resume (its RELAY_OPEN token): the relay says
    SESSION_ENDED only of an end by that registration (the same secret, at
    any relay of the cluster, across a relay restart), and never to a viewer
    naming none. Not a secret (anyone
    with the code is paired and told it): it proves nothing, and a claim
    needs the secret itself."""
    return hashlib.sha256(b"screencodec relay pair tag v1\0" + verifier).digest()[:TOKEN_SIZE]


def address_key(ip: str) -> str:
    """The key per-address limits count under: the address itself for IPv4,
    its /64 for IPv6 (one subscriber usually holds a whole /64, so keying on
    the full address would give an attacker 2**64 fresh budgets)."""
    if ":" not in ip and "%" not in ip:
        # Not IPv6, no zone: an IPv4 address parses only as written (four
        # decimal octets, no leading zeros), so the key is the text itself,
        # and anything else is kept as it is too. A relay computes it
        # several times a connection: the parse was 14% of its CPU on a
        # crowded code (test_attack_crowded_code, profiled, cut54relay).
        return ip
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(addr) >> 64 << 64, 64)))
    return str(addr)
