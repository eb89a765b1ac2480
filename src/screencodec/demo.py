"""``screencodec demo``: capture -> encode -> decode, checked bit-exact, live.

Runs the real screen when there is one, else every scenario of the synthetic
desktop in turn, paced at a frame rate so that kbit/s means what it says.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import zstandard

from .capture import FrameSource, ScreenSource, SyntheticDesktop, has_display, scenario_names
from .decoder import ScreenDecoder
from .encoder import ScreenEncoder

__all__ = ["DemoRow", "run_demo"]

#: Compress one frame in this many with full-frame zstd for the "vs zstd" column.
_BASELINE_EVERY = 5


@dataclass(slots=True)
class DemoRow:
    name: str
    size: tuple[int, int]
    frames: int = 0
    exact: int = 0
    seconds: float = 0.0
    #: When the first picture was done (seconds into the run): the rate is
    #: of what came after it.
    first_done: float = 0.0
    encode_ms: list[float] = field(default_factory=list)
    decode_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    zstd_sizes: list[int] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def kbit_s(self) -> float:
        """The rate of the updates after the first picture. Over the whole
        run, the keyframe was most of a short run's bytes (walk40: `make
        demo`'s 1 s scenarios showed the idle screen at 6,003 kbit/s, more
        than typing; its later updates are 32 bytes each)."""
        after = self.seconds - self.first_done
        return sum(self.sizes[1:]) * 8 / 1000 / after if after > 0 else 0.0


def _stream(
    name: str, source: FrameSource, seconds: float, fps: float, status: Callable[[str], None]
) -> DemoRow:
    frame = source.grab()
    height, width = frame.shape[:2]
    row = DemoRow(name, (width, height))
    cctx = zstandard.ZstdCompressor(level=1)
    with ScreenEncoder(width, height) as enc:
        dec = ScreenDecoder()
        start = time.perf_counter()
        next_at = start
        while True:
            t0 = time.perf_counter()
            data = enc.encode(frame)
            t1 = time.perf_counter()
            fb = dec.decode(data)
            t2 = time.perf_counter()
            row.frames += 1
            row.exact += bool(np.array_equal(fb[..., :3], frame[..., :3]))
            row.encode_ms.append((t1 - t0) * 1e3)
            row.decode_ms.append((t2 - t1) * 1e3)
            row.sizes.append(len(data))
            if row.frames % _BASELINE_EVERY == 1:  # sampled: the baseline must not slow the demo
                row.zstd_sizes.append(len(cctx.compress(np.ascontiguousarray(frame).data)))
            row.seconds = time.perf_counter() - start
            if row.frames == 1:
                row.first_done = row.seconds
            status(
                f"{name:<9} {width}x{height} frame {row.frames:4d}  "
                f"enc {row.encode_ms[-1]:6.2f} ms  dec {row.decode_ms[-1]:6.2f} ms  "
                f"{len(data) / 1024:9.1f} KB  {row.kbit_s:9.0f} kbit/s  "
                f"exact {row.exact}/{row.frames}"
            )
            if row.seconds >= seconds:
                return row
            next_at += 1 / fps
            time.sleep(max(0.0, next_at - time.perf_counter()))
            frame = source.grab()
            if frame.shape[:2] != (height, width):  # the screen was resized
                height, width = frame.shape[:2]


def format_rows(rows: list[DemoRow]) -> str:
    head = (
        f"{'source':<9} {'size':>9} {'frames':>6} {'fps':>5} {'enc ms':>7} {'dec ms':>7} "
        f"{'first B':>9} {'delta B':>8} {'kbit/s':>8} {'vs raw':>8} {'vs zstd':>8} {'exact':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        raw = r.size[0] * r.size[1] * 4 * r.frames
        lines.append(
            f"{r.name:<9} {r.size[0]:>4}x{r.size[1]:<4} {r.frames:6d} {r.fps:5.1f} "
            f"{statistics.median(r.encode_ms):7.2f} {statistics.median(r.decode_ms):7.2f} "
            f"{r.sizes[0]:9d} {statistics.fmean(r.sizes[1:] or [0]):8.0f} {r.kbit_s:8.0f} "
            f"{sum(r.sizes) / raw:8.5f} "
            f"{statistics.fmean(r.sizes) / statistics.fmean(r.zstd_sizes):8.4f} "
            f"{r.exact:>4}/{r.frames:<4}"
        )
    lines.append(
        "first B: the first picture (a keyframe); delta B: mean bytes of every later update"
        " (what `screencodec bench` reports as KB/frame); kbit/s: the rate of those updates"
    )
    lines.append("enc/dec: median ms per frame; vs raw / vs zstd: bytes sent against raw BGRX")
    lines.append(
        f"frames and against full-frame zstd level 1 (sampled 1 frame in {_BASELINE_EVERY}); "
        "exact: bit-exact frames"
    )
    return "\n".join(lines)


def run_demo(
    *,
    source: str = "auto",
    scenario: str = "all",
    size: tuple[int, int] = (1920, 1080),
    seconds: float = 6.0,
    fps: float = 30.0,
    monitor: int = 1,
) -> int:
    """Run the demo; print a live status line and a final table. 0 when every
    decoded frame was bit-exact."""
    tty = sys.stdout.isatty()

    def status(line: str) -> None:
        if tty:
            sys.stdout.write("\r" + line[:150] + "\033[K")
            sys.stdout.flush()

    rows: list[DemoRow] = []
    if source == "screen" or (source == "auto" and has_display()):
        with ScreenSource(monitor) as src:
            print(f"capturing the screen, monitor {monitor} ({src.width}x{src.height})")
            rows.append(_stream("screen", src, seconds, fps, status))
    else:
        names = scenario_names() if scenario == "all" else [scenario]
        print(f"synthetic desktop {size[0]}x{size[1]}, scenarios {', '.join(names)}")
        for name in names:
            with SyntheticDesktop(size[0], size[1], scenario=name) as desk:
                rows.append(_stream(name, desk, seconds / len(names), fps, status))
                if not tty:
                    print(f"{name}: {rows[-1].frames} frames")
    if tty:
        sys.stdout.write("\r\033[K")
    print(format_rows(rows))
    bad = sum(r.frames - r.exact for r in rows)
    if bad:
        print(f"FAILED: {bad} frames were not bit-exact")
        return 1
    return 0
