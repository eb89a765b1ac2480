"""Host CPU per frame with and without XDamage hints: grab + encode at 1080p,
both in the same run.

A private Xvfb (1920x1080) shows an xterm (120x40 at the top left).
Workloads: ``typing`` (xdotool types into the xterm, 30 characters a second)
and ``idle`` (the xterm stands still). Two hosts' paths run in turn on the
same screen, each with its own ScreenSource and its session encoder
(``session_encoder``: what a host runs for a full viewer), which one goes
first alternating:

* hinted: ``frame, hint = src.grab_hinted()``, then
  ``enc.encode(frame, keep=True, hint=hint); enc.take_spare()``;
* plain: ``frame = src.grab()``, then ``enc.encode(frame, keep=True);
  enc.take_spare()``, as the streamer runs one viewer without hints (mss's
  fresh buffers given up to the encoder).

Per frame: the thread's CPU time (``time.thread_time``: this process's
work; the X server's is not in it) and the wall time, for the grab (with the
damage's round trip when hinted) and the encode. Reported: p50 and mean, and
hinted / plain. At the end both viewers' pictures (every update decoded) are
checked bit-exact against the screen. Paced at 30 frame pairs a second.

Run: ``pytest benchmarks/test_bench_hints.py --benchmark-only -s`` (or
``python`` it). Needs Xvfb, xterm and xdotool.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from screencodec.capture import ScreenSource
from screencodec.capture.xvfb import xvfb_xterm
from screencodec.decoder import ScreenDecoder
from screencodec.transport.session.encoding import session_encoder

SIZE = (1920, 1080)
SECONDS = 8.0
PACE = 1 / 30
TEXT = "def session(code, password): return connect(code, password)  # typed\n"


class HostPath:
    """One host's grab + encode, timed per frame; its stream decoded."""

    def __init__(self, display: str, hinted: bool) -> None:
        self.src = ScreenSource(display=display)
        self.enc: Any = session_encoder(*SIZE)
        self.dec = ScreenDecoder()
        self.hinted = hinted
        self.last: Any = None
        self.rows: list[int] = []
        # per frame: (grab cpu, grab wall, encode cpu, encode wall)
        self.times: list[tuple[float, float, float, float]] = []

    def frame(self) -> None:
        c0, w0 = time.thread_time(), time.perf_counter()
        if self.hinted:
            frame, hint = self.src.grab_hinted()
        else:
            frame, hint = self.src.grab(), None
        c1, w1 = time.thread_time(), time.perf_counter()
        data = self.enc.encode(frame, keep=True, hint=hint)
        self.enc.take_spare()
        c2, w2 = time.thread_time(), time.perf_counter()
        self.times.append((c1 - c0, w1 - w0, c2 - c1, w2 - w1))
        self.rows.append(self.enc.last.compared_rows)
        self.dec.decode(data)
        self.last = frame

    def exact(self) -> bool:
        fb = self.dec.framebuffer
        return fb is not None and bool(np.array_equal(fb[..., :3], self.last[..., :3]))

    def close(self) -> None:
        self.enc.close()
        self.src.close()


def measure(workload: str) -> dict[str, Any]:
    with xvfb_xterm(*SIZE, cols=120, rows=40, at=(0, 0)) as display:
        env = {**os.environ, "DISPLAY": display}
        paths = {"hinted": HostPath(display, True), "plain": HostPath(display, False)}
        typist = None
        try:
            for p in paths.values():  # the keyframes, and the first hint
                p.frame()
                p.frame()
                p.times.clear()
                p.rows.clear()
            if workload == "typing":
                typist = subprocess.Popen(
                    ["xdotool", "type", "--delay", str(int(1000 / 30)), TEXT * 40], env=env
                )
            order = list(paths.values())
            end = time.monotonic() + SECONDS
            tick = time.monotonic()
            while time.monotonic() < end:
                for p in order:
                    p.frame()
                order.reverse()
                tick += PACE
                time.sleep(max(0.0, tick - time.monotonic()))
            if typist is not None:
                typist.kill()
                typist.wait(5)
            time.sleep(0.3)  # still: one more frame each brings every change
            for p in paths.values():
                for _ in range(2):
                    p.frame()
                    p.times.pop()
                    p.rows.pop()
            return summary(paths)
        finally:
            if typist is not None and typist.poll() is None:
                typist.kill()
                typist.wait(5)
            for p in paths.values():
                p.close()


def summary(paths: dict[str, HostPath]) -> dict[str, Any]:
    out: dict[str, Any] = {"frames": len(paths["plain"].times)}
    for name, p in paths.items():
        t = np.array(p.times) * 1e3
        out[name] = {
            "exact": p.exact(),
            "rows_mean": float(np.mean(p.rows)),
            "grab_cpu_p50": float(np.median(t[:, 0])),
            "encode_cpu_p50": float(np.median(t[:, 2])),
            "cpu_p50": float(np.median(t[:, 0] + t[:, 2])),
            "cpu_mean": float(np.mean(t[:, 0] + t[:, 2])),
            "wall_p50": float(np.median(t[:, 1] + t[:, 3])),
            "wall_mean": float(np.mean(t[:, 1] + t[:, 3])),
            "grab_wall_p50": float(np.median(t[:, 1])),
            "encode_wall_p50": float(np.median(t[:, 3])),
        }
    h, b = out["hinted"], out["plain"]
    out["ratio"] = {k: h[k] / b[k] for k in ("cpu_p50", "cpu_mean", "wall_p50", "wall_mean")}
    return out


def report(workload: str, r: dict[str, Any]) -> str:
    lines = [f"{workload}: {r['frames']} frame pairs, 1920x1080, ms per frame (grab + encode)"]
    for name in ("hinted", "plain"):
        x = r[name]
        lines.append(
            f"  {name:6s} cpu p50 {x['cpu_p50']:6.3f} (grab {x['grab_cpu_p50']:.3f}, encode "
            f"{x['encode_cpu_p50']:.3f}) mean {x['cpu_mean']:6.3f} | wall p50 {x['wall_p50']:6.3f}"
            f" (grab {x['grab_wall_p50']:.3f}, encode {x['encode_wall_p50']:.3f}) mean "
            f"{x['wall_mean']:6.3f} | rows compared {x['rows_mean']:6.1f} | exact {x['exact']}"
        )
    q = r["ratio"]
    lines.append(
        f"  hinted / plain: cpu p50 {q['cpu_p50']:.2f}x mean {q['cpu_mean']:.2f}x, "
        f"wall p50 {q['wall_p50']:.2f}x mean {q['wall_mean']:.2f}x; load {os.getloadavg()[0]:.1f}"
    )
    return "\n".join(lines)


@pytest.mark.parametrize("workload", ["typing", "idle"])
def test_hints_host_cpu(workload: str, benchmark: Any) -> None:
    run: Callable[[], dict[str, Any]] = lambda: measure(workload)  # noqa: E731
    result = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in result.items() if k != "frames"})
    print("\n" + report(workload, result))
    assert result["hinted"]["exact"] and result["plain"]["exact"]


if __name__ == "__main__":
    for w in ("typing", "idle"):
        print(report(w, measure(w)))
