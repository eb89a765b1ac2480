"""Forged times against the browser player (`recordings play --web`): the
page's clock is microseconds below 2**42 (schema.js), which a chunk or an
audit event of a crafted recording may exceed by any amount."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from screencodec.recording import RecordingReader
from screencodec.recording.format import ChunkType
from screencodec.web.playback import MAX_PLAYBACK_US, PlaybackBridge

from .test_attack_craft import CLI, craft, event, no_traceback, picture


def test_a_recording_of_146000_years_is_refused_before_any_page(tmp_path: Path) -> None:
    # A chunk at 2**62 us: the page would be told a duration no JS number
    # holds exactly, which its schema refuses, and the player would stop.
    path = craft(tmp_path / "long.screc", [picture(64, 48), (ChunkType.EVENT, event(
        {"type": "chat", "from": "host", "text": "late"}), 1 << 62)])  # fmt: skip
    done = subprocess.run([str(CLI), "recordings", "play", str(path), "--web", "--no-open"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "are its times forged" in done.stderr and "http://" not in done.stdout


def test_event_times_past_the_end_are_shown_within_it(tmp_path: Path) -> None:
    # Times may go backwards (they play), so an event chunk may lie past the
    # recording's length (its last chunk's time): at 2**62 us, the page
    # would have been sent a time its schema refuses.
    body = [picture(64, 48, t_us=1_000_000)]
    for t_us in (1 << 62, 3_000_000, 1_500_000):
        body.append((ChunkType.EVENT, event({"type": "chat", "from": "host", "text": "x"}), t_us))
    body.append(picture(64, 48, t_us=2_000_000))
    path = craft(tmp_path / "events.screc", body)

    async def announced() -> dict[str, dict[str, Any]]:
        with RecordingReader(path) as reader:
            bridge = PlaybackBridge(reader)  # a bridge lives in the server's loop
            bridge.survey()
            bridge.announce()
            return dict(bridge._state)

    state = asyncio.run(announced())
    duration = state["playback"]["duration_us"]
    assert 0 < duration < MAX_PLAYBACK_US
    times = [m["us"] for k, m in state.items() if k.startswith("event")]
    assert duration == 2_000_000
    # Listed in time order (the page marks the rows up to the position by it).
    assert times == [1_500_000, 2_000_000, 2_000_000]
