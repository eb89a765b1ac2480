"""Attacks on compact deltas with rect references (session kind 28, the
recent-rects table in CompactState): the host's and the viewer's tables
under real failures (a refused compact delta, a decoder's refusal, keyframe
requests racing deltas, empty, hashed, unwalkable and resized updates, a
ZSTREAM RESET, monitor switches, a second session), hostile kind 28 bytes
from a scripted host to a real Viewer, recordings of a session with a
refused kind 28, and random op sequences round tripped byte for byte.

The rule under attack: the viewer expands a kind 28 only while its table is
the host's, so a compact delta is never painted from a diverged table (it
carries no hash that would catch the wrong rect). Found: the tables never
diverged while the viewer could expand; ``zpos`` may (a keyframe keeps it,
a refusal does not advance the viewer's) until the next ZSTREAM RESET, which
docs/protocol.md makes the first ZSTREAM op after a keyframe; a viewer's
recording leaves out a compact delta the viewer ended the session on."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec import ScreenEncoder
from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError, ProtocolError
from screencodec.frames import framebuffer_hash
from screencodec.geometry import Rect
from screencodec.recording import Player, Recorder, RecordingReader
from screencodec.transport import Host, Viewer, allow
from screencodec.transport.session import messages as m
from screencodec.transport.session.compact import (
    MAX_COMPACT_OPS,
    REFS,
    CompactState,
    compact_update,
    next_seq,
)
from screencodec.transport.session.viewer import default_capabilities
from screencodec.wire import Op
from screencodec.wire.build import EncodedOp, build_update, zstream_op

from .helpers import GrantingHost, OnMonitor, bgr_equal, run, tcp_pair, until
from .test_compact_rects import Blinking, _leb
from .test_compact_session import RememberingDecoder, _converge, _link, _session
from .test_compact_session import Tap as _Tap

_KIND28 = bytes((1, m.CompactUpdateRefs.KIND))
_FULL = default_capabilities(compact=True)
_W, _H = 64, 48
_SLOTS = ("seq", "valid", "codec_seq", "width", "height", "zpos", "rects")


def _state(s: CompactState) -> tuple[Any, ...]:
    return tuple(list(v) if isinstance(v, list) else v for v in (getattr(s, k) for k in _SLOTS))


def _fill(x: int, y: int, w: int, h: int, colour: bytes = b"abc") -> EncodedOp:
    return EncodedOp(Op.FILL, Rect(x, y, w, h), colour)


class _Ends:
    """The host's CompactState (compact_update then note, as the Streamer)
    and the viewer's (canonical, as the Viewer's _take): ``send`` puts one
    codec update on the link, ``hostile`` a kind 28 body the host made up."""

    def __init__(self) -> None:
        self.host, self.viewer = CompactState(), CompactState()
        self.seq = 0
        self.codec_seq = 0

    def update(self, ops: list[EncodedOp], *, keyframe: bool = False, size: tuple[int, int]
               = (_W, _H), fb_hash: int | None = None) -> bytes:  # fmt: skip
        data = build_update(self.codec_seq, *size, ops, keyframe=keyframe,
                            framebuffer_hash=fb_hash)  # fmt: skip
        if ops or keyframe:
            self.codec_seq += 1
        return data

    def send(self, data: bytes, *, refs: bool = True) -> tuple[bytes | None, bytes | None]:
        """``(the compact message or None, what the viewer expanded or None:
        it refused)``; ``refs``: kind 28, else kind 26."""
        self.seq = next_seq(self.seq)
        message = compact_update(self.host, self.seq, data, refs=refs)
        self.host.note(self.seq, data)
        wire = m.encode(m.Update(self.seq, data)) if message is None else message
        try:
            got = self.viewer.canonical(wire)
        except ProtocolError:
            return message, None
        assert got == m.encode(m.Update(self.seq, data)), "expanded to other bytes"
        return message, got

    def hostile(self, body: bytes) -> None:
        self.seq = next_seq(self.seq)
        self.host.seq = self.seq  # the host counts it as sent
        with pytest.raises(ProtocolError):
            self.viewer.canonical(_KIND28 + body)


def _key(ends: _Ends, extra: list[EncodedOp] | None = None) -> bytes:
    return ends.update([_fill(0, 0, _W, _H, b"\x10\x20\x30"), *(extra or [])], keyframe=True)


_A, _B, _C = (1, 2, 3, 4), (10, 20, 5, 5), (30, 3, 8, 12)


def test_empty_hashed_and_unwalkable_updates_are_noted_alike_at_both_ends() -> None:
    ends = _Ends()
    ends.send(_key(ends))
    assert ends.send(ends.update([_fill(*_A)]))[1] is not None
    # an empty delta: an Update (no compact form), noted alike, the table unchanged
    message, got = ends.send(ends.update([]))
    assert message is None and got is not None
    assert _state(ends.host) == _state(ends.viewer) and ends.host.rects[0] == _A
    message, got = ends.send(ends.update([_fill(*_A)]))
    assert message == _KIND28 + bytes((Op.FILL | 0x08, 0)) + b"abc"
    # a hashed delta goes whole; its rects (after the hash) enter both tables
    message, got = ends.send(ends.update([_fill(*_B), _fill(*_C)], fb_hash=0x1234))
    assert message is None and ends.host.rects[:3] == [_C, _B, _A]
    assert _state(ends.host) == _state(ends.viewer)
    message, got = ends.send(ends.update([_fill(*_B, b"xyz")]))
    assert message == _KIND28 + bytes((Op.FILL | 0x08, 1)) + b"xyz" and got is not None
    # more than MAX_COMPACT_OPS ops: not walked, both tables emptied
    message, got = ends.send(ends.update([_fill(*_A)] * (MAX_COMPACT_OPS + 1)))
    assert message is None and ends.host.rects == [] == ends.viewer.rects
    message, got = ends.send(ends.update([_fill(*_A)]))  # spelled out again, then a reference
    assert message is not None and got is not None and message[3] != 0
    assert ends.send(ends.update([_fill(*_A)]))[0] == _KIND28 + bytes((Op.FILL | 0x08, 0)) + b"abc"
    # exactly MAX_COMPACT_OPS ops: compact, all by reference
    message, got = ends.send(ends.update([_fill(*_A)] * MAX_COMPACT_OPS))
    assert message is not None and got is not None and len(message) == 2 + 5 * MAX_COMPACT_OPS
    assert _state(ends.host) == _state(ends.viewer)


def test_zstream_reset_and_a_size_change_keep_both_ends_in_step() -> None:
    ends = _Ends()
    ends.send(_key(ends))
    z = Rect(*_C)
    assert ends.send(ends.update([zstream_op(z, 0, b"aa", reset=True)]))[1] is not None
    assert ends.send(ends.update([zstream_op(z, 8 * 12 * 3, b"bb")]))[1] is not None
    assert ends.send(ends.update([zstream_op(z, 0, b"cc", reset=True), _fill(*_C)]))[1]
    assert _state(ends.host) == _state(ends.viewer) and ends.host.zpos == 8 * 12 * 3
    # a delta of another size: both ends stop building on it, alike
    message, got = ends.send(ends.update([_fill(*_A)], size=(_W, _H + 1)))
    assert message is None and got is not None and not ends.host.valid
    assert _state(ends.host) == _state(ends.viewer)
    assert ends.send(ends.update([_fill(*_A)]))[0] is None  # no compact before a keyframe
    ends.send(ends.update([_fill(0, 0, 20, 20)], keyframe=True, size=(20, 20)))
    assert ends.host.rects == [(0, 0, 20, 20)] and _state(ends.host) == _state(ends.viewer)
    message, got = ends.send(ends.update([_fill(0, 0, 20, 20)], size=(20, 20)))
    assert message == _KIND28 + bytes((Op.FILL | 0x08, 0)) + b"abc" and got is not None


@pytest.mark.parametrize("plain_between", [False, True])
def test_after_a_refused_compact_delta_no_reference_is_expanded_until_a_keyframe(
    plain_between: bool,
) -> None:
    """The viewer empties its table on a refusal; the host does not know and
    keeps referring to its own. Every later kind 28 (references the viewer
    could resolve against its emptied-then-refilled table included) must be
    refused, never expanded from the diverged table, until the keyframe."""
    ends = _Ends()
    ends.send(_key(ends, [_fill(*_B)]))
    ends.send(ends.update([_fill(*_A)]))
    ends.hostile(bytes((Op.FILL | 0x08, REFS - 1)) + b"abc")
    assert ends.viewer.rects == [] and ends.host.rects == [_A, _B, (0, 0, _W, _H)]
    if plain_between:  # an Update in between fills the viewer's table again
        message, got = ends.send(ends.update([_fill(*_C)], fb_hash=1))
        assert message is None and got is not None and ends.viewer.rects == [_C]
    for rect in (_A, _B, _C, _A):
        message, got = ends.send(ends.update([_fill(*rect)]))
        assert message is not None and got is None  # refused, not painted
    ends.send(_key(ends))
    assert _state(ends.host) == _state(ends.viewer)
    assert ends.send(ends.update([_fill(*_A)]))[1] is not None
    assert ends.send(ends.update([_fill(*_A)]))[0] == _KIND28 + bytes((Op.FILL | 0x08, 0)) + b"abc"


def test_a_decoder_refusal_stops_expansion_until_the_keyframe() -> None:
    ends = _Ends()
    ends.send(_key(ends))
    ends.send(ends.update([_fill(*_A)]))
    ends.viewer.refused(ends.seq)  # the viewer's decoder refused the last update
    for rect in (_A, _B, _A):
        assert ends.send(ends.update([_fill(*rect)]))[1] is None
    ends.send(_key(ends))
    assert _state(ends.host) == _state(ends.viewer)


# -- hostile kind 28 from a scripted host to a real Viewer ---------------------------


_F = Op.FILL | 0x08
#: Bodies a hostile host sends as kind 28 after the keyframe (one FILL of the
#: whole frame) and a delta at _A: the table is [_A, the frame].
_HOSTILE = {
    "a reference to an empty entry": bytes((_F, 2)) + b"abc",
    "the last reference, a short table": bytes((_F, REFS - 1)) + b"abc",
    "a truncated varint": bytes((_F, 0x80)),
    "an overlong varint": bytes((_F, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00)) + b"abc",
    "x = 16384 + REFS (outside the frame)": bytes((_F,)) + _leb(16384 + REFS) + b"\0\1\1abc",
    "x = 16384 + REFS + 1": bytes((_F,)) + _leb(16384 + REFS + 1) + b"\0\1\1abc",
    "a spelled-out x in the reference range of kind 26": bytes((_F, 3, 0, 1, 1)) + b"abc",
    "more than MAX_COMPACT_OPS references": (bytes((Op.FILL, 0)) + b"abc") * MAX_COMPACT_OPS
    + bytes((_F, 0)) + b"abc",
    "a reference then trailing bytes": bytes((_F, 0)) + b"abcd",
    "no ops": b"",
    "a reference, no LAST op": bytes((Op.FILL, 0)) + b"abc",
    "a RAW reference whose length runs past the end": bytes((Op.RAW, 1)) + _leb(1 << 20) + b"x",
    "a reference with op 0": bytes((0x08, 0)) + b"abc",
}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.lists(st.sampled_from([
    bytes((_F,)), bytes((Op.RAW,)), bytes((Op.ZSTREAM | 0x08,)), bytes((Op.COPY,)),
    bytes((0,)), bytes((1,)), bytes((REFS - 1,)), bytes((REFS,)), b"\x80", b"\xff", b"abc",
    _leb(16384 + REFS)]), max_size=16).map(b"".join))  # fmt: skip
def test_any_kind_28_body_is_expanded_on_the_table_or_refused(body: bytes) -> None:
    """Arbitrary bodies against a table of three rects (one a ZSTREAM's): a
    ProtocolError or an UPDATE of the frame's size, never another exception;
    a refusal through canonical() leaves the state unusable until a keyframe."""
    ends = _Ends()
    ends.send(_key(ends, [_fill(63, 47, 1, 1)]))
    ends.send(ends.update([zstream_op(Rect(*_C), 0, b"abcdef", reset=True)]))
    try:
        message = ends.viewer.canonical(_KIND28 + body)
    except ProtocolError:
        assert not ends.viewer.valid and ends.viewer.rects == []
        return
    update = m.decode(message)
    assert isinstance(update, m.Update) and update.data[:4] == b"SC\x01\x01"
    assert ends.viewer.valid and ends.viewer.width == _W


class _ScriptedHost(GrantingHost):
    """A host made of a ScreenEncoder and a CompactState that writes each
    message itself, over a loopback TCP pair, and reads what the viewer
    answers."""

    def __init__(self, channel: Any) -> None:
        super().__init__(channel)
        self.enc = ScreenEncoder(_W, _H)
        self.state = CompactState()
        self.frame = np.full((_H, _W, 4), 70, np.uint8)

    def answered(self) -> int:
        """Receipts for updates so far (full or compact)."""
        return sum(isinstance(x, m.Receipt | m.CompactReceipt) for x in self.got)

    async def draw(self, rect: tuple[int, int, int, int], value: int, *, keyframe: bool = False
                   ) -> bytes | None:  # fmt: skip
        """A change at ``rect`` encoded and sent, compact when it may be;
        returns the compact message (None: it went as an Update)."""
        x, y, w, h = rect
        self.frame[y:y + h, x:x + w, :3] = value
        if keyframe:
            self.enc.request_keyframe()
        data = self.enc.encode(self.frame)
        self.seq = next_seq(self.seq)
        message = compact_update(self.state, self.seq, data, refs=True)
        self.state.note(self.seq, data)
        await self.channel.send(m.encode(m.Update(self.seq, data)) if message is None else message)
        return message

    async def raw(self, body: bytes) -> None:
        self.seq = next_seq(self.seq)
        self.state.seq = self.seq
        await self.channel.send(_KIND28 + body)


async def _scripted(script: Any, caps: m.Capabilities = _FULL, wrap: Any = None
                   ) -> tuple[Viewer, BaseException | str]:  # fmt: skip
    host_ch, viewer_ch, server = await tcp_pair()
    viewer = Viewer(viewer_ch if wrap is None else wrap(viewer_ch), capabilities=caps)
    host = _ScriptedHost(host_ch)
    hello = asyncio.ensure_future(host.hello())
    await viewer.start()
    await hello
    reader = asyncio.ensure_future(host.read())
    running = asyncio.ensure_future(viewer.run())
    try:
        await script(host, viewer, running)
    finally:
        await viewer.bye()
        outcome: BaseException | str
        try:
            outcome = await running
        except (ProtocolError, DecodeError) as exc:
            outcome = exc
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        host.enc.close()
        await host_ch.close()
        server.close()
        await server.wait_closed()
    return viewer, outcome


@pytest.mark.parametrize("body", list(_HOSTILE.values()), ids=list(_HOSTILE))
def test_a_hostile_kind_28_is_refused_and_nothing_wrong_is_painted(body: bytes) -> None:
    """Refused (answered, a keyframe asked for), the session goes on; the
    host's next deltas, references to its table, are refused too (they
    build on the refused one) and leave the picture as it was; after the
    keyframe the viewer's picture is the encoder's reference and its state
    the host's."""

    async def script(host: _ScriptedHost, viewer: Viewer, _: Any) -> None:
        assert await host.draw((0, 0, 1, 1), 70, keyframe=True) is None
        assert await host.draw(_A, 200) is not None  # spelled out
        assert await host.draw(_A, 90) == _KIND28 + bytes((_F, 0)) + bytes((90, 90, 90))
        await until(lambda: host.answered() == 3, what="three receipts")
        before = np.array(viewer.framebuffer)
        assert len(host.state.rects) == 2 and viewer._on_link.rects == host.state.rects
        await host.raw(body)
        for value in (10, 20, 30):  # the host's table says entry 0 is _A
            assert await host.draw(_A, value) == _KIND28 + bytes((_F, 0, value, value, value))
        await until(lambda: host.answered() == 7, what="every update answered")
        assert viewer.compact_refused == 4 and viewer.decode_errors == 1
        assert viewer.awaiting_keyframe == 3  # built on the refused one
        assert any(isinstance(x, m.KeyframeRequest) for x in host.got)
        assert bgr_equal(viewer.framebuffer, before)  # nothing painted
        assert not viewer.channel.closed
        assert await host.draw(_B, 33, keyframe=True) is None
        assert await host.draw(_B, 44) is not None
        await until(lambda: host.answered() == 9, what="the keyframe and a delta")
        assert viewer.compact_refused == 4
        assert bgr_equal(viewer.framebuffer, host.enc.reference)
        assert bgr_equal(viewer.framebuffer, host.frame)
        assert _state(viewer._on_link) == _state(host.state)

    _, outcome = run(_scripted(script), 20)
    assert isinstance(outcome, str)  # the session ended by the viewer's Bye, not an error


def test_a_kind_28_before_any_keyframe_is_refused_and_the_session_goes_on() -> None:
    async def script(host: _ScriptedHost, viewer: Viewer, _: Any) -> None:
        await host.raw(bytes((_F, 0)) + b"abc")
        await host.raw(bytes((_F,)) + _leb(REFS) + b"\0\1\1abc")  # spelled out, no keyframe
        await until(lambda: host.answered() == 2, what="two answers")
        assert viewer.compact_refused == 2 and viewer.framebuffer is None
        assert await host.draw((0, 0, 1, 1), 1, keyframe=True) is None
        assert await host.draw(_A, 5) is not None
        await until(lambda: host.answered() == 4, what="the keyframe and a delta")
        assert bgr_equal(viewer.framebuffer, host.frame)

    run(_scripted(script), 20)


@pytest.mark.parametrize("flags", [
    m.Capabilities.COMPACT,  # not COMPACT_RECTS
    m.Capabilities.COMPACT_RECTS,  # not COMPACT
    0,
])  # fmt: skip
def test_a_kind_28_to_a_viewer_that_did_not_declare_both_ends_the_session(flags: int) -> None:
    caps = dataclasses.replace(_FULL, flags=_FULL.flags & ~(
        m.Capabilities.COMPACT | m.Capabilities.COMPACT_RECTS) | flags)  # fmt: skip

    async def script(host: _ScriptedHost, viewer: Viewer, running: Any) -> None:
        await host.draw((0, 0, 1, 1), 1, keyframe=True)
        await host.raw(bytes((_F, 0)) + b"abc")
        await until(running.done, what="the session's end")

    viewer, outcome = run(_scripted(script, caps), 20)
    assert isinstance(outcome, ProtocolError) and "did not declare" in str(outcome)
    assert viewer.channel.closed


def test_a_kind_28_the_viewer_did_not_declare_is_not_recorded_as_shown(tmp_path: Path) -> None:
    caps = dataclasses.replace(_FULL, flags=_FULL.flags & ~m.Capabilities.COMPACT_RECTS)
    recorder = Recorder(tmp_path, host_id="agent")

    async def script(host: _ScriptedHost, viewer: Viewer, running: Any) -> None:
        await host.draw((0, 0, 1, 1), 1, keyframe=True)
        await until(lambda: host.answered() == 1, what="the keyframe")
        assert await host.draw(_A, 200) is not None  # a kind 28 it may not take
        await until(running.done, what="the session's end")

    viewer, outcome = run(_scripted(script, caps, lambda ch: recorder.record_viewer(ch, "v")))
    recorder.close()
    assert isinstance(outcome, ProtocolError) and viewer.framebuffer is not None
    (path,) = tmp_path.rglob("*.screc")
    with RecordingReader(path) as reader:
        assert reader.verify().status == "complete"
        played = [framebuffer_hash(fb) for _, fb in Player(reader).frames()]
    assert played[-1] == framebuffer_hash(viewer.framebuffer)


# -- real sessions ---------------------------------------------------------------------


class _RefusingSome(ScreenDecoder):
    """Refuses the updates whose call number is in ``at``, as a damaged one
    would be."""

    def __init__(self, at: set[int]) -> None:
        super().__init__()
        self.at, self.calls = at, 0

    def decode(self, data: bytes | bytearray | memoryview, /) -> Any:
        self.calls += 1
        if self.calls in self.at:
            self.needs_keyframe = True
            raise DecodeError("refused for the test")
        return super().decode(data)


async def _in_step(host: Host, viewer: Viewer) -> None:
    """The last update the host sent is the viewer's too, and both ends'
    link states are the same."""
    stream = _link(host).stream
    await until(lambda: viewer._on_link.seq == stream._on_link.seq, what="the last update")
    assert _state(viewer._on_link) == _state(stream._on_link)


def test_decoder_refusals_and_racing_keyframe_requests_keep_the_tables_in_step() -> None:
    async def main() -> None:
        decoder = _RefusingSome({8, 20})
        async with _session(caps=_FULL, screen=Blinking(), decoder=decoder,
                            ) as (host, screen, viewer, _, tap):  # fmt: skip
            stream = _link(host).stream
            for _ in range(6):  # requests while deltas (references) keep coming
                await viewer.request_keyframe()
                await asyncio.sleep(0.03)
            await until(lambda: decoder.calls > 30, what="30 updates")
            await until(lambda: stream.keyframes_sent >= 3, what="the answers")
            taken = viewer.compact_received - viewer.compact_refused
            await until(lambda: viewer.compact_received - viewer.compact_refused > taken + 3,
                        what="references taken again")  # fmt: skip
            assert viewer.decode_errors == 2 and m.CompactUpdateRefs.KIND in tap.kinds
            await _converge(viewer, screen)
            assert bgr_equal(viewer.framebuffer, stream.encoder.reference)  # type: ignore[union-attr]
            await _in_step(host, viewer)

    run(main(), 30)


def test_monitor_switches_keep_the_tables_in_step() -> None:
    screens: dict[int, OnMonitor] = {}

    def factory(index: int) -> OnMonitor:
        screens[index] = OnMonitor(index, scenario="idle")
        return screens[index]

    async def main() -> None:
        by_index: Any = factory  # the host opens one source per monitor
        async with _session(caps=_FULL, screen=by_index) as (host, _, viewer, _, _):
            await until(lambda: viewer.compact_received >= 3, what="compact deltas")
            for index in (2, 0, 1):
                got = viewer.compact_received
                await viewer.select_monitor(index)
                await until(lambda i=index: viewer.monitor == i)  # type: ignore[misc]
                await until(lambda g=got: viewer.compact_received > g + 2,  # type: ignore[misc]
                            what="compact deltas on the new monitor")  # fmt: skip
                screens[index].frozen = True
                await until(lambda s=screens[index]: bgr_equal(  # type: ignore[misc]
                    viewer.framebuffer, s.grab()), 10, f"monitor {index} bit-exact")
                await _in_step(host, viewer)
                screens[index].frozen = False
            assert viewer.compact_refused == 0 and viewer.decode_errors == 0

    run(main(), 30)


def test_a_second_session_to_the_same_host_starts_with_empty_tables() -> None:
    """One Host, two viewers one after the other (a reconnect): the second
    link's table starts empty at both ends and its references expand."""

    async def one_viewer(host: Host, screen: Blinking) -> None:
        host_ch, viewer_ch, server = await tcp_pair()
        tap = _Tap(viewer_ch)
        serve = asyncio.ensure_future(host.serve(host_ch))
        viewer = Viewer(tap, capabilities=_FULL)
        await viewer.start()
        assert viewer._on_link.rects == []
        task = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.compact_received >= 6, what="compact deltas")
        assert viewer.compact_refused == 0 and viewer.decode_errors == 0
        assert m.CompactUpdateRefs.KIND in tap.kinds
        await _converge(viewer, screen)
        await _in_step(host, viewer)
        screen.frozen = False
        await viewer.bye()
        await asyncio.gather(serve, task, return_exceptions=True)
        server.close()
        await server.wait_closed()

    async def main() -> None:
        screen = Blinking()
        host = Host(screen, consent=allow())
        try:
            await one_viewer(host, screen)
            await until(lambda: not host._runtime.serving, what="the first link's end")
            await one_viewer(host, screen)
        finally:
            await host.close()

    run(main(), 30)


def test_a_recorded_session_with_a_refused_kind_28_plays_back_what_the_viewer_saw(
    tmp_path: Path,
) -> None:
    """A hostile kind 28 (a reference to an empty entry) in the middle of a
    recorded session: the viewer's recording leaves it and the deltas built
    on it out, as the viewer does; it verifies complete, its pictures are
    the viewer's, and the recorder's link state ends the viewer's."""
    taps: list[Any] = []

    async def main() -> list[int]:
        at_viewer = Recorder(tmp_path / "viewer", host_id="agent")
        at_host = Recorder(tmp_path / "host", host_id="test-host")
        decoder = RememberingDecoder()

        def wrap(ch: Any) -> Any:
            taps.append(at_viewer.record_viewer(ch, "agent"))
            return taps[-1]

        async with _session(caps=_FULL, screen=Blinking(), decoder=decoder, wrap_viewer=wrap,
                            host_kw={"recorder": at_host},
                            ) as (host, screen, viewer, host_tap, _):  # fmt: skip
            stream = _link(host).stream
            host_tap.prefix = _KIND28
            await until(lambda: viewer.compact_received >= 5, what="the first compact deltas")
            assert len(stream._on_link.rects) < REFS
            keyframes = stream.keyframes_sent
            host_tap.hostile.append(bytes((_F, REFS - 1)) + b"abc")
            await until(lambda: viewer.compact_refused > 0, what="a refusal")
            await until(lambda: stream.keyframes_sent > keyframes, what="a keyframe")
            taken = viewer.compact_received - viewer.compact_refused
            await until(lambda: viewer.compact_received - viewer.compact_refused > taken + 3,
                        what="references taken again")  # fmt: skip
            await _converge(viewer, screen)
            await _in_step(host, viewer)
            assert _state(taps[0]._link) == _state(viewer._on_link)
            assert viewer.decode_errors == 1  # the hostile one; the rest awaited the keyframe
        await asyncio.to_thread(at_viewer.close)
        assert len(await asyncio.to_thread(at_host.wait, 1)) == 1
        return decoder.hashes

    hashes = run(main(), 30)
    (path,) = (tmp_path / "viewer").rglob("*.screc")
    with RecordingReader(path) as reader:
        assert reader.verify().status == "complete"
        played = [framebuffer_hash(fb) for _, fb in Player(reader).frames()]
    assert played[: len(hashes)] == hashes and len(played) >= len(hashes)
    (path,) = (tmp_path / "host").rglob("*.screc")
    with RecordingReader(path) as reader:
        assert reader.verify().status == "complete"


# -- random op sequences ---------------------------------------------------------------

_RECT = st.tuples(st.integers(0, 600), st.integers(0, 400), st.integers(1, 30),
                  st.integers(1, 30))  # fmt: skip
_OP = st.tuples(st.sampled_from(["fill", "copy", "raw", "zstream", "reset"]),
                st.integers(0, 13))  # fmt: skip
_UPDATE: st.SearchStrategy[tuple[str, list[tuple[str, int]]]] = st.one_of(
    st.tuples(st.just("delta"), st.lists(_OP, max_size=12)),
    st.tuples(st.just("keyframe"), st.lists(_OP, max_size=4)),
    st.tuples(st.just("hashed"), st.lists(_OP, min_size=1, max_size=4)),
    st.tuples(st.just("huge"), st.just([("fill", 0)])),
    st.tuples(st.just("refused"), st.just([])),
)


def _model(table: list[Any], rects: list[Any]) -> list[Any]:
    for rect in rects:
        table = [rect, *(r for r in table if r != rect)][:REFS]
    return table


@settings(max_examples=80, deadline=None)
@given(st.lists(_UPDATE, min_size=1, max_size=30), st.lists(_RECT, min_size=14, max_size=14))
def test_random_op_sequences_round_trip_and_both_tables_follow_the_spec(
    updates: list[tuple[str, list[tuple[str, int]]]], pool: list[tuple[int, int, int, int]]
) -> None:
    """Random deltas over 14 rects (repeats, more than REFS distinct),
    keyframes, hashed and unwalkable updates and refused compact deltas: each
    kind 28 expands to the update byte for byte and to what its kind 26 form
    expands to (or both are refused); the host's table follows the spec's
    rule (most recent distinct rects first, REFS at most), and the viewer's
    is the host's whenever it may expand."""
    ends, plain = _Ends(), _Ends()
    full = [_fill(0, 0, 640, 480)]
    table: list[Any] = []
    stream: int | None = None  # the host's ZSTREAM position; None: its next op has RESET
    for kind, picks in [("keyframe", []), *updates]:
        if kind == "refused":  # truncated: REFS is a spelled-out x = 0
            ends.hostile(bytes((_F, REFS)))
            plain.seq = next_seq(plain.seq)
            plain.host.seq = plain.seq
            with pytest.raises(ProtocolError):
                plain.viewer.canonical(bytes((1, m.CompactUpdate.KIND, _F, 0)))
            continue
        ops: list[EncodedOp] = []
        stream = None if kind == "keyframe" else stream  # a keyframe's first one has RESET
        for name, k in picks:
            rect = Rect(*pool[k])
            if name in ("zstream", "reset"):
                at = 0 if name == "reset" or stream is None else stream
                ops.append(zstream_op(rect, at, bytes((k,)) * 3, reset=at == 0))
                stream = (at + rect.w * rect.h * 3) & 0xFFFFFFFF
            elif name == "copy":
                ops.append(EncodedOp(Op.COPY, rect, bytes((0, k, 0, 1))))
            elif name == "raw":
                ops.append(EncodedOp(Op.RAW, rect, bytes((k,)) * (k + 1)))
            else:
                ops.append(_fill(*pool[k], bytes((k, 1, 2))))
        if kind == "huge":
            ops, stream = ops * (MAX_COMPACT_OPS + 1), None
        elif not ops and kind != "delta":
            ops = full
        valid = ends.viewer.valid
        data = ends.update(ops, keyframe=kind == "keyframe", size=(640, 480),
                           fb_hash=7 if kind == "hashed" else None)  # fmt: skip
        message, got = ends.send(data)
        message26, got26 = plain.send(data, refs=False)
        assert (message is None) == (message26 is None)
        assert (got is None) == (got26 is None)
        if message is not None and message26 is not None:
            assert got is not None or not valid  # refused only after a refusal
            assert len(message) <= len(message26) + len(ops)  # x + REFS: a byte more at most
        table = [] if kind in ("keyframe", "huge") else table
        if kind != "huge":
            table = _model(table, [(o.rect.x, o.rect.y, o.rect.w, o.rect.h) for o in ops])
        assert ends.host.rects == table == plain.host.rects
        if ends.viewer.valid:  # zpos: may differ only while the next ZSTREAM op has RESET
            assert _state(ends.viewer)[:5] == _state(ends.host)[:5]
            assert ends.viewer.rects == ends.host.rects
            assert stream is None or ends.viewer.zpos == ends.host.zpos == stream
