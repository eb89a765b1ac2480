"""Compact receipts (session kind 27): the exact layout, every receipt the
viewer codes comes back byte for byte at the host, hostile bodies are
refused with ProtocolError, and the rules for when a receipt goes in full."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.errors import ProtocolError
from screencodec.linkbench.compact import ReceiptSizer
from screencodec.transport.session import messages as m
from screencodec.transport.session._msglink import MAX_SEQ_STEP
from screencodec.transport.session.compact import ReceiptState, next_seq

_U32, _U64 = (1 << 32) - 1, (1 << 64) - 1
_HEAD = bytes((1, m.CompactReceipt.KIND))


def _state(seq: int, arrived_us: int) -> ReceiptState:
    state = ReceiptState()
    state.note(m.Receipt(seq, arrived_us, 0))
    return state


def test_the_layout_is_the_kind_then_four_varints() -> None:
    # seq +1, 250000 us later (0x3D090: 3 bytes), held 120 us, no span (0).
    msg = m.CompactReceipt(1, 250_000, 120)
    assert m.encode(msg) == _HEAD + bytes((1, 0x90, 0xA1, 0x0F, 120, 0))
    # A span of 70 us is sent as 71; the largest of each field, 5 + 10 + 5 + 5 bytes.
    assert m.encode(m.CompactReceipt(2, 0, 0, 70))[2:] == bytes((2, 0, 0, 71))
    big = m.CompactReceipt(MAX_SEQ_STEP, _U64, _U32, m.Receipt.NO_SPAN - 1)
    data = m.encode(big)
    assert len(data) == 2 + 5 + 10 + 5 + 5 and m.decode(data) == big
    assert data[-5:] == bytes((0xFF, 0xFF, 0xFF, 0xFF, 0x0F))  # span + 1 = 2^32 - 1


def test_every_truncation_and_extension_is_refused() -> None:
    for msg in (m.CompactReceipt(1, 250_000, 120), m.CompactReceipt(1 << 31, _U64, _U32, 5)):
        data = m.encode(msg)
        for cut in range(len(data)):
            with pytest.raises(ProtocolError):
                m.decode(data[:cut])
        with pytest.raises(ProtocolError, match="trailing"):
            m.decode(data + b"\x00")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "truncated"),
        (bytes((1, 0x80)), "truncated"),  # a varint cut short
        (bytes((1, 5, 0, 0x80)), "truncated"),
        (bytes((0, 5, 0, 0)), "seq step 0"),
        (bytes((0x81, 0x80, 0x80, 0x80, 0x08, 5, 0, 0)), "seq step 2147483649"),  # 2^31 + 1
        (bytes((1, 0x80, 0)) + bytes((0, 0)), "longer than its value"),  # 0 in two bytes
        (bytes((1,)) + b"\xff" * 10 + bytes((1, 0, 0)), "longer than 10"),
        (bytes((1,)) + b"\xff" * 9 + bytes((0x02, 0, 0)), "arrival step"),  # 2^64 + ...
        (bytes((1, 5, 0x80, 0x80, 0x80, 0x80, 0x10, 0)), "held_us 4294967296"),
        (bytes((1, 5, 0, 0x80, 0x80, 0x80, 0x80, 0x10)), "span_us \\+ 1 4294967296"),
        (bytes((1, 5, 0, 0, 0)), "trailing"),
    ],
)
def test_hostile_bodies_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        m.decode(_HEAD + body)


def test_the_builder_refuses_what_the_parser_would() -> None:
    for bad in (m.CompactReceipt(0, 1, 1), m.CompactReceipt(MAX_SEQ_STEP + 1, 1, 1),
                m.CompactReceipt(1, -1, 1), m.CompactReceipt(1, _U64 + 1, 1),
                m.CompactReceipt(1, 1, _U32 + 1), m.CompactReceipt(1, 1, 1, -1),
                m.CompactReceipt(1, 1, 1, m.Receipt.NO_SPAN + 1)):  # fmt: skip
        with pytest.raises(ValueError, match="compact receipt"):
            m.encode(bad)


def test_the_host_rebuilds_what_the_viewer_coded() -> None:
    viewer, host = ReceiptState(), ReceiptState()
    seq, arrived = _U32 - 2, 7_000_000  # across the wrap: the host never sends 0
    sizes = []
    for k in range(8):
        seq = next_seq(seq)
        arrived += 250_000 + k
        receipt = m.Receipt(seq, arrived, 100 + k, m.Receipt.NO_SPAN if k % 2 else 3000 + k)
        compact = viewer.compact(receipt)
        viewer.note(receipt)
        if k == 0:
            assert compact is None  # the link's first receipt: nothing to code against
            sent: m.Message = receipt
        else:
            assert compact is not None
            sent = compact
        data = m.encode(sent)
        sizes.append(len(data))
        got = m.decode(data)
        assert isinstance(got, m.Receipt | m.CompactReceipt)
        assert host.take(got) == receipt
    assert sizes[0] == 22 and max(sizes[1:]) <= 10
    assert viewer.last == host.last == (seq, arrived)


def test_out_of_range_steps_go_in_full() -> None:
    state = _state(100, 5_000_000)
    assert state.compact(m.Receipt(100, 5_000_001, 0)) is None  # seq step 0
    assert state.compact(m.Receipt(99, 5_000_001, 0)) is None  # 2^32 - 1 back
    assert state.compact(m.Receipt(100 + MAX_SEQ_STEP + 1, 5_000_001, 0)) is None
    assert state.compact(m.Receipt(101, 4_999_999, 0)) is None  # arrival going back
    step = state.compact(m.Receipt((100 + MAX_SEQ_STEP) & _U32, 5_000_000, 0))
    assert step == m.CompactReceipt(MAX_SEQ_STEP, 0, 0)  # the limits themselves go compact
    assert state.last == (100, 5_000_000)  # compact() changes nothing


def test_the_host_refuses_a_compact_receipt_it_cannot_rebuild() -> None:
    with pytest.raises(ProtocolError, match="before any receipt"):
        ReceiptState().take(m.CompactReceipt(1, 1, 0))
    with pytest.raises(ProtocolError, match="update 0"):
        _state(_U32, 1).expand(m.CompactReceipt(1, 1, 0))  # lands on 0: never sent
    with pytest.raises(ProtocolError, match="2\\^64"):
        _state(5, _U64 - 10).expand(m.CompactReceipt(1, 11, 0))
    ok = _state(5, _U64 - 10)
    assert ok.take(m.CompactReceipt(1, 10, 0)) == m.Receipt(6, _U64, 0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, _U32), st.integers(0, _U64), st.integers(0, _U32),
                          st.integers(0, _U32)), min_size=1, max_size=12))  # fmt: skip
def test_any_receipt_sequence_survives_the_link(
    receipts: list[tuple[int, int, int, int]],
) -> None:
    viewer, host = ReceiptState(), ReceiptState()
    for seq, arrived, held, span in receipts:
        if seq == 0:
            continue  # no update is numbered 0
        receipt = m.Receipt(seq, arrived, held, span)
        compact = viewer.compact(receipt)
        viewer.note(receipt)
        got = m.decode(m.encode(receipt if compact is None else compact))
        assert isinstance(got, m.Receipt | m.CompactReceipt)
        assert host.take(got) == receipt


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=32))
def test_random_bodies_parse_or_are_refused_and_reencode_identically(body: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        msg = m.decode(_HEAD + body)
        assert m.encode(msg) == _HEAD + body  # one encoding per value


def test_the_ledger_prices_a_full_receipt_as_the_compact_one_it_could_be() -> None:
    sizer = ReceiptSizer()
    first = m.Receipt(41, 5_000_000, 120, m.Receipt.NO_SPAN)
    assert sizer.size(m.encode(first)) == 22
    state = ReceiptState()
    state.note(first)
    second = m.Receipt(42, 5_250_000, 120)
    compact = state.compact(second)
    assert compact is not None and sizer.size(m.encode(compact)) == 8  # sent compact: as is
    # The next full one is coded against the compact one the sizer saw.
    assert sizer.size(m.encode(m.Receipt(43, 5_250_300, 20_000, 70))) == 2 + 1 + 2 + 3 + 1
