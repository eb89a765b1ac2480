"""The cursor channel end to end: the host's pointer beside the pixels."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from screencodec.capture.base import CursorState, FrameSource
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ProtocolError
from screencodec.geometry import Monitor
from screencodec.motion.cursor import CursorEncoder
from screencodec.transport import VIEW, CursorMoved, Grant, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.memory import MemoryChannel, channel_pair
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.pointer import CursorTracker, PointerState, composite
from screencodec.wire import MessageType, build_cursor_position, parse_update, split_message

from .helpers import Freezable, bgr_equal, host_read_past_the_question, run, until

Frame = np.ndarray


def _msgs(sent: list[bytes]) -> list[m.Message]:
    return [m.decode(x) for x in sent]


def _cursor_types(sent: list[bytes]) -> list[MessageType]:
    return [split_message(x.data)[0] for x in _msgs(sent) if isinstance(x, m.Cursor)]


def test_synthetic_pointer_reaches_the_viewer_over_sealed_loopback() -> None:
    async def main() -> None:
        screen = Freezable(SyntheticDesktop(320, 240, scenario="drag", seed=1))
        host = Host(screen, consent=allow())
        creds = SessionCredentials()

        async def serve(channel: SecureChannel) -> None:
            await host.serve(channel)

        async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch)
            events = viewer.events()
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.pointer.positions_received >= 5, 20, "pointer moves")
            screen.frozen = True  # the synthetic pointer stays where the last frame has it
            link = next(iter(host._runtime.links))
            await until(lambda: bgr_equal(viewer.framebuffer, screen.grab()), 20, "bit-exact")
            polls = link.pointer.polls
            await until(lambda: link.pointer.polls >= polls + 3, 5, "polls after freezing")
            truth = screen.inner.cursor()
            assert truth is not None and truth.shape is not None
            last = link.pointer.last_state
            assert last is not None and (last.x, last.y) == (truth.x, truth.y)
            await until(lambda: viewer.pointer.positions_received == link.pointer.positions_sent)
            cur = viewer.cursor
            assert isinstance(cur, PointerState)
            assert (cur.x, cur.y, cur.visible) == (truth.x, truth.y, True)
            assert cur.hotspot == truth.hotspot
            assert cur.image is not None and np.array_equal(cur.image, truth.shape)
            # One shape, sent once, however often the pointer moved.
            assert link.pointer.shapes_sent == 1 and viewer.pointer.shapes_received == 1
            assert link.pointer.positions_sent >= 5
            await viewer.bye()
            await task
            seen = [ev async for ev in events if isinstance(ev, CursorMoved)]
            assert len(seen) == viewer.pointer.positions_received
            assert (seen[-1].x, seen[-1].y, seen[-1].shape_id) == (cur.x, cur.y, cur.shape_id)
        await host.close()

    run(main(), 60)


class StillScreen(FrameSource):
    """A desktop that never changes while its pointer walks one pixel per poll."""

    def __init__(self) -> None:
        self.frame = np.zeros((120, 160, 4), np.uint8)
        self.frame[..., 1] = np.arange(160, dtype=np.uint8)[None, :]
        self.shape = np.full((8, 6, 4), 200, np.uint8)
        self.polls = 0

    @property
    def width(self) -> int:
        return 160

    @property
    def height(self) -> int:
        return 120

    @property
    def monitors(self) -> list[Monitor]:
        return [Monitor(0, 0, 0, 160, 120, False), Monitor(1, 0, 0, 160, 120, True)]

    def grab(self) -> Frame:
        return self.frame

    def cursor(self) -> CursorState:
        self.polls += 1
        return CursorState(self.polls % 150, 7, shape=self.shape, hotspot=(2, 3))


def test_moving_the_pointer_sends_no_pixels_and_the_shape_once() -> None:
    async def main() -> None:
        screen = StillScreen()
        host = Host(screen, consent=allow(), config=HostConfig(cursor_rate=200))
        hc, vc = channel_pair()
        assert isinstance(hc, MemoryChannel)
        hc.record = True
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = Viewer(vc)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.pointer.positions_received >= 40, 10, "40 positions")
        await viewer.bye()
        await asyncio.gather(serve, task)
        types = _cursor_types(hc.sent)
        assert types.count(MessageType.CURSOR_SHAPE) == 1
        assert types[0] is MessageType.CURSOR_SHAPE
        assert types.count(MessageType.CURSOR_POSITION) == viewer.pointer.positions_received
        updates = [x for x in _msgs(hc.sent) if isinstance(x, m.Update)]
        ops = [len(parse_update(split_message(u.data)[1]).ops) for u in updates]
        assert ops[0] > 0 and all(n == 0 for n in ops[1:])  # the keyframe, then nothing
        assert bgr_equal(viewer.framebuffer, screen.frame)

    run(main())


def test_keyframe_request_resends_the_shape() -> None:
    async def main() -> None:
        screen = StillScreen()
        host = Host(screen, consent=allow(), config=HostConfig(cursor_rate=200))
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = Viewer(vc)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.pointer.shapes_received == 1)
        # A request that comes while the join keyframe awaits its receipt is
        # answered by that keyframe: ask only once the host has its receipt.
        link = next(iter(host._runtime.links))
        await until(lambda: viewer.decoded >= 1 and link.flow.in_flight == 0, 5, "receipts")
        await viewer.channel.send(m.encode(m.KeyframeRequest()))
        await until(lambda: viewer.pointer.shapes_received == 2, 5, "the shape again")
        assert link.pointer.shapes_sent == 2
        await viewer.bye()
        await asyncio.gather(serve, task)

    run(main())


def test_nothing_cursor_related_before_consent() -> None:
    async def main() -> None:
        answer: asyncio.Future[Grant] = asyncio.get_running_loop().create_future()

        async def wait_for_user(request: object) -> Grant:
            return await answer

        screen = StillScreen()
        host = Host(screen, consent=wait_for_user, config=HostConfig(cursor_rate=200))
        hc, vc = channel_pair()
        assert isinstance(hc, MemoryChannel)
        hc.record = True
        serve = asyncio.ensure_future(host.serve(hc))
        viewer = Viewer(vc)
        start = asyncio.ensure_future(viewer.start())
        await host_read_past_the_question(host, vc)
        assert screen.polls == 0 and host._runtime.hub.cursor_polls == 0 and hc.sent == []
        answer.set_result(Grant(VIEW))
        await start
        task = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.cursor is not None)
        kinds = [type(x) for x in _msgs(hc.sent)]
        assert kinds[:2] == [m.PermissionGrant, m.MonitorList]
        await viewer.bye()
        await asyncio.gather(serve, task)

    run(main())


def test_tracker_rejects_what_is_not_a_cursor_and_composites() -> None:
    tracker = CursorTracker()
    with pytest.raises(ProtocolError, match="bad cursor message"):
        tracker.apply(b"garbage")
    shape = np.zeros((2, 2, 4), np.uint8)
    shape[..., 3] = 255
    shape[0, 0, :3] = 255
    enc = CursorEncoder()
    for data in enc.update(CursorState(1, 1, shape=shape, hotspot=(1, 1))):
        tracker.apply(data)
    st = tracker.state
    assert st is not None and (st.x, st.y, st.hotspot) == (1, 1, (1, 1))
    frame = np.full((3, 3, 4), 100, np.uint8)
    out = composite(frame, st)
    assert out[0, 0, :3].tolist() == [255, 255, 255] and out[1, 1, :3].tolist() == [0, 0, 0]
    assert out[2, 2, :3].tolist() == [100, 100, 100] and frame[0, 0, 0] == 100
    unknown = tracker.apply(build_cursor_position(5, 5, 42))
    assert unknown is not None and unknown.image is None
    assert m.decode(m.encode(m.Cursor(b"xy"))) == m.Cursor(b"xy")
    with pytest.raises(ProtocolError):
        m.decode(bytes([1, m.Cursor.KIND]))
