"""Sessions that adapt: one keyframe per join, viewer capabilities respected,
version-0.1 viewers still served. Real Host and Viewer over in-memory channels
with deterministic synthetic desktops played at their own timing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from screencodec.capture.replay import PacedSource, synthetic_sequence
from screencodec.transport import VIEW, Host, Viewer, allow, channel_pair
from screencodec.transport.channel.memory import MemoryChannel
from screencodec.transport.session import messages as m
from screencodec.wire import MessageType, Op, UpdateFlags, parse_update, split_message

from .helpers import bgr_equal, run, until

pytest.importorskip("av")


def _updates(sent: list[bytes]) -> list[m.Update]:
    out = []
    for data in sent:
        msg = m.decode(data)
        if isinstance(msg, m.Update):
            out.append(msg)
    return out


def _parsed(update: m.Update):  # type: ignore[no-untyped-def]
    kind, body = split_message(update.data)
    assert kind is MessageType.UPDATE
    return parse_update(body)


async def _session(
    scenario: str,
    *,
    size: tuple[int, int] = (640, 360),
    seconds: float = 30.0,
    viewer_factory: Callable[[MemoryChannel], Viewer] | None = None,
    until_cond: Callable[[Viewer, Host], bool],
    legacy_join: bool = False,
) -> tuple[list[m.Update], Viewer, PacedSource]:
    source = PacedSource(synthetic_sequence(scenario, *size, fps=30, seconds=seconds, seed=3))
    host = Host(source, consent=allow())
    hc, vc = channel_pair()
    hc.record = True
    serve = asyncio.ensure_future(host.serve(hc))
    viewer = viewer_factory(vc) if viewer_factory else Viewer(vc)
    await viewer.start(VIEW)
    if legacy_join:  # what a version-0.1 viewer did right after the grant
        await vc.send(m.encode(m.KeyframeRequest()))
    task = asyncio.ensure_future(viewer.run())
    try:
        await until(lambda: until_cond(viewer, host), 20)
    finally:
        await viewer.bye()
        await asyncio.gather(serve, task, return_exceptions=True)
        await host.close()
    return _updates(hc.sent), viewer, source


@pytest.mark.parametrize("legacy_join", [False, True], ids=["viewer", "v0.1-join-request"])
def test_one_keyframe_per_join(legacy_join: bool) -> None:
    async def main() -> None:
        updates, viewer, _ = await _session(
            "typing", until_cond=lambda v, h: v.decoded >= 15, legacy_join=legacy_join
        )
        keyframes = [u.seq for u in updates if _parsed(u).flags & UpdateFlags.KEYFRAME]
        assert keyframes == [updates[0].seq]  # exactly one full picture: the first
        assert viewer.keyframe_requests == 0

    run(main(), 60)


def test_420_only_viewer_never_receives_444() -> None:
    caps = m.Capabilities.full()
    only_420 = m.Capabilities(caps.ops, m.Capabilities.H264_420, caps.flags)

    async def main() -> None:
        updates, _, _ = await _session(
            "video", viewer_factory=lambda ch: Viewer(ch, capabilities=only_420),
            until_cond=lambda v, h: v.decoded >= 60,
        )  # fmt: skip
        video = [op for u in updates for op in _parsed(u).ops if op.op is Op.VIDEO]
        assert video, "the video region was never sent as video"
        chroma_420 = 2  # VIDEO payload flags bit 1 (docs/protocol.md)
        assert all(op.payload[1] & chroma_420 for op in video)

    run(main(), 60)


def test_viewer_without_video_gets_none() -> None:
    caps = m.Capabilities.full()
    no_video = m.Capabilities(caps.ops & ~(1 << Op.VIDEO), 0, caps.flags)

    async def main() -> None:
        updates, viewer, _ = await _session(
            "video", viewer_factory=lambda ch: Viewer(ch, capabilities=no_video),
            until_cond=lambda v, h: v.decoded >= 40,
        )  # fmt: skip
        assert not [op for u in updates for op in _parsed(u).ops if op.op is Op.VIDEO]
        assert viewer.decode_errors == 0

    run(main(), 60)


def test_version_01_viewer_is_served_and_converges() -> None:
    """A viewer that sends no Capabilities and answers with Ack (as 0.1 did):
    served, and exact once the screen is still."""

    class OldViewer(Viewer):
        async def _send(self, msg: m.Message) -> None:
            if isinstance(msg, m.Capabilities):
                return
            if isinstance(msg, m.Receipt):
                msg = m.Ack(msg.seq)
            await super()._send(msg)

    last = synthetic_sequence("terminal", 640, 360, fps=30, seconds=2.0, seed=3)
    final = last.frame(len(last) - 1).copy()

    async def main() -> None:
        _, viewer, _ = await _session(
            "terminal", seconds=2.0, viewer_factory=OldViewer,
            until_cond=lambda v, h: v.decoded >= 10 and bgr_equal(v.framebuffer, final),
        )  # fmt: skip
        assert viewer.decode_errors == 0

    run(main(), 60)


@pytest.mark.parametrize(
    "opening",
    [
        [m.Capabilities(0, 0)],  # decodes nothing, not even FILL
        [m.Capabilities(1 << Op.FILL, 0)],  # FILL alone: no lossless core
        [m.Capabilities.full(), m.Capabilities.full()],  # twice
    ],
    ids=["no-ops", "fill-only", "twice"],
)
def test_hostile_capabilities_end_the_session_before_anything_is_grabbed(
    opening: list[m.Message],
) -> None:
    """The session ends as a protocol error, and nothing was captured."""

    async def main() -> None:
        source = PacedSource(synthetic_sequence("typing", 320, 240, fps=30, seconds=1.0))
        host = Host(source, consent=allow())
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        for msg in opening:
            with contextlib.suppress(Exception):
                await vc.send(m.encode(msg))
        with contextlib.suppress(Exception):
            await vc.send(m.encode(m.PermissionRequest(VIEW.bits, "x")))
        reason = await asyncio.wait_for(serve, 10)
        assert reason.startswith("protocol error"), reason
        assert source.frame_index == -1  # not one grab
        await host.close()

    run(main(), 30)


def test_capabilities_mid_session_are_a_protocol_error() -> None:
    """Capabilities belong to the hello: after the grant they end the session."""

    async def main() -> None:
        source = PacedSource(synthetic_sequence("typing", 320, 240, fps=30, seconds=1.0))
        host = Host(source, consent=allow())
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        v = Viewer(vc)
        await v.start(VIEW)
        await vc.send(m.encode(m.Capabilities.full()))
        reason = await asyncio.wait_for(serve, 10)
        assert reason.startswith("protocol error"), reason
        await host.close()

    run(main(), 60)
