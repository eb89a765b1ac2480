"""ScreenEncoder.restart_streams: the next update is a seek point. A decoder
that holds only the framebuffer at that point (a checkpoint keyframe, as the
recorder writes it) decodes it and every later update bit-exact, though the
stream around it carries a history stream and H.264 video regions; without
the restart it cannot. The restart is a delta, far smaller than a keyframe."""

from __future__ import annotations

import numpy as np
import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.errors import DecodeError
from screencodec.frames import Frame
from screencodec.video import available as video_available
from screencodec.wire import Op, parse_update, split_message
from screencodec.wire.format import HEADER

STEP = 1 / 32  # simulated seconds between frames (exact in binary)


def checkpoint(fb: Frame, sequence: int) -> bytes:
    """``fb`` as a lossless keyframe numbered ``sequence``: what the recorder
    writes, the sequence being the last update it stands for."""
    h, w = fb.shape[:2]
    with ScreenEncoder(w, h, motion=False, history=False, threads=1) as enc:
        key = bytearray(enc.encode(fb))
    key[HEADER.size : HEADER.size + 4] = sequence.to_bytes(4, "little")
    return bytes(key)


def update_of(data: bytes) -> tuple[bool, list[tuple[Op, int]]]:
    u = parse_update(split_message(data)[1])
    return u.keyframe, [(o.op, o.flags) for o in u.ops]


def run(enc: ScreenEncoder, frames: list[Frame], at: int, restart: bool) -> None:
    """Encode ``frames``; before frame ``at`` maybe restart; then check a
    decoder resumed from the reference there against the sequential one."""
    seq_dec = ScreenDecoder()
    for i, f in enumerate(frames[:at]):
        seq_dec.decode(enc.encode(f, now=i * STEP))
    if restart:
        enc.restart_streams()
    ref = np.array(enc.reference)
    assert seq_dec.framebuffer is not None and np.array_equal(ref, seq_dec.framebuffer)
    resumed = ScreenDecoder()
    resumed.decode(checkpoint(ref, seq_dec.sequence or 0))
    for i, f in enumerate(frames[at:], at):
        data = enc.encode(f, now=i * STEP)
        fb = seq_dec.decode(data)
        assert np.array_equal(resumed.decode(data), fb), f"frame {i}"
        assert np.array_equal(fb, enc.reference)


def test_history_stream_restarts_in_a_delta() -> None:
    src = SyntheticDesktop(480, 270, scenario="terminal", seed=1)
    frames = [src.frame_at(i).copy() for i in range(16)]
    enc = ScreenEncoder(480, 270, history=True, threads=1)
    dec = ScreenDecoder()
    sizes = []
    for f in frames[:8]:
        data = enc.encode(f)
        dec.decode(data)
        sizes.append(len(data))
    resets = enc._history.resets if enc._history else 0
    enc.restart_streams()
    data = enc.encode(frames[8])
    keyframe, ops = update_of(data)
    streamed = [flags for op, flags in ops if op is Op.ZSTREAM]
    assert not keyframe and streamed and streamed[0] == 1 and not any(streamed[1:])
    assert enc._history is not None and enc._history.resets == resets + 1
    assert len(data) < sizes[0] / 4, "a restart costs far less than the join keyframe"
    fb = dec.decode(data)  # the sequential viewer takes the RESET in its stride
    assert np.array_equal(fb, enc.reference)


@pytest.mark.parametrize("restart", [True, False])
def test_a_decoder_with_only_the_framebuffer_follows_a_history_stream(restart: bool) -> None:
    src = SyntheticDesktop(480, 270, scenario="terminal", seed=2)
    frames = [src.frame_at(i).copy() for i in range(24)]
    enc = ScreenEncoder(480, 270, history=True, threads=1)
    if restart:
        run(enc, frames, 10, restart=True)
    else:  # the control: the stream then needs what came before the point
        with pytest.raises(DecodeError, match="ZSTREAM"):
            run(enc, frames, 10, restart=False)


def test_restart_persists_over_updates_without_stream_ops() -> None:
    """A restart before an update that streams nothing (an unchanged screen)
    still makes the first later ZSTREAM op start a new stream."""
    src = SyntheticDesktop(480, 270, scenario="terminal", seed=3)
    frames = [src.frame_at(i).copy() for i in range(14)]
    frames = frames[:6] + [frames[5]] * 3 + frames[6:]  # still, then moving again
    run(ScreenEncoder(480, 270, history=True, threads=1), frames, 6, restart=True)


@pytest.mark.skipif(not video_available(), reason="needs PyAV")
@pytest.mark.parametrize("restart", [True, False])
def test_video_regions_restart_with_an_idr(restart: bool) -> None:
    src = SyntheticDesktop(640, 360, scenario="video")
    frames = [src.frame_at(i).copy() for i in range(22)]
    enc = ScreenEncoder(640, 360, video=True, threads=1)
    for i, f in enumerate(frames[:14]):
        enc.encode(f, now=i * STEP)
    assert enc.video_stage is not None and enc.video_stage.regions, "video not detected"
    # Without the history stream, only the video stream spans the point.
    enc = ScreenEncoder(640, 360, video=True, threads=1)
    if restart:
        run(enc, frames, 14, restart=True)
    else:
        with pytest.raises(DecodeError, match="VIDEO"):
            run(enc, frames, 14, restart=False)


@pytest.mark.skipif(not video_available(), reason="needs PyAV")
def test_video_and_history_together() -> None:
    src = SyntheticDesktop(640, 360, scenario="video")
    frames = [src.frame_at(i).copy() for i in range(22)]
    run(ScreenEncoder(640, 360, video=True, history=True, threads=1), frames, 14, restart=True)
