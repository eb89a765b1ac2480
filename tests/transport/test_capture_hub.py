"""CaptureHub hands a grab to the work as ``owned`` only when nobody else can
see it: a fresh buffer, one viewer, grabbed for this work (not reused)."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport.session.screens import CaptureHub

Frame = npt.NDArray[np.uint8]


class FreshDesktop(SyntheticDesktop):
    """A synthetic desktop whose grabs are copies, as mss's are on Linux."""

    fresh_buffers = True

    def grab(self) -> Frame:
        return super().grab().copy()


def grabs(hub: CaptureHub, index: int, n: int, *, pause: float) -> list[tuple[Frame, bool]]:
    async def main() -> list[tuple[Frame, bool]]:
        out = []
        for _ in range(n):
            out.append(await hub.grab_then(index, lambda f, owned: (f, owned)))
            await asyncio.sleep(pause)
        return out

    return asyncio.run(main())


def test_one_viewer_of_a_fresh_source_owns_each_new_grab() -> None:
    hub = CaptureHub(lambda i: FreshDesktop(96, 64, scenario="typing"), reuse=0.0)
    hub.acquire(1)
    got = grabs(hub, 1, 4, pause=0.0)
    assert [owned for _, owned in got] == [True] * 4
    assert len({id(f) for f, _ in got}) == 4


def test_a_reused_grab_is_not_owned_twice() -> None:
    hub = CaptureHub(lambda i: FreshDesktop(96, 64, scenario="typing"), reuse=60.0)
    hub.acquire(1)
    (f0, o0), (f1, o1) = grabs(hub, 1, 2, pause=0.0)
    assert f0 is f1
    assert (o0, o1) == (True, False)


def test_shared_or_reused_sources_are_never_owned() -> None:
    shared = CaptureHub(lambda i: FreshDesktop(96, 64, scenario="typing"), reuse=0.0)
    shared.acquire(1)
    shared.acquire(1)  # two viewers: every grab is copied and shared
    assert [o for _, o in grabs(shared, 1, 3, pause=0.0)] == [False] * 3
    plain = CaptureHub(lambda i: SyntheticDesktop(96, 64, scenario="typing"), reuse=0.0)
    plain.acquire(1)  # the synthetic desktop renders into one buffer
    assert [o for _, o in grabs(plain, 1, 3, pause=0.0)] == [False] * 3


def test_a_previewed_frame_never_changes() -> None:
    """An encoder may write into a grab it kept (a second viewer joins: its
    next damage is copied into its reference, that grab): ``last_frame``
    hands out copies, so a preview taken earlier stays as it was. (Found in
    review.)"""
    from screencodec.encoder import ScreenEncoder

    hub = CaptureHub(lambda i: FreshDesktop(320, 200, scenario="terminal", seed=1), reuse=0.0)
    hub.acquire(1)
    enc = ScreenEncoder(320, 200, threads=1)

    def work(frame: Frame, owned: bool) -> bytes:
        return enc.encode(frame, keep=owned)

    async def main() -> tuple[Frame, Frame]:
        await hub.grab_then(1, work)
        await hub.grab_then(1, work)  # owned: the encoder keeps it
        preview = hub.last_frame(1)
        assert preview is not None
        before = preview.copy()
        hub.acquire(1)  # a second viewer: grabs are shared copies from now on
        for _ in range(5):
            await hub.grab_then(1, work)
        return preview, before

    preview, before = asyncio.run(main())
    assert np.array_equal(preview, before)
