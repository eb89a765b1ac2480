"""The encoder on real X damage: a short recording made here (a real Xvfb, an
xterm, xdotool typing; frames and XDamage taken as scripts/record_corpus.py
takes them: ``grab_hinted`` without partial grabs, the damage read right
before each full grab), stored with ``RecordingWriter`` and read back with
``Recording.damage``, then encoded with ``encode(hint=recorded damage)``.

Real damage may come late (what is drawn between the take and the grab is
in the next frame's damage) and is coarser than the change. The contract
(``ScreenEncoder.encode``): a change hinted late is sent late, one never
hinted is found by the rolling band within ``SCAN_UPDATES`` updates. So:

* every pixel that stood still over the last ``SCAN_UPDATES`` frames is
  exact in the decoded picture, and the still tail of the clip is exact;
* an update whose hint covers every pixel where the viewer's picture
  differs from the new frame decodes to that frame at once.

Real damage from a quiet Xvfb is rarely late, so the recorded damage is
also given one frame late, with every third frame's lost, and not at all
(all legal hints): the band must then find what the hints miss.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture import ScreenSource
from screencodec.capture.recording import Recording, RecordingWriter
from screencodec.capture.xvfb import xvfb_xterm
from screencodec.damage.hints import SCAN_UPDATES
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder

Frame = npt.NDArray[np.uint8]
W, H = 640, 400
PERIOD = 0.02  # seconds between grabs (50 fps: finer than a host's, more late damage)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """A real recording of typing into an xterm, with its X damage."""
    path = tmp_path_factory.mktemp("real-damage") / "typing"
    with xvfb_xterm(W, H, cols=70, rows=16) as display:
        grabs = _record(display, "real damage from the X server: 0123456789 " * 2 + "\rls -l\r")
    writer = RecordingWriter(path, "typing", W, H, fps=1 / PERIOD)
    for t, frame, damage in grabs:
        writer.add(frame, t, damage)
    writer.close()
    with Recording.open(path) as rec:
        yield rec


def _record(display: str, text: str) -> list[tuple[float, Frame, npt.NDArray[np.int32] | None]]:
    env = {**os.environ, "DISPLAY": display}
    out = []
    with ScreenSource(display=display, partial_grabs=False) as src:

        def grab() -> None:
            t = time.monotonic()
            frame, damage = src.grab_hinted()
            out.append((t, frame.copy(), damage))
            time.sleep(PERIOD)

        grab()
        typist = subprocess.Popen(["xdotool", "type", "--delay", "15", text], env=env)
        try:
            deadline = time.monotonic() + 30
            while typist.poll() is None:
                assert time.monotonic() < deadline, "xdotool did not finish typing"
                grab()
        finally:
            typist.kill()
            typist.wait(5)
        for _ in range(2 * SCAN_UPDATES + 2):  # a still tail, longer than the band
            grab()
    return out


def _changed(a: Frame, b: Frame) -> npt.NDArray[np.bool_]:
    # A channel at a time: (a[..., :3] != b[..., :3]).any(axis=2) took
    # 36 ms at 640x400 (33 of this file's 38 s); this way about 1 ms.
    out = a[..., 0] != b[..., 0]
    out |= a[..., 1] != b[..., 1]
    out |= a[..., 2] != b[..., 2]
    return out


def _mask(rects: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
    m = np.zeros((H, W), np.bool_)
    for x, y, w, h in rects.tolist():
        m[y : y + h, x : x + w] = True
    return m


def test_the_clip_has_real_damage(clip: Recording) -> None:
    assert clip.has_damage and clip.damage(0) is None
    damage = [clip.damage(i) for i in range(1, len(clip))]
    assert all(d is not None for d in damage)
    drawn = [d for d in damage if d is not None and len(d)]
    assert len(drawn) >= 10, "the typing drew (almost) nothing"
    # Damage is where the typing drew: small boxes, not the screen.
    assert max(int((d[:, 2] * d[:, 3]).sum()) for d in drawn) < W * H // 4
    # The still tail has none.
    assert all(d is not None and not len(d) for d in damage[-SCAN_UPDATES:])


def _hints(clip: Recording, how: str) -> list[npt.NDArray[np.int32] | None]:
    real = [clip.damage(i) for i in range(len(clip))]
    none = np.zeros((0, 4), np.int32)
    if how == "late":  # each frame's damage comes with the next frame
        return [None, none, *real[1:-1]]
    if how == "lost":  # every third frame's damage never comes
        return [None if i == 0 else none if i % 3 == 0 else d for i, d in enumerate(real)]
    if how == "none":  # no damage ever comes: the band alone finds the changes
        return [None] + [none] * (len(real) - 1)
    return real


@pytest.mark.parametrize("how", ["recorded", "late", "lost", "none"])
def test_real_damage_decodes_exact_once_the_band_has_passed(clip: Recording, how: str) -> None:
    frames = [np.array(clip.frame(i)) for i in range(len(clip))]
    # last_moved: per pixel, the last k whose step from frame k to k + 1 changed
    # it; a pixel stood still over frames i - SCAN_UPDATES .. i when that k is
    # below i - SCAN_UPDATES (one comparison a frame instead of SCAN_UPDATES).
    last_moved = np.full((H, W), -1, np.int32)
    hints = _hints(clip, how)
    enc = ScreenEncoder(W, H, integrity=True)
    dec = ScreenDecoder()
    picture = np.zeros_like(frames[0])
    hinted_fully = late = 0
    compared = []
    for i, f in enumerate(frames):
        hint = hints[i]
        missing = _changed(picture, f)  # what the viewer lacks before this update
        out = dec.decode(enc.encode(f, hint=hint))
        wrong = _changed(out, f)
        if i == 0:
            assert not wrong.any(), "the keyframe"
        else:
            assert hint is not None
            compared.append(enc.last.compared_rows)
            if missing.any():
                if (missing & ~_mask(hint)).any():
                    late += 1
                else:
                    hinted_fully += 1
                    assert not wrong.any(), f"frame {i}: fully hinted but not exact"
        if i:
            last_moved[_changed(frames[i - 1], f)] = i - 1
        if i >= SCAN_UPDATES:
            still = last_moved < i - SCAN_UPDATES
            bad = wrong & still
            assert not bad.any(), f"frame {i}: {int(bad.sum())} still pixels not sent"
        picture = np.array(out)
    assert not _changed(picture, frames[-1]).any()
    if how in ("recorded", "lost"):  # (late or none: no hint covers what an update lacks)
        assert hinted_fully >= 5
    if how != "recorded":
        assert late >= 5, "the hints missed nothing: the band was not tested"
    # The hints were used: most updates compared a small part of the frame.
    assert sorted(compared)[len(compared) // 2] < H // 2
    print(f"\n{len(frames)} frames, {hinted_fully} hinted fully, {late} with late damage")
