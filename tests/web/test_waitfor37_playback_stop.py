"""waitfor37: the recording player's driver, cancelled as the page's message
wakes it (in the same turn of the loop), must end. It paced with Python
3.11's ``asyncio.wait_for`` (gh-86296), which then returned instead: the
driver, which runs "until cancelled", went on, and ``WebPlayback.run``'s
close, which cancels it once and waits for it, waited forever. The race is
driven explicitly: the wake, its waiter returns, then the cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport.session import messages as m
from screencodec.web.playback import PlaybackBridge


def _recording(directory: Path) -> Path:
    """Pictures every 0.1 s for 1 s."""
    rec = Recorder(directory, host_id="test")
    session = rec.start("127.0.0.1:1")
    src = open_source("synthetic", width=64, height=64, scenario="idle", seed=1)
    enc = ScreenEncoder(64, 64)
    for i in range(11):
        session.put("out", m.encode(m.Update(i + 1, enc.encode(src.grab()))),
                    at=session.t0 + i / 10)  # fmt: skip
    session.end("over", at=session.t0 + 1.0)
    rec.wait(1)
    enc.close()
    return session.path


def test_the_driver_cancelled_as_the_page_wakes_it_ends(tmp_path: Path) -> None:
    async def main(reader: RecordingReader) -> str:
        bridge = PlaybackBridge(reader)
        bridge.playing, bridge.speed = True, 1  # the next picture is 10 s away
        driver = asyncio.ensure_future(bridge.drive())
        try:
            for _ in range(50):  # until it waits for that picture, or a page's message
                if bridge._wake._waiters:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0)
            else:
                raise AssertionError("the driver never waited")
            bridge._wake.set()  # as a page's message (pause, speed) does
            await asyncio.sleep(0)  # the waiter returns; the driver has not run since
            driver.cancel()  # WebPlayback.run ends
            await asyncio.wait({driver}, timeout=2.0)
            return "cancelled" if driver.cancelled() else "ran on"
        finally:
            driver.cancel()
            await asyncio.gather(driver, return_exceptions=True)
            bridge.close()

    with RecordingReader(_recording(tmp_path)) as reader:
        assert asyncio.run(main(reader)) == "cancelled"  # found: "ran on"
