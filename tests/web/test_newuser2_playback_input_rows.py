"""The recording player's event log puts an input interval at the moment the
input began. An interval is logged once it has ended, at the next session
message: after a give-back of control on a still screen that was seconds
later, so the row read "0:06.0 input device=keyboard, end=3.914702,
start=3.730489" below rows of what came after it, and its "Go to this
moment" showed the screen after the typing (found playing a walkthrough's
recording with ``recordings play --web``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture import open_source
from screencodec.encoder import ScreenEncoder
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport.session import messages as m
from screencodec.web.playback import PlaybackBridge, describe_event


def _recording(directory: Path) -> Path:
    """Pictures for 1 s, the agent's key at 0.5 s, the screen still until a
    chat at 5 s (which closes the input interval) and a give-back at 6 s."""
    rec = Recorder(directory, host_id="test")
    session = rec.start("127.0.0.1:1")
    src = open_source("synthetic", width=64, height=64, scenario="idle", seed=1)
    enc = ScreenEncoder(64, 64)
    timeline: list[tuple[float, str, m.Message]] = [
        (i / 10, "out", m.Update(i + 1, enc.encode(src.grab()))) for i in range(11)]
    timeline += [(0.5, "in", m.Key(0x61, True, "a")), (0.55, "in", m.Key(0x61, False, "a")),
                 (5.0, "out", m.Chat("done?"))]  # fmt: skip
    for t, kind, msg in sorted(timeline, key=lambda e: e[0]):
        session.put(kind, m.encode(msg), at=session.t0 + t)
    session.end("over", at=session.t0 + 6.0)
    rec.wait(1)
    enc.close()
    return session.path


def test_input_rows_sit_at_their_start(tmp_path: Path) -> None:
    with RecordingReader(_recording(tmp_path)) as reader:
        events = reader.events()
        (typed,) = [e for e in events if e["type"] == "input"]
        assert typed["start"] == 0.5 and typed["t"] == 5.0  # logged when it had ended

        async def listed() -> list[tuple[int, str, str]]:
            bridge = PlaybackBridge(reader)  # the rows it gives the page, in order
            try:
                bridge.survey()
                bridge.announce()
                return [(v["us"], v["kind"], v["text"]) for v in bridge._state.values()
                        if v["t"] == "event"]  # fmt: skip
            finally:
                bridge.close()

        rows = asyncio.run(listed())
    assert [us for us, _, _ in rows] == sorted(us for us, _, _ in rows)
    (row,) = [r for r in rows if r[1] == "input"]
    assert row == (500_000, *describe_event(typed))
    assert [r[1] for r in rows if r[0] > 500_000] == ["chat"]
