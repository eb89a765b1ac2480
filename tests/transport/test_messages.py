"""The session message format: round trips and strict rejection."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.errors import ProtocolError
from screencodec.geometry import Monitor
from screencodec.transport.session import messages as m

SAMPLES: list[m.Message] = [
    m.Update(7, b"\x01\x02payload"),
    m.Ack(7),
    m.KeyframeRequest(),
    m.PermissionRequest(3, "Alice (support) ✓"),
    m.PermissionGrant(3),
    m.PermissionDeny(2),
    m.PermissionRevoke(2, 1),
    m.PointerMove(-5, 1079),
    m.Button(3, True),
    m.Wheel(-2, 3),
    m.Key(0xFF0D, False, ""),
    m.Key(0x61, True, "a"),
    m.MonitorList((Monitor(0, 0, 0, 3840, 1080), Monitor(1, -1920, 0, 1920, 1080, True)), 1),
    m.SelectMonitor(0),
    m.Chat("hello ünïcode"),
    m.FileOffer(1, "report.pdf", 12345),
    m.FileAccept(1, True),
    m.FileChunk(1, 4096, b"x" * 100),
    m.FileEnd(1, bytes(range(32))),
    m.Extension("clipboard", b"\x00\xff"),
    m.Stats(30000, 1500, 2500, 4, 100),
    m.Notice(m.Notice.INPUT_DROPPED, "no grant"),
    m.Bye("done"),
    m.Bye(),
    m.Receipt(7, 123_456_789, 1200, 3400),
    m.CompactReceipt(1, 250_000, 120),
]


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda x: type(x).__name__)
def test_round_trip(msg: m.Message) -> None:
    data = m.encode(msg)
    assert data[0] == m.PROTOCOL_VERSION
    assert m.decode(data) == msg


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda x: type(x).__name__)
def test_every_truncation_and_extension_is_rejected(msg: m.Message) -> None:
    data = m.encode(msg)
    for cut in range(len(data)):
        if isinstance(msg, m.Update) and cut >= 7:
            continue  # an update's data is "the rest": a shorter one is still well formed
        with pytest.raises(ProtocolError):
            m.decode(data[:cut])
    if not isinstance(msg, m.Update):
        with pytest.raises(ProtocolError):
            m.decode(data + b"\x00")


def test_unknown_kind_and_version() -> None:
    with pytest.raises(ProtocolError, match="kind"):
        m.decode(bytes([m.PROTOCOL_VERSION, 200]))
    with pytest.raises(ProtocolError, match="version"):
        m.decode(bytes([9]) + m.encode(m.Ack(1))[1:])


def test_field_validation() -> None:
    bad = [
        bytes([1, m.Button.KIND, 0, 1]),  # button 0
        bytes([1, m.Button.KIND, 1, 2]),  # boolean 2
        bytes([1, m.Wheel.KIND]) + struct.pack(">hh", 0, 500),
        bytes([1, m.PointerMove.KIND]) + struct.pack(">ii", 1 << 30, 0),
        bytes([1, m.Key.KIND]) + struct.pack(">IB", 0xFFFFFFFF, 1) + b"\x00\x00",
        bytes([1, m.Chat.KIND]) + struct.pack(">H", 2) + b"\xff\xfe",  # bad UTF-8
        bytes([1, m.Chat.KIND]) + struct.pack(">H", 1) + b"\x00",  # NUL
        bytes([1, m.Chat.KIND]) + struct.pack(">H", 60000) + b"a" * 60000,  # > limit
        # a chunk claiming 4 GiB: rejected on the length, before any copy
        bytes([1, m.FileChunk.KIND]) + struct.pack(">IQI", 1, 0, 0xFFFFFFFF),
        bytes([1, m.MonitorList.KIND]) + struct.pack(">H", 60000),
        bytes([1, m.Update.KIND]) + struct.pack(">I", 1),  # empty update
    ]
    for data in bad:
        with pytest.raises(ProtocolError):
            m.decode(data)


def test_encoder_refuses_what_the_decoder_would_reject() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        m.encode(m.Chat("x" * (m.MAX_CHAT_BYTES + 1)))
    with pytest.raises(ValueError, match="Ack"):
        m.encode(m.Ack(-1))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        m.decode(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=40))
def test_random_payload_for_every_kind(kind: int, payload: bytes) -> None:
    try:
        msg = m.decode(bytes([1, kind]) + payload)
    except ProtocolError:
        return
    assert m.decode(m.encode(msg)) == msg  # whatever parses, re-encodes identically
