"""review5: a source that keeps one frame and updates it in place on each
grab_hinted (ScreenSource's partial grabs) and serves two monitors (a host
given one source: ``single_source``). Each monitor has its own grab lock, so
one monitor's grab may write into the frame while the other's viewer encodes
it: the monitors of one source must grab one at a time."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import numpy.typing as npt

from screencodec.transport.session.screens import CaptureHub, HintCursor, single_source

from .test_hub_hints import Frame, Hint, ScriptedSource


class KeptFrameSource(ScriptedSource):
    """Grab ``n`` writes value ``n`` into the one frame it keeps (and
    returns it), as ScreenSource's partial grabs do."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: Frame | None = None

    def grab_hinted(self) -> tuple[Frame, Hint | None]:
        frame, hint = super().grab_hinted()
        if self.kept is None:
            self.kept = frame
        else:
            self.kept[:] = frame
        return self.kept, hint

    @property
    def hinted_buffers_fresh(self) -> bool:
        return False


def test_a_kept_frame_shared_by_two_monitors_does_not_change_under_an_encode() -> None:
    src = KeptFrameSource()
    hub = CaptureHub(single_source(src), reuse=0.0, owns_sources=False)
    hub.acquire(1)
    hub.acquire(0)  # a second viewer chose monitor 0: same source

    async def main() -> tuple[bool, bool]:
        started, resume = threading.Event(), threading.Event()

        def slow_encode(frame: npt.NDArray[np.uint8], owned: bool, hint: Hint | None) -> bool:
            before = frame.copy()
            started.set()
            assert resume.wait(30)
            return bool(np.array_equal(frame, before))

        def other(frame: npt.NDArray[np.uint8], owned: bool, hint: Hint | None) -> None:
            return None

        one = asyncio.ensure_future(hub.grab_hinted_then(1, HintCursor(), slow_encode))
        assert await asyncio.to_thread(started.wait, 30)
        # Monitor 0's viewer grabs while monitor 1's encodes: it must wait
        # for that encode. Given up to 3 s to grab meanwhile (it does at
        # once where it may), then monitor 1's encode ends.
        zero = asyncio.ensure_future(hub.grab_hinted_then(0, HintCursor(), other))
        for _ in range(60):
            if src.n == 2:
                break
            await asyncio.sleep(0.05)
        resume.set()
        unchanged = await asyncio.wait_for(one, 30)
        await asyncio.wait_for(zero, 30)
        return unchanged, src.n == 2

    unchanged, both_grabbed = asyncio.run(main())
    assert both_grabbed
    assert unchanged, "monitor 0's grab rewrote the frame monitor 1's viewer was encoding"
