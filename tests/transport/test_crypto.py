"""Key schedule and record sealing, without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.crypto import (
    DIRECTION_HOST_TO_VIEWER,
    DIRECTION_VIEWER_TO_HOST,
    RecordOpener,
    RecordSealer,
    SessionKeys,
    confirmation_mac,
    derive_session_keys,
    verify_confirmation,
)
from screencodec.transport.channel.framing import FrameType

DATA = FrameType.RECORD_DATA


def _keys() -> SessionKeys:
    return derive_session_keys(b"k" * 32, b"t" * 32)


def _pair(direction: int = DIRECTION_HOST_TO_VIEWER) -> tuple[RecordSealer, RecordOpener]:
    a, b = _keys(), _keys()
    return RecordSealer(a.host_to_viewer, direction), RecordOpener(b.host_to_viewer, direction)


def test_four_distinct_keys_bound_to_transcript() -> None:
    k = _keys()
    keys = {
        bytes(k.confirm_host),
        bytes(k.confirm_viewer),
        bytes(k.host_to_viewer),
        bytes(k.viewer_to_host),
    }
    assert len(keys) == 4
    other = derive_session_keys(b"k" * 32, b"u" * 32)
    assert bytes(other.host_to_viewer) != bytes(k.host_to_viewer)


def test_confirmation_is_role_bound() -> None:
    k = _keys()
    mac = confirmation_mac(k.confirm_viewer, b"viewer", b"t")
    assert verify_confirmation(k.confirm_viewer, b"viewer", b"t", mac)
    assert not verify_confirmation(k.confirm_viewer, b"host", b"t", mac)
    assert not verify_confirmation(k.confirm_host, b"viewer", b"t", mac)


def test_round_trip_in_order() -> None:
    sealer, opener = _pair()
    for i in range(5):
        msg = bytes([i]) * i
        assert opener.open(DATA, sealer.seal(DATA, msg)) == msg


def test_replay_reorder_tamper_retype_and_reflection_fail() -> None:
    sealer, opener = _pair()
    r0, r1 = sealer.seal(DATA, b"zero"), sealer.seal(DATA, b"one")
    with pytest.raises(ProtocolError):
        opener.open(DATA, r1)  # reordered
    sealer, opener = _pair()
    r0 = sealer.seal(DATA, b"zero")
    opener.open(DATA, r0)
    with pytest.raises(ProtocolError):
        opener.open(DATA, r0)  # replayed
    sealer, opener = _pair()
    tampered = bytearray(sealer.seal(DATA, b"zero"))
    tampered[2] ^= 1
    with pytest.raises(ProtocolError):
        opener.open(DATA, bytes(tampered))
    sealer, opener = _pair()
    with pytest.raises(ProtocolError):
        opener.open(FrameType.RECORD_CLOSE, sealer.seal(DATA, b"x"))  # retyped
    sealer, _ = _pair(DIRECTION_HOST_TO_VIEWER)
    _, opener = _pair(DIRECTION_VIEWER_TO_HOST)
    with pytest.raises(ProtocolError):
        opener.open(DATA, sealer.seal(DATA, b"x"))  # reflected to the other direction


def test_sequence_numbers_never_wrap() -> None:
    sealer, _ = _pair()
    sealer.seq = sealer.seq_limit - 1
    sealer.seal(DATA, b"last")
    with pytest.raises(SessionClosedError, match="exhausted"):
        sealer.seal(DATA, b"one too many")


def test_wipe_zeroes_keys_and_refuses_use() -> None:
    k = _keys()
    sealer = RecordSealer(k.host_to_viewer, DIRECTION_HOST_TO_VIEWER)
    sealer.wipe()
    assert k.host_to_viewer == bytearray(32)
    with pytest.raises(SessionClosedError):
        sealer.seal(DATA, b"x")
    k.wipe()
    assert k.confirm_host == bytearray(32)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=300), st.data())
def test_any_single_byte_change_is_caught(message: bytes, data: st.DataObject) -> None:
    sealer, opener = _pair()
    sealed = bytearray(sealer.seal(DATA, message))
    pos = data.draw(st.integers(0, len(sealed) - 1))
    sealed[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ProtocolError):
        opener.open(DATA, bytes(sealed))
