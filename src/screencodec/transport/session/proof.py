"""A resume ticket's proof of possession: that its presenter holds the link
the session is live on, not only a copy of the ticket (pop36).

A session taken up again (resumed) on a link holds the ticket it was taken
up with until that link's viewer answers an update; the agent's retry with
that ticket, after that link dropped on its side, must not wait for it and
be asked about (takeover36; resume38). A ticket may leak (an embedder may
keep it as plain bytes), and a copy (with the password) must not take a
live session over. What never leaves the agent's process is the key of
that live link. So:

* A host of this version sends :data:`OFFER` on :data:`PROOF_CHANNEL` after
  each ticket; the viewer keeps, with that ticket, :func:`link_key`: a
  secret exported from the link it came on (a value of that link's
  handshake keys: the host derives the same one from its end).
* A viewer that presents a ticket kept so sends, right after it, a proof
  (:func:`prove`): an HMAC keyed by that secret over the ticket and a value
  exported from the NEW link, which no other connection shares (so a
  proof seen once cannot be replayed on another).
* When the proof verifies (:func:`verifies`, constant time) against that
  live link's own secret, the presenter is that link's agent: it takes the
  session over from that link at once, unasked (session/link.py; until
  resume38 only once a probe of that link found it silent for 1 s, on a
  direct link on Linux). No proof, or a wrong one: the wait (5 s) and then
  the question, as before takeover36.
* A session whose link was lost (parked) has no live link: the host keeps
  that link's secret with the ticket (session/resume.py) and checks the
  proof against it (:func:`verifies_with`). No proof, or a wrong one: the
  presenter is asked about, the session left parked for its agent
  (parked38).

A host of an earlier version never sends the offer, so a viewer never sends
that host a proof (it would not read one); a viewer of an earlier version
sends none: its retry waits and is asked about (since parked38 also the
retry of a session that is away).
"""

from __future__ import annotations

import hashlib
import hmac

from screencodec.errors import SessionClosedError
from screencodec.transport.channel.base import Channel, ChannelTap
from screencodec.transport.channel.sealed import SecureChannel

__all__ = ["OFFER", "PROOF_CHANNEL", "PROOF_SIZE", "link_key", "prove", "verifies",
           "verifies_with"]

#: The reserved extension channel: host -> viewer the offer, viewer -> host
#: the proof (between the ticket and the request).
PROOF_CHANNEL = "screencodec.resume.proof"
#: What the host sends on it: it reads a proof.
OFFER = b"\x01"
PROOF_SIZE = 32

_KEY_LABEL = b"screencodec resume proof"
_BINDING_LABEL = b"screencodec resume proof binding"


def _secure(channel: Channel | object) -> SecureChannel | None:
    while isinstance(channel, ChannelTap):
        channel = channel.inner
    return channel if isinstance(channel, SecureChannel) else None


def _export(channel: Channel | object, label: bytes) -> bytes | None:
    wire = _secure(channel)
    if wire is None:
        return None
    try:
        return wire.export(label)
    except SessionClosedError:
        return None


def link_key(channel: Channel | object) -> bytes | None:
    """The secret a ticket that came on ``channel`` is proven with (None: not
    a sealed channel, or closed). Kept with the ticket, never sent."""
    return _export(channel, _KEY_LABEL)


def _mac(key: bytes, ticket: bytes, binding: bytes) -> bytes:
    return hmac.new(key, _KEY_LABEL + b"\0" + ticket + binding, hashlib.sha256).digest()


def prove(key: bytes, ticket: bytes, channel: Channel | object) -> bytes | None:
    """The proof that the presenter of ``ticket`` on ``channel`` (the new
    link) holds ``key`` (:func:`link_key` of the link it is live on); None
    when ``channel`` is not a sealed one."""
    binding = _export(channel, _BINDING_LABEL)
    return None if binding is None else _mac(key, bytes(ticket), binding)


def verifies(proof: bytes | None, ticket: bytes, live: Channel | object,
             channel: Channel | object) -> bool:  # fmt: skip
    """Whether ``proof``, presented with ``ticket`` on ``channel``, was made
    with the secret of ``live``, the link the session is live on."""
    return verifies_with(proof, ticket, link_key(live), channel)


def verifies_with(proof: bytes | None, ticket: bytes, key: bytes | bytearray | None,
                  channel: Channel | object) -> bool:  # fmt: skip
    """Whether ``proof``, presented with ``ticket`` on ``channel``, was made
    with ``key``: the secret of a link the host kept with the ticket (the
    link is closed now, its keys wiped: a parked session, parked38)."""
    binding = _export(channel, _BINDING_LABEL)
    if proof is None or not key or binding is None:
        return False
    return hmac.compare_digest(_mac(bytes(key), bytes(ticket), binding), proof)
