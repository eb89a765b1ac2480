"""Recorded clips (capture.recording) and paced playback (capture.replay).

The committed clips in tests/data/recording/ were recorded from real apps under
Xvfb by scripts/record_corpus.py (640x360: vim typing, a scrolling build log).
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from screencodec.capture import SyntheticDesktop
from screencodec.capture.recording import Recording, RecordingWriter
from screencodec.capture.replay import (
    FrameSequence,
    PacedSource,
    PrefetchedSequence,
    synthetic_sequence,
)
from screencodec.errors import CaptureError, DecodeError, FrameError, IntegrityError
from screencodec.frames import framebuffer_hash

DATA = Path(__file__).resolve().parent.parent / "data" / "recording"
CLIPS = sorted(p.name for p in DATA.iterdir() if (p / "manifest.json").exists())


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A private copy of the scrolling-terminal clip, free to corrupt."""
    dst = tmp_path / "clip"
    shutil.copytree(DATA / "terminal-log", dst)
    return dst


def _decode_all(path: Path) -> None:
    with Recording.open(path) as rec:
        for i in range(len(rec)):
            assert framebuffer_hash(np.ascontiguousarray(rec.frame(i))) == rec.hashes[i]


# -- the committed real recordings --------------------------------------------------


def test_committed_clips_exist() -> None:
    assert {"terminal-log", "vim-typing"} <= set(CLIPS)


@pytest.mark.parametrize("name", CLIPS)
def test_every_frame_decodes_to_its_manifest_hash(name: str) -> None:
    manifest = json.loads((DATA / name / "manifest.json").read_text())
    with Recording.open(DATA / name) as rec:
        assert isinstance(rec, FrameSequence)
        assert (rec.name, rec.width, rec.height, rec.fps) == (
            name, manifest["width"], manifest["height"], manifest["fps"]
        )  # fmt: skip
        assert len(rec) == manifest["frames"] >= 10
        assert rec.times[0] == 0 and list(rec.times) == sorted(rec.times)
        assert rec.nbytes == (DATA / name / "frames.bin").stat().st_size
        frames = []
        for i in range(len(rec)):
            f = rec.frame(i)
            assert f.shape == (rec.height, rec.width, 4) and f.dtype == np.uint8
            assert f"{framebuffer_hash(f):016x}" == manifest["hashes"][i]
            frames.append(f.copy())
        # Real content: some frames change, some do not.
        changed = sum(h1 != h2 for h1, h2 in zip(rec.hashes, rec.hashes[1:], strict=False))
        assert 5 <= changed < len(rec)
        # Backwards (restart from frame 0) and repeated access give the same pixels.
        for i in (len(rec) - 1, 3, 3, 0, len(rec) // 2):
            assert np.array_equal(rec.frame(i), frames[i])


def test_frame_out_of_range_and_closed() -> None:
    rec = Recording.open(DATA / "vim-typing")
    with pytest.raises(FrameError):
        rec.frame(len(rec))
    with pytest.raises(FrameError):
        rec.frame(-1)
    rec.close()
    rec.close()
    with pytest.raises(CaptureError):
        rec.frame(0)


# -- damaged files ------------------------------------------------------------------


def test_flipped_bytes_never_give_a_wrong_frame(clip: Path) -> None:
    """Any flipped byte raises DecodeError (at open or at the frame it hits);
    no position yields a frame that differs from the manifest."""
    original = (clip / "frames.bin").read_bytes()
    size = len(original)
    # Headers of the first updates, the middle of payloads, the very end.
    positions = sorted({*range(48), *range(48, size, max(1, size // 40)), size - 1})
    for pos in positions:
        data = bytearray(original)
        data[pos] ^= 0x5A
        (clip / "frames.bin").write_bytes(data)
        with pytest.raises(DecodeError):
            _decode_all(clip)


def test_corrupted_pixels_are_an_integrity_error(clip: Path) -> None:
    with Recording.open(clip) as rec:
        k = max(range(1, len(rec)), key=rec.update_size)  # the largest delta update
        start = sum(rec.update_size(i) for i in range(k))
        size = rec.update_size(k)
    data = bytearray((clip / "frames.bin").read_bytes())
    data[start + size - 20] ^= 0x01  # inside the last op's payload
    (clip / "frames.bin").write_bytes(data)
    rec = Recording.open(clip)  # the headers are intact
    for i in range(k):
        rec.frame(i)
    with pytest.raises(DecodeError, match=f"frame {k}") as info:
        rec.frame(k)
    assert isinstance(info.value, ValueError)
    # The reader recovers: earlier frames decode again from frame 0.
    assert framebuffer_hash(np.ascontiguousarray(rec.frame(1))) == rec.hashes[1]


@pytest.mark.parametrize("keep", [0, 1, 7, 31, 40, -1, "half"])
def test_truncated_frames_file(clip: Path, keep: int | str) -> None:
    data = (clip / "frames.bin").read_bytes()
    cut = len(data) // 2 if keep == "half" else int(keep) % len(data)
    (clip / "frames.bin").write_bytes(data[:cut])
    with pytest.raises(DecodeError):
        Recording.open(clip)


def test_trailing_bytes(clip: Path) -> None:
    with open(clip / "frames.bin", "ab") as f:
        f.write(b"\0")
    with pytest.raises(DecodeError, match="after the last frame"):
        Recording.open(clip)


def _edit(clip: Path, **changes: object) -> None:
    m = json.loads((clip / "manifest.json").read_text())
    for key, value in changes.items():
        if value is None:
            del m[key]
        else:
            m[key] = value
    (clip / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "something-else"},
        {"version": 2},
        {"name": None},
        {"name": 7},
        {"width": 641},
        {"height": "360"},
        {"width": 0},
        {"fps": 0},
        {"fps": True},
        {"frames": 3},
        {"times": "0.0"},
        {"hashes": None},
    ],
)
def test_bad_manifest_fields(clip: Path, changes: dict[str, object]) -> None:
    _edit(clip, **changes)
    with pytest.raises(DecodeError):
        Recording.open(clip)


def test_bad_manifest_lists(clip: Path) -> None:
    m = json.loads((clip / "manifest.json").read_text())
    n = len(m["times"])
    cases = [
        {"times": [*m["times"][:-1], m["times"][-2] - 0.01]},  # goes back
        {"times": [0.5, *m["times"][1:]]},  # does not start at 0
        {"times": [*m["times"][:-1], "1.0"]},
        {"times": m["times"][:-1]},
        {"hashes": [*m["hashes"][:-1], "xyz"]},
        {"hashes": [*m["hashes"][:-1], m["hashes"][0].upper()]},
        {"hashes": [*m["hashes"][:-1], f"{int(m['hashes'][-1], 16) ^ 1:016x}"]},
        {"hashes": m["hashes"][1:] + m["hashes"][:1], "times": m["times"]},
    ]
    for changes in cases:
        _edit(clip, **{**m, **changes, "frames": n})
        with pytest.raises(DecodeError):
            Recording.open(clip)


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '{"format": 1}', "\udcff"])
def test_manifest_not_a_manifest(clip: Path, text: str) -> None:
    (clip / "manifest.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises((DecodeError, CaptureError)):
        Recording.open(clip)


def test_missing_files(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(CaptureError):
        Recording.open(tmp_path / "nowhere")
    (clip / "frames.bin").unlink()
    with pytest.raises(CaptureError) as info:
        Recording.open(clip)
    assert isinstance(info.value, OSError)
    (clip / "frames.bin").write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        Recording.open(clip)


# -- the writer -----------------------------------------------------------------


def test_writer_round_trip(tmp_path: Path) -> None:
    desk = SyntheticDesktop(160, 96, scenario="terminal", seed=3, junk_padding=True)
    times = [10.0, 10.05, 10.05, 10.2, 10.31]
    frames = []
    w = RecordingWriter(tmp_path / "c", "synthetic-terminal", 160, 96, fps=20, info={"k": 1})
    for t in times:
        f = desk.grab()
        frames.append(f.copy())
        w.add(f, t)
    with pytest.raises(FrameError):
        w.add(f, 10.0)  # time goes back
    with pytest.raises(FrameError):
        w.add(np.zeros((96, 100, 4), np.uint8), 11.0)
    manifest = w.close()
    assert manifest["recorded"] == {"k": 1}
    with Recording.open(tmp_path / "c") as rec:
        assert rec.times == pytest.approx([t - 10.0 for t in times])
        for i, f in enumerate(frames):
            assert np.array_equal(rec.frame(i)[..., :3], f[..., :3])


def test_writer_without_a_manifest_is_no_clip(tmp_path: Path) -> None:
    w = RecordingWriter(tmp_path / "c", "x", 64, 64, fps=20)
    w.add(np.zeros((64, 64, 4), np.uint8), 0.0)
    w.abort()
    with pytest.raises(CaptureError):
        Recording.open(tmp_path / "c")


# -- synthetic sequences -----------------------------------------------------------


@pytest.mark.parametrize("scenario", ["typing", "video"])
def test_synthetic_sequence_matches_the_desktop(scenario: str) -> None:
    seq = synthetic_sequence(scenario, 320, 180, fps=10, seconds=0.9, seed=5)
    assert isinstance(seq, FrameSequence)
    assert (seq.width, seq.height, len(seq)) == (320, 180, 9)
    assert seq.times == pytest.approx([i / 10 for i in range(9)])
    desk = SyntheticDesktop(320, 180, scenario=scenario, fps=10, seed=5)
    for i in (0, 1, 2, 8, 4):
        assert np.array_equal(seq.frame(i), desk.frame_at(i))
    with pytest.raises(FrameError):
        seq.frame(9)
    with pytest.raises(FrameError):
        synthetic_sequence(scenario, 320, 180, seconds=0)


# -- paced playback ----------------------------------------------------------------


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Numbered:
    """A FrameSequence whose frame i is filled with the value i; records each
    fetch and the thread that made it."""

    def __init__(self, times: list[float]) -> None:
        self.width, self.height, self.times = 8, 4, times
        self.fetches: list[int] = []
        self.threads: list[str] = []

    def __len__(self) -> int:
        return len(self.times)

    def frame(self, index: int, /) -> np.ndarray:
        self.fetches.append(index)
        self.threads.append(threading.current_thread().name)
        return np.full((4, 8, 4), index, np.uint8)


def test_paced_source_follows_the_clock() -> None:
    # Binary fractions keep the float arithmetic exact.
    seq = Numbered([0.0, 0.125, 0.125, 0.25, 1.0])
    clock = FakeClock()
    src = PacedSource(seq, clock=clock, prefetch=False)
    assert (src.frame_index, src.started_at, src.finished) == (-1, None, False)
    assert (src.width, src.height) == (8, 4)
    with pytest.raises(FrameError):
        src.time_of(0)
    clock.t = 64.0
    first = src.grab()
    assert first[0, 0, 0] == 0 and src.frame_index == 0 and src.started_at == 64.0
    # Nothing new is due: the very same array, no fetch.
    clock.t = 64.1
    assert src.grab() is first and seq.fetches == [0]
    # Two frames share a time: the newer is shown, the other skipped.
    clock.t = 64.125
    assert src.grab()[0, 0, 0] == 2 and src.frame_index == 2
    clock.t = 64.3
    assert src.grab()[0, 0, 0] == 3
    assert src.time_of(3) == 64.25
    assert src.time_of(1) == 64.125
    assert not src.finished
    clock.t = 64.999
    assert not src.finished
    clock.t = 65.0
    assert src.finished
    last = src.grab()
    assert last[0, 0, 0] == 4 and src.frame_index == 4
    clock.t = 150.0
    assert src.grab() is last and src.finished
    assert seq.fetches == [0, 2, 3, 4]
    with pytest.raises(FrameError):
        src.time_of(5)
    src.close()
    with pytest.raises(CaptureError):
        src.grab()


def test_paced_source_first_grab_is_frame_zero_whenever_it_comes() -> None:
    clock = FakeClock(5000.0)
    src = PacedSource(Numbered([0.0, 0.05, 0.1]), clock=clock, prefetch=False)
    assert src.grab()[0, 0, 0] == 0
    clock.t += 10
    assert src.grab()[0, 0, 0] == 2


def test_paced_source_times_relative_to_the_first() -> None:
    clock = FakeClock(0.0)
    src = PacedSource(Numbered([3.0, 3.5, 4.0]), clock=clock, prefetch=False)
    src.grab()
    clock.t = 0.5
    assert src.grab()[0, 0, 0] == 1 and src.time_of(2) == pytest.approx(1.0)


def test_paced_source_loops() -> None:
    seq = Numbered([0.0, 0.1, 0.2, 0.3])  # a pass lasts 0.4 s
    clock = FakeClock(10.0)
    src = PacedSource(seq, clock=clock, loop=True, prefetch=False)
    src.grab()
    expected = {
        10.35: (3, 0), 10.4: (0, 1), 10.45: (0, 1), 10.55: (1, 1), 11.25: (0, 3), 11.42: (2, 3),
    }  # fmt: skip
    for t, (index, cycle) in expected.items():
        clock.t = t
        frame = src.grab()
        assert (int(frame[0, 0, 0]), src.frame_index, src.cycle) == (index, index, cycle), t
        assert not src.finished
    assert src.time_of(0) == pytest.approx(10.0 + 3 * 0.4)
    assert src.time_of(2) == pytest.approx(11.4)


def test_paced_source_single_frame_and_bad_sequences() -> None:
    clock = FakeClock()
    one = PacedSource(Numbered([0.0]), clock=clock, loop=True, prefetch=False)
    f = one.grab()
    clock.t += 1e6
    assert one.grab() is f and one.cycle == 0
    with pytest.raises(FrameError):
        PacedSource(Numbered([]))
    with pytest.raises(FrameError):
        PacedSource(Numbered([0.0, 0.2, 0.1]))
    with pytest.raises(FrameError):
        PacedSource(Numbered([0.0, float("nan")]))


@pytest.mark.parametrize("prefetch", [False, True])
def test_paced_recording(prefetch: bool) -> None:
    with Recording.open(DATA / "vim-typing") as rec:
        clock = FakeClock(0.0)
        with PacedSource(rec, clock=clock, prefetch=prefetch) as src:
            for k in (0, 1, 2, 5, 6, 12, len(rec) - 1):
                clock.t = rec.times[k]
                frame = src.grab()
                assert src.frame_index == k
                assert framebuffer_hash(np.ascontiguousarray(frame)) == rec.hashes[k]
                assert src.time_of(k) == rec.times[k]
            assert src.finished
        # A looping replay decodes from frame 0 again after the end.
        with PacedSource(rec, clock=clock, loop=True, prefetch=prefetch) as src:
            clock.t = 0.0
            src.grab()
            for t in (rec.times[-1], rec.times[-1] + 0.5, rec.times[-1] + 0.7):
                clock.t = t
                frame = src.grab()
                assert framebuffer_hash(np.ascontiguousarray(frame)) == rec.hashes[src.frame_index]
            assert src.cycle == 1


def test_prefetched_sequence_fetches_ahead_into_the_other_buffer() -> None:
    seq = Numbered([0.1 * i for i in range(8)])
    pre = PrefetchedSequence(seq)
    assert (len(pre), pre.width, pre.height, pre.times) == (8, 8, 4, seq.times)
    a = pre.frame(0)
    b = pre.frame(1)
    c = pre.frame(2)
    assert (a is c, b is a) == (True, False)
    assert (int(b[0, 0, 0]), int(c[0, 0, 0])) == (1, 2)
    # 0 was fetched by the caller, 1 and 2 ahead by the worker. (What the worker
    # does after the last call is not known until the next call waits for it.)
    me = threading.current_thread().name
    assert seq.fetches[:3] == [0, 1, 2]
    assert seq.threads[:3] == [me, "screencodec-prefetch", "screencodec-prefetch"]
    d = pre.frame(6)  # a jump: the prefetched 3 is dropped, the caller fetches 6
    assert int(d[0, 0, 0]) == 6
    assert (seq.fetches[:5], seq.threads[4]) == ([0, 1, 2, 3, 6], me)
    assert int(pre.frame(7)[0, 0, 0]) == 7  # the last: nothing after it (no wrap)
    assert int(pre.frame(1)[0, 0, 0]) == 1  # backwards: the caller fetches
    assert (seq.fetches[:7], seq.threads[5:7]) == ([0, 1, 2, 3, 6, 7, 1], [
        "screencodec-prefetch", me])  # fmt: skip
    pre.close()
    pre.close()
    with pytest.raises(CaptureError):
        pre.frame(0)


def test_prefetched_sequence_reports_errors_to_who_asks() -> None:
    class Broken(Numbered):
        def frame(self, index: int, /) -> np.ndarray:
            super().frame(index)
            if index in (2, 5):
                raise IntegrityError(f"bad frame {index}")
            return np.full((4, 8, 4), index, np.uint8)

    seq = Broken([0.1 * i for i in range(8)])
    pre = PrefetchedSequence(seq, wrap=True)
    pre.frame(1)  # prefetches 2, which fails
    with pytest.raises(IntegrityError, match="frame 2"):
        pre.frame(2)
    assert int(pre.frame(4)[0, 0, 0]) == 4  # prefetches 5, which fails: nobody asks
    assert int(pre.frame(7)[0, 0, 0]) == 7  # wraps: prefetches 0
    assert int(pre.frame(0)[0, 0, 0]) == 0
    pre.close()
    assert seq.fetches[:6] == [1, 2, 4, 5, 7, 0]


def test_paced_source_failing_fetch_leaves_state() -> None:
    class Broken(Numbered):
        def frame(self, index: int, /) -> np.ndarray:
            if index == 2:
                raise IntegrityError("bad frame")
            return super().frame(index)

    clock = FakeClock(0.0)
    src = PacedSource(Broken([0.0, 0.1, 0.2, 0.3]), clock=clock, prefetch=False)
    src.grab()
    clock.t = 0.2
    with pytest.raises(IntegrityError):
        src.grab()
    assert src.frame_index == 0
    clock.t = 0.3
    assert src.grab()[0, 0, 0] == 3
