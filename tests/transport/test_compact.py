"""Compact deltas (session kind 26, and 28 with rect references): every
update of every synthetic scenario (and of the recorded corpus, if present)
comes back byte for byte from its
compact form; hostile compact bodies are refused with ProtocolError; the
link state's rules (no compact delta without a keyframe to build on, none
after one that was lost)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import numpy as np
import pytest

from screencodec import ScreenEncoder
from screencodec.capture.replay import Recording
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ProtocolError
from screencodec.linkbench.workloads import corpus_dir, corpus_workloads
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import (
    MAX_COMPACT_OPS,
    CompactState,
    compact_update,
    expand_update,
    next_seq,
)
from screencodec.wire import Op

_VIDEO = importlib.util.find_spec("av") is not None
_SCENARIOS = ["typing", "terminal", "browser", "drag", "video", "idle"]


def _round_trip(frames: Iterator[np.ndarray], encoder: ScreenEncoder, refs: bool = False
                ) -> tuple[int, int]:  # fmt: skip
    """Each update the host would send (empty deltas are not), as the host's
    and the viewer's link states see it: its compact form (kind 28 with
    ``refs``), if any, expands to exactly the encoder's bytes, and both
    recent-rects tables agree. Returns (updates, compact ones)."""
    host, viewer = CompactState(), CompactState()
    sent = compact = 0
    seq = 0
    for frame in frames:
        data = encoder.encode(frame)
        last = encoder.last
        if not last.keyframe and not last.ops:
            continue
        seq = next_seq(seq)
        message = compact_update(host, seq, data, refs=refs)
        plain = compact_update(host, seq, data)
        host.note(seq, data)
        sent += 1
        if message is None:
            viewer.note(seq, data)
            continue
        compact += 1
        kind = m.CompactUpdateRefs if refs else m.CompactUpdate
        assert message[:2] == bytes((1, kind.KIND))
        assert len(message) < len(data) + 6
        # a spelled-out x + REFS may take a byte more than x (x of 120..127)
        assert plain is not None and len(message) <= len(plain) + sum(last.ops.values())
        decoded = m.decode(message)
        assert type(decoded) is kind
        assert m.decode(viewer.canonical(message)) == m.Update(seq, data)
        assert viewer.seq == seq and viewer.valid and viewer.rects == host.rects
    return sent, compact


@pytest.mark.parametrize("refs", [False, True])
@pytest.mark.parametrize("scenario", _SCENARIOS)
def test_every_synthetic_update_expands_to_the_encoders_bytes(scenario: str, refs: bool) -> None:
    src = SyntheticDesktop(320, 200, scenario=scenario, seed=4)
    enc = ScreenEncoder(320, 200, history=True, threads=1, lossy=True,
                        video="auto" if _VIDEO and scenario == "video" else False)  # fmt: skip
    enc.set_rate(1_500_000, interval=1 / 30)  # lossy photos, refined later: more op kinds
    try:
        sent, compact = _round_trip((src.frame_at(i) for i in range(30)), enc, refs)
    finally:
        enc.close()
    assert compact >= sent - 2  # the keyframe, and at most one large update, go whole


def test_without_history_every_update_expands_too() -> None:
    src = SyntheticDesktop(320, 200, scenario="drag", seed=2)
    with ScreenEncoder(320, 200, threads=1) as enc:
        sent, compact = _round_trip((src.frame_at(i) for i in range(20)), enc)
    assert compact == sent - 1


@pytest.mark.parametrize("refs", [False, True])
@pytest.mark.parametrize("name", [n.split(":", 1)[1] for n in corpus_workloads()] or ["none"])
def test_every_corpus_update_expands_to_the_encoders_bytes(name: str, refs: bool) -> None:
    if name == "none":
        pytest.skip("no corpus/ here")
    with Recording.open(corpus_dir() / name) as rec:
        n = min(len(rec.times), 40)
        frames = [rec.frame(i).copy() for i in range(n)]
    h, w = frames[0].shape[:2]
    with ScreenEncoder(w, h, history=True, threads=2) as enc:
        sent, compact = _round_trip(iter(frames), enc, refs)
    assert compact > 0 or sent <= 1


# -- hostile bodies ------------------------------------------------------------------


def _state() -> CompactState:
    """A viewer's state after a 64 x 48 keyframe with a ZSTREAM stream open."""
    with ScreenEncoder(64, 48, history=True, threads=1) as enc:
        frame = np.zeros((48, 64, 4), np.uint8)
        frame[..., 0] = np.arange(64, dtype=np.uint8)
        state = CompactState()
        state.note(1, enc.encode(frame))
    assert state.valid and (state.width, state.height) == (64, 48)
    return state


_FILL_LAST = Op.FILL | 0x08


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "last op is missing"),  # zero ops
        (bytes((Op.FILL, 0, 0, 1, 1)) + b"abc", "last op is missing"),  # no LAST
        (bytes((_FILL_LAST, 0x80)), "inside a varint"),  # truncated varint
        (bytes((_FILL_LAST, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)), "longer than 5"),  # overlong
        (bytes((_FILL_LAST, 0x81, 0x80, 0x01, 0, 1, 1)) + b"abc", "exceeds 16384"),  # x = 16385
        (bytes((_FILL_LAST, 0, 0, 1, 1)) + b"ab", "past the end"),  # FILL cut short
        (bytes((_FILL_LAST, 0, 0, 1, 1)) + b"abcd", "trailing"),
        (bytes((Op.RAW, 0, 0, 1, 1, 100)) + b"xyz", "past the end"),  # length past the end
        (bytes((0x08, 0, 0, 1, 1)) + b"abc", "unknown op 0"),  # op tag unknown
        (bytes(((Op.FILL | 0x08) & 0xF8, 0, 0, 1, 1)) + b"abc", "unknown op 0"),
        ((bytes((Op.FILL, 0, 0, 1, 1)) + b"abc") * MAX_COMPACT_OPS
         + bytes((_FILL_LAST, 0, 0, 1, 1)) + b"abc", "more than 256 ops"),
    ],
)  # fmt: skip
def test_a_hostile_compact_body_is_a_protocol_error(body: bytes, why: str) -> None:
    state = _state()
    with pytest.raises(ProtocolError, match=why):
        expand_update(state, body)
    with pytest.raises(ProtocolError):
        state.canonical(bytes((1, m.CompactUpdate.KIND)) + body)
    assert not state.valid and state.seq == 2  # it counts, and nothing builds on it


def test_a_compact_delta_needs_a_keyframe_to_build_on() -> None:
    body = bytes((_FILL_LAST, 0, 0, 1, 1)) + b"abc"
    with pytest.raises(ProtocolError, match="no keyframe"):
        expand_update(CompactState(), body)
    state = _state()
    assert len(expand_update(state, body)) == 8 + 16 + 14 + 3
    state.lost(2)  # refused: nothing builds on it until the next keyframe
    with pytest.raises(ProtocolError, match="no keyframe"):
        expand_update(state, body)


def test_a_zstream_op_without_reset_needs_the_streams_position() -> None:
    state = _state()
    state.zpos = None
    body = bytes((Op.ZSTREAM | 0x08, 0, 0, 1, 1)) + b"\x00\x00\x00"
    with pytest.raises(ProtocolError, match="position is unknown"):
        expand_update(state, body)
    reset = bytes((Op.ZSTREAM | 0x08 | 0x10, 0, 0, 1, 1)) + b"\x00\x00\x00"
    assert expand_update(state, reset)[8 + 16 + 14 : 8 + 16 + 18] == bytes(4)  # position 0


def test_the_host_keeps_the_full_form_when_the_viewer_could_not_rebuild_it() -> None:
    with ScreenEncoder(64, 48, history=True, threads=1) as enc:
        frame = np.zeros((48, 64, 4), np.uint8)
        state = CompactState()
        key = enc.encode(frame)
        assert compact_update(state, 1, key) is None  # a keyframe
        state.note(1, key)
        frame[4:20, 3:5, :3] = 90
        delta = enc.encode(frame)
        assert compact_update(state, 3, delta) is None  # a session sequence gap
        assert compact_update(state, 2, delta) is not None
        state.note(2, delta)
        enc.encode(frame)  # empty: not sent, and it carries the next one's number
        frame[4:20, 3:5, :3] = 10
        later = enc.encode(frame)
        assert compact_update(state, 3, later) is not None
        skipped = CompactState()
        skipped.note(1, key)  # as if ``delta`` never went: a codec sequence gap
        assert compact_update(skipped, 2, later) is None
        resized = CompactState()
        with ScreenEncoder(32, 48, threads=1) as other:
            resized.note(1, other.encode(frame[:, :32].copy()))
        assert compact_update(resized, 2, delta) is None  # another size


def test_random_and_mutated_bodies_are_expanded_or_refused_never_crash() -> None:
    """Whatever the bytes, expansion gives an update or a ProtocolError."""
    rng = np.random.default_rng(7)
    state = _state()
    with ScreenEncoder(64, 48, history=True, threads=1) as enc:
        host = CompactState()
        frame = np.zeros((48, 64, 4), np.uint8)
        host.note(1, enc.encode(frame))
        frame[5:30, 7:40, :3] = rng.integers(0, 255, (25, 33, 3), dtype=np.uint8)
        frame[40:44, 1:3, :3] = 9
        message = compact_update(host, 2, enc.encode(frame))
    assert message is not None
    bodies = [rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8).tobytes()
              for _ in range(500)]  # fmt: skip
    for _ in range(500):
        mutated = bytearray(message[2:])
        for _ in range(int(rng.integers(1, 4))):
            mutated[int(rng.integers(0, len(mutated)))] = int(rng.integers(0, 256))
        bodies.append(bytes(mutated[: int(rng.integers(0, len(mutated) + 1))]))
    for body in bodies:
        try:
            update = expand_update(state, body)
        except ProtocolError:
            continue
        assert update[:4] == b"SC\x01\x01"
