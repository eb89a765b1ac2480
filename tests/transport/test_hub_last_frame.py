"""CaptureHub.last_frame (Host.last_frame: previews, tests) copies a monitor's
frame while grabs run on other threads. A source that keeps one frame and
writes each grab into it in parts (ScreenSource's partial grabs write only the
damaged bands) must never show through half written: every copy is one whole
grab."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import numpy.typing as npt

from screencodec.transport.session.screens import CaptureHub, HintCursor, single_source

from .test_hub_hints import Frame, Hint, ScriptedSource


class TwoHalvesSource(ScriptedSource):
    """Grab ``n`` writes value ``n`` into the frame it keeps: the top half,
    then (once a copy was taken meanwhile, or after 1 s) the bottom half."""

    def __init__(self) -> None:
        super().__init__()
        self.kept = np.zeros((48, 64, 4), np.uint8)
        self.half_written = threading.Event()
        self.copied = threading.Event()

    def grab_hinted(self) -> tuple[Frame, Hint | None]:
        self.n += 1
        self.kept[:24] = self.n
        self.half_written.set()
        # A reader that can copy now gets a torn picture; one that waits for
        # the grab lock lets this go on after 1 s.
        self.copied.wait(1.0)
        self.kept[24:] = self.n
        return self.kept, None

    @property
    def hinted_buffers_fresh(self) -> bool:
        return False


def _whole(copy: npt.NDArray[np.uint8]) -> bool:
    return bool((copy == copy.flat[0]).all())


def test_last_frame_is_never_half_a_grab() -> None:
    src = TwoHalvesSource()
    hub = CaptureHub(single_source(src), reuse=0.0, owns_sources=False)
    hub.acquire(1)
    assert hub.last_frame(1) is None  # nothing grabbed yet
    copies: list[npt.NDArray[np.uint8]] = []

    def encode(frame: npt.NDArray[np.uint8], owned: bool, hint: Hint | None) -> None:
        return None

    def reader() -> None:
        assert src.half_written.wait(30)
        got = hub.last_frame(1)
        assert got is not None
        copies.append(got)
        src.copied.set()

    async def main() -> None:
        cursor = HintCursor()
        await hub.grab_hinted_then(1, cursor, encode)  # grab 1: the kept frame is the hub's
        for _ in range(3):
            src.half_written.clear()
            src.copied.clear()
            thread = threading.Thread(target=reader)
            thread.start()
            await asyncio.wait_for(hub.grab_hinted_then(1, cursor, encode), 30)
            await asyncio.to_thread(thread.join, 30)
            assert not thread.is_alive()

    asyncio.run(main())
    assert len(copies) == 3
    torn = [(int(c[0, 0, 0]), int(c[-1, 0, 0])) for c in copies if not _whole(c)]
    assert not torn, f"last_frame copied half-written grabs (top, bottom): {torn}"
    # Each copy is the grab that was under way (the reader waited for it).
    assert [int(c[0, 0, 0]) for c in copies] == [2, 3, 4]
    final = hub.last_frame(1)
    assert final is not None and _whole(final) and final[0, 0, 0] == 4
    hub.release(1)
    assert hub.last_frame(1) is None
