"""One connection to a relay: RELAY_OPEN, the relay's first answer, and the
RELAY_REDIRECTs within a cluster it follows (at most :data:`MAX_REDIRECTS`) to
the relay that holds the session. Used by the host's registration
(connect/registration.py) and the viewer's connection (connect/via_relay.py);
see relay/server.py for the relay protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable

from screencodec.errors import (
    ProtocolError,
    SessionClosedError,
    TransportError,
)
from screencodec.transport.aio import wait_for
from screencodec.transport.channel.display import safe_text
from screencodec.transport.channel.framing import (
    HEADER,
    FrameType,
    close_writer,
    read_body,
    refusal_error,
)
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX
from screencodec.transport.connect.accept import (
    open_stream,
)
from screencodec.transport.relay.protocol import (
    RECOVERING,
    RELAY_REDIRECT,
    encode_open,
    is_relay_host,
    parse_recovering,
    parse_redirect,
)

__all__ = [
    "MAX_REDIRECTS",
    "RelayRecoveringError",
    "open_relay",
    "redirect_target",
    "reset_stream",
]

MAX_REDIRECTS = 2

_RELAY_ANSWERS = {FrameType.RELAY_OK, FrameType.REFUSE, RELAY_REDIRECT}


class _UnreachedError(TransportError):
    """The relay first dialled could not be reached or did not answer in
    time (:func:`open_relay`): a reconnection tries its cluster's others.
    ``at_redirect``: it was a relay a redirect named (``hop_answer``)."""

    at_redirect = False


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
    raise ProtocolError(
        "the relay redirected to something that is not a host name or IP "
        f"address ({safe_text(host, 64)!r})"
    )


async def open_relay(host: str, port: int, role: int, code: str, token: bytes, *,
                     timeout: float | None,
                     on_redirect: Callable[[str, int], None] | None = None,
                     on_ok: Callable[[bytes], None] | None = None,
                     stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None,
                     first_answer: float | None = None,
                     hop_answer: float | None = None,
                     ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:  # fmt: skip
    """Connect to a relay, send RELAY_OPEN and return once a relay answers
    RELAY_OK, following up to :data:`MAX_REDIRECTS` redirects (each reported
    to ``on_redirect``: a host name or an IP literal, :func:`redirect_target`);
    ``on_ok`` hears RELAY_OK's body. ``stream``: a connection to ``host``
    made already (relay_race.first_connected). ``first_answer``: how long
    the first relay is given to answer, if not ``timeout`` (relay43: a
    relay that accepts and stays silent is left with a reset, and the
    caller tries another). ``hop_answer``: how long a relay a redirect
    names is given to answer, if not ``timeout``; one that does not, or
    cannot be reached, is :class:`_UnreachedError` too (relay46: a relay
    whose directory still names a relay that froze sent an agent's
    reconnection there, and it waited its whole 20 s; the caller asks again).

    Raises TransportError naming the address if it cannot be reached or does
    not answer within ``timeout``, ProtocolError if something else than a
    screencodec relay answers, and the refusal's error for a REFUSE.
    """
    for hop in range(MAX_REDIRECTS + 1):
        where = f"{host}:{port}"
        try:
            if stream is not None and not hop:
                reader, writer = stream
            else:
                dial = hop_answer if hop and hop_answer is not None else timeout
                reader, writer = await open_stream(host, port, dial)
        except TransportError as exc:
            if hop and hop_answer is None:
                raise
            unreached = _UnreachedError(str(exc))
            unreached.errno = exc.errno  # open_stream's: ECONNREFUSED, nothing listens
            unreached.at_redirect = bool(hop)
            raise unreached from None
        try:
            writer.write(encode_open(role, code, token))
            bound = hop_answer if hop else first_answer
            wait = timeout if bound is None else bound
            try:
                ftype, body = await wait_for(_relay_answer(reader, where), wait)
            except asyncio.TimeoutError:
                # A reset: a relay that answers late must not take the
                # connection's end for a host that stopped (a FIN).
                reset_stream(writer)
                late = f"{where} did not answer in time: is it a screencodec relay?"
                if hop and hop_answer is None:
                    raise TransportError(late) from None
                unanswered = _UnreachedError(late)
                unanswered.at_redirect = bool(hop)
                raise unanswered from None
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
