"""A viewer that lost sync keeps asking for a keyframe until one applies,
also on a still screen where no further update would prompt it."""

from __future__ import annotations

import asyncio

import numpy as np

from screencodec import ScreenEncoder
from screencodec.transport import VIEW, Viewer, channel_pair
from screencodec.transport.session import messages as m

from .helpers import run, until


def test_a_lost_keyframe_answer_is_asked_for_again_without_further_updates() -> None:
    async def main() -> None:
        host_end, viewer_end = channel_pair()
        viewer = Viewer(viewer_end)
        requests: list[float] = []

        async def scripted_host() -> None:
            while True:
                msg = m.decode(await host_end.recv())
                if isinstance(msg, m.PermissionRequest):
                    await host_end.send(m.encode(m.PermissionGrant(VIEW.bits)))
                elif isinstance(msg, m.KeyframeRequest):
                    requests.append(asyncio.get_running_loop().time())

        host_task = asyncio.ensure_future(scripted_host())
        await viewer.start(VIEW)
        run_task = asyncio.ensure_future(viewer.run())
        enc = ScreenEncoder(64, 48)
        frame = np.zeros((48, 64, 4), np.uint8)
        await host_end.send(m.encode(m.Update(0, enc.encode(frame))))
        await until(lambda: viewer.decoded == 1, what="the first picture")
        # A delta is lost on the way: the next one is refused (its sequence
        # number does not follow), and a keyframe is asked for.
        frame[4:8, 4:8] = 200
        enc.encode(frame)
        frame[8:12, 4:8] = 100
        await host_end.send(m.encode(m.Update(2, enc.encode(frame))))
        await until(lambda: len(requests) == 1, what="the first request")
        # Its answer never comes and the screen is still: the viewer asks again.
        await until(lambda: len(requests) == 2, 5, "a second request on a timer")
        assert viewer.decoder.needs_keyframe
        enc.request_keyframe()
        await host_end.send(m.encode(m.Update(3, enc.encode(frame))))
        await until(lambda: viewer.decoded == 2, what="the keyframe applied")
        assert not viewer.decoder.needs_keyframe
        assert viewer.framebuffer is not None
        assert np.array_equal(viewer.framebuffer[..., :3], frame[..., :3])
        await viewer.bye()
        await asyncio.gather(run_task, return_exceptions=True)
        host_task.cancel()
        await asyncio.gather(host_task, return_exceptions=True)

    run(main())
