"""Compact deltas (kind 26: a viewer that declared COMPACT but not
COMPACT_RECTS) in real sessions over loopback sockets: the viewer's
framebuffer ends bit-exact, a viewer that did not declare them never gets
one, hostile ones are refused and the session recovers by a keyframe, a
recorded session (at the host and at the viewer) plays back bit-exact, and
an idle screen's updates shrink."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from screencodec import ScreenEncoder
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.errors import DecodeError, ProtocolError
from screencodec.frames import framebuffer_hash
from screencodec.linkbench.ledger import FRAMING, CountingChannel, Ledger
from screencodec.recording import Player, Recorder, RecordingReader
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.session import messages as m
from screencodec.transport.session.link import ViewerLink
from screencodec.transport.session.viewer import default_capabilities
from screencodec.wire import Op

from .helpers import Freezable, bgr_equal, run, tcp_pair, until

_COMPACT = bytes((1, m.CompactUpdate.KIND))


class Tap:
    """A channel wrapper that notes the kind of every message received and,
    when armed, sends the next compact delta (of ``prefix``'s kind) with
    another body instead."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.kinds: set[int] = set()
        self.hostile: list[bytes] = []
        self.prefix = _COMPACT

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(self, message: bytes, /) -> None:
        if self.hostile and message[:2] == self.prefix:
            message = self.prefix + self.hostile.pop(0)
        await self.inner.send(message)

    async def recv(self) -> bytes:
        data: bytes = await self.inner.recv()
        self.kinds.add(data[1])
        return data


class RememberingDecoder(ScreenDecoder):
    """Keeps the framebuffer's hash after every update it applied."""

    def __init__(self) -> None:
        super().__init__()
        self.hashes: list[int] = []

    def decode(self, data: bytes | bytearray | memoryview, /) -> Any:
        fb = super().decode(data)
        self.hashes.append(framebuffer_hash(fb))
        return fb


#: A viewer that takes kind 26 only (not COMPACT_RECTS): kind 28 sessions are
#: in test_compact_rects.py.
_WITH = dataclasses.replace(default_capabilities(compact=True),
                            flags=default_capabilities().flags & ~m.Capabilities.COMPACT_RECTS)
_WITHOUT = default_capabilities(compact=False)


_Session = tuple[Host, Freezable, Viewer, Tap, Tap]


@asynccontextmanager
async def _session(scenario: str = "typing", *, caps: m.Capabilities = _WITH,
                   host_kw: dict[str, Any] | None = None, wrap_viewer: Any = None,
                   decoder: Any = None, screen: Freezable | None = None
                   ) -> AsyncIterator[_Session]:  # fmt: skip
    """A Host on a synthetic desktop (or ``screen``) and a Viewer, over a
    loopback TCP pair; each end's channel tapped."""
    if screen is None:
        screen = Freezable(SyntheticDesktop(320, 200, scenario=scenario, seed=3))
    host = Host(screen, consent=allow(), config=HostConfig(local_input_pause=0.01),
                **(host_kw or {}))  # fmt: skip
    host_ch, viewer_ch, server = await tcp_pair()
    host_tap, viewer_tap = Tap(host_ch), Tap(viewer_ch)
    serve = asyncio.ensure_future(host.serve(host_tap))
    inner: Any = viewer_tap if wrap_viewer is None else wrap_viewer(viewer_tap)
    viewer = Viewer(inner, capabilities=caps, decoder=decoder)
    await viewer.start()
    task = asyncio.ensure_future(viewer.run())
    try:
        yield host, screen, viewer, host_tap, viewer_tap
    finally:
        await viewer.bye()
        await asyncio.gather(serve, task, return_exceptions=True)
        await host.close()
        server.close()
        await server.wait_closed()


def _link(host: Host) -> ViewerLink:
    (link,) = host._runtime.serving
    return link


async def _converge(viewer: Viewer, screen: Freezable) -> None:
    screen.frozen = True
    await until(lambda: bgr_equal(viewer.framebuffer, screen.grab()), 10, "a bit-exact picture")


def test_a_session_with_compact_deltas_ends_bit_exact() -> None:
    async def main() -> None:
        async with _session("typing") as (host, screen, viewer, _, viewer_tap):
            await until(lambda: viewer.decoded >= 40, what="40 updates")
            await _converge(viewer, screen)
            stream = _link(host).stream
            assert stream.compact and stream.compact_sent >= 30
            assert m.CompactUpdate.KIND in viewer_tap.kinds
            assert viewer.compact_refused == 0 and viewer.decode_errors == 0

    run(main())


def test_a_viewer_that_did_not_declare_them_never_gets_a_compact_delta() -> None:
    assert not _WITHOUT.flags & m.Capabilities.COMPACT and _WITH.flags & m.Capabilities.COMPACT

    async def main() -> None:
        async with _session("typing", caps=_WITHOUT) as (host, screen, viewer, _, tap):
            await until(lambda: viewer.decoded >= 30, what="30 updates")
            await _converge(viewer, screen)
            assert not _link(host).stream.compact and _link(host).stream.compact_sent == 0
            assert m.Update.KIND in tap.kinds and m.CompactUpdate.KIND not in tap.kinds
            assert viewer.compact_received == 0

    run(main())


_HOSTILE = [
    b"",  # zero ops
    bytes((Op.FILL | 0x08, 0x80)),  # a truncated varint
    bytes((Op.FILL | 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)),  # an overlong varint
    bytes((Op.FILL | 0x08, 0x81, 0x80, 0x01, 0, 1, 1)) + b"abc",  # x = 16385
    bytes((Op.RAW, 0, 0, 1, 1, 100)) + b"xyz",  # a length past the end
    bytes((0x08 | 0x0F & 0xF8, 0, 0, 1, 1)) + b"abc",  # op 0: unknown
]


def test_hostile_compact_deltas_are_refused_and_the_session_recovers() -> None:
    async def main() -> None:
        async with _session("typing") as (host, screen, viewer, host_tap, _):
            stream = _link(host).stream
            await until(lambda: viewer.decoded >= 5, what="the first updates")
            for body in _HOSTILE:
                refused, keyframes = viewer.compact_refused, stream.keyframes_sent
                host_tap.hostile.append(body)
                await until(lambda: viewer.compact_refused > refused, what="a refusal")  # noqa: B023
                await until(lambda: stream.keyframes_sent > keyframes, what="a keyframe")  # noqa: B023
                taken = viewer.compact_received - viewer.compact_refused
                await until(lambda: viewer.compact_received - viewer.compact_refused
                            > taken, what="compact deltas taken again")  # noqa: B023
                assert not viewer.channel.closed
            await _converge(viewer, screen)
            assert viewer.keyframe_requests >= len(_HOSTILE)

    run(main())


class RefusingOnce(ScreenDecoder):
    """Refuses the 10th update it is given, as a damaged one would be (the
    host has sent a few more by the time the keyframe request reaches it)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def decode(self, data: bytes | bytearray | memoryview, /) -> Any:
        self.calls += 1
        if self.calls == 10:
            self.needs_keyframe = True
            raise DecodeError("refused for the test")
        return super().decode(data)


def test_one_refusal_counts_as_one_decode_error() -> None:
    """After a refusal the viewer cannot expand compact deltas until the
    keyframe (they build on the refused update): it answers them as refused,
    so the host keeps hearing it, but counts them as awaiting a keyframe, as
    a decoder counts the deltas it skips, not as errors of their own."""

    async def main() -> None:
        dec = RefusingOnce()
        async with _session("terminal", decoder=dec) as (host, screen, viewer, _, _):
            await until(lambda: viewer.decoded >= 40, what="40 updates")
            await _converge(viewer, screen)
            assert viewer.decode_errors == 1
            assert _link(host).stream.keyframes_sent >= 2  # the join and the answer

    run(main())


@pytest.mark.parametrize("refs", [False, True])
def test_a_session_with_compact_deltas_is_recorded_canonical(tmp_path: Path, refs: bool) -> None:
    caps = default_capabilities() if refs else _WITH  # kind 28, or kind 26

    async def main() -> list[int]:
        recorder = Recorder(tmp_path / "host", host_id="test-host")
        at_viewer = Recorder(tmp_path / "viewer", host_id="agent")
        decoder = RememberingDecoder()
        async with _session("terminal", caps=caps, host_kw={"recorder": recorder},
                            decoder=decoder,
                            wrap_viewer=lambda ch: at_viewer.record_viewer(ch, "agent"),
                            ) as (host, screen, viewer, _, _):  # fmt: skip
            await until(lambda: viewer.decoded >= 40, what="40 updates")
            await _converge(viewer, screen)
            assert _link(host).stream.compact_sent >= 20
        assert len(await asyncio.to_thread(recorder.wait, 1)) == 1
        await asyncio.to_thread(at_viewer.close)
        return decoder.hashes

    hashes = run(main())
    for path in (_only(tmp_path / "host"), _only(tmp_path / "viewer")):
        with RecordingReader(path) as reader:
            assert reader.verify().status == "complete"
            played = [framebuffer_hash(fb) for _, fb in Player(reader).frames()]
            assert played[: len(hashes)] == hashes


def _only(folder: Path) -> Path:
    (path,) = folder.rglob("*.screc")
    return path


def test_an_idle_screens_updates_shrink() -> None:
    """The same idle desktop to a viewer that takes compact deltas and to one
    that does not: every caret blink (one FILL) is 68 bytes on the wire as
    an Update, 35 or less as a compact delta; the clock's ticks shrink too."""

    async def idle(caps: m.Capabilities) -> Ledger:
        ledger = Ledger(time.monotonic)
        async with _session("idle", caps=caps,
                            wrap_viewer=lambda ch: CountingChannel(ch, ledger, "down"),
                            ) as (_, _, viewer, _, _):  # fmt: skip
            await until(lambda: sum(1 for u in ledger.updates if u.ops and u.ops[0][0] == "FILL"
                                    and len(u.ops) == 1) >= 3, 20, "three blinks")  # fmt: skip
            assert viewer.decode_errors == 0
        return ledger

    async def main() -> tuple[Ledger, Ledger]:
        return await idle(_WITH), await idle(_WITHOUT)

    compact, full = run(main(), 60)
    for ledger, compacted in ((compact, True), (full, False)):
        blinks = [u for u in ledger.updates if [o[0] for o in u.ops] == ["FILL"]]
        assert blinks and all(u.compact == compacted for u in blinks)
        for u in blinks:
            if compacted:
                # version, kind, tag, x, y, w, h (1-2 bytes each), colour
                assert FRAMING + 2 + 1 + 4 + 3 <= u.wire <= FRAMING + 2 + 1 + 8 + 3
            else:
                assert u.wire == 68
    ticks = [u for u in compact.updates if not u.keyframe and "ZSTREAM" in [o[0] for o in u.ops]]
    full_ticks = [u for u in full.updates if not u.keyframe
                  and "ZSTREAM" in [o[0] for o in u.ops]]  # fmt: skip
    if ticks and full_ticks:  # a clock tick: 30 + 14 + 4 bytes of headers become 7-13
        assert min(u.wire - sum(o[5] for o in u.ops) for u in ticks) <= FRAMING + 13
        assert min(u.wire - sum(o[5] for o in u.ops) for u in full_ticks) == FRAMING + 44


@pytest.mark.parametrize(("caps", "compact"), [
    (_WITHOUT, _COMPACT + bytes((Op.FILL | 0x08, 0, 0, 1, 1)) + b"abc"),
    # kind 28 to a viewer that declared COMPACT but not COMPACT_RECTS
    (_WITH, bytes((1, m.CompactUpdateRefs.KIND, Op.FILL | 0x08, 0)) + b"abc"),
])  # fmt: skip
def test_a_compact_delta_to_a_viewer_that_did_not_declare_it_ends_the_session(
    caps: m.Capabilities, compact: bytes
) -> None:
    """A host may send one only to a viewer that declared it: to any other
    it is a protocol violation, like any message its role never receives."""

    async def main() -> None:
        host_ch, viewer_ch, server = await tcp_pair()
        viewer = Viewer(viewer_ch, capabilities=caps)

        async def scripted_host() -> None:
            assert isinstance(m.decode(await host_ch.recv()), m.Capabilities)
            assert isinstance(m.decode(await host_ch.recv()), m.PermissionRequest)
            await host_ch.send(m.encode(m.PermissionGrant(1)))
            with ScreenEncoder(64, 48) as enc:
                await host_ch.send(m.encode(m.Update(1, enc.encode(np.zeros((48, 64, 4),
                                                                            np.uint8)))))
            await host_ch.send(compact)

        scripted = asyncio.ensure_future(scripted_host())
        await viewer.start()
        with pytest.raises(ProtocolError, match="did not declare"):
            await viewer.run()
        await scripted
        assert viewer.channel.closed
        await host_ch.close()
        server.close()
        await server.wait_closed()

    run(main())
