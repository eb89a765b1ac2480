"""Host CPU per frame with and without XDamage hints, with and without
partial grabs: grab + encode at 1080p, all in the same run.

A private Xvfb (1920x1080) shows an xterm (120x40 at the top left).
Workloads: ``typing`` (xdotool types into the xterm, 30 characters a second)
and ``idle`` (the xterm stands still). Three hosts' paths run in turn on the
same screen, each with its own ScreenSource and its session encoder
(``session_encoder``: what a host runs for a full viewer), which one goes
first rotating:

* partial: ``frame, hint = src.grab_hinted()`` with partial grabs (the
  damaged row bands and the rolling band read into the source's own frame),
  then ``enc.encode(frame, hint=hint)``: the frame is not fresh, so the
  streamer does not give it up;
* hinted: ``ScreenSource(partial_grabs=False)``: ``grab_hinted()`` grabs the
  whole screen (as before partial grabs), then
  ``enc.encode(frame, keep=True, hint=hint); enc.take_spare()``;
* plain: ``frame = src.grab()``, then ``enc.encode(frame, keep=True);
  enc.take_spare()``, as the streamer runs one viewer without hints (mss's
  fresh buffers given up to the encoder).

Per frame: the thread's CPU time (``time.thread_time``: this process's
work; the X server's is not in it), the wall time, for the grab (with the
damage's round trip when hinted) and the encode, and the thread's minor page
faults (``getrusage(RUSAGE_THREAD)``). Reported: p50 and mean, and each
path / plain. At the end both viewers' pictures (every update decoded) are
checked bit-exact against the screen. Paced at 30 frame pairs a second.

Run: ``pytest benchmarks/test_bench_hints.py --benchmark-only -s`` (or
``python`` it). Needs Xvfb, xterm and xdotool.
"""

from __future__ import annotations

import os
import resource
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

    def __init__(self, display: str, kind: str) -> None:
        self.src = ScreenSource(display=display, partial_grabs=kind == "partial")
        self.enc: Any = session_encoder(*SIZE)
        self.dec = ScreenDecoder()
        self.hinted = kind != "plain"
        self.last: Any = None
        self.rows: list[int] = []
        self.read: list[int] = []  # rows read from the screen
        # per frame: (grab cpu, grab wall, encode cpu, encode wall, minor faults)
        self.times: list[tuple[float, float, float, float, float]] = []

    def frame(self) -> None:
        f0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        c0, w0 = time.thread_time(), time.perf_counter()
        if self.hinted:
            frame, hint = self.src.grab_hinted()
            fresh = self.src.hinted_buffers_fresh
        else:
            frame, hint, fresh = self.src.grab(), None, True
        c1, w1 = time.thread_time(), time.perf_counter()
        if fresh:  # as the streamer: a fresh grab is given up to the encoder
            data = self.enc.encode(frame, keep=True, hint=hint)
            self.enc.take_spare()
        else:
            data = self.enc.encode(frame, hint=hint)
        c2, w2 = time.thread_time(), time.perf_counter()
        f1 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        self.times.append((c1 - c0, w1 - w0, c2 - c1, w2 - w1, f1 - f0))
        self.rows.append(self.enc.last.compared_rows)
        self.read.append(self.src.rows_read if self.hinted else SIZE[1])
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
        paths = {k: HostPath(display, k) for k in ("partial", "hinted", "plain")}
        typist = None
        try:
            for p in paths.values():  # the keyframes, and the first hint
                p.frame()
                p.frame()
                p.times.clear()
                p.rows.clear()
                p.read.clear()
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
                order.append(order.pop(0))
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
                    p.read.pop()
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
            "read_mean": float(np.mean(p.read)),
            "faults_mean": float(np.mean(np.array(p.times)[:, 4])),
            "grab_cpu_p50": float(np.median(t[:, 0])),
            "encode_cpu_p50": float(np.median(t[:, 2])),
            "cpu_p50": float(np.median(t[:, 0] + t[:, 2])),
            "cpu_mean": float(np.mean(t[:, 0] + t[:, 2])),
            "wall_p50": float(np.median(t[:, 1] + t[:, 3])),
            "wall_mean": float(np.mean(t[:, 1] + t[:, 3])),
            "grab_wall_p50": float(np.median(t[:, 1])),
            "encode_wall_p50": float(np.median(t[:, 3])),
        }
    b = out["plain"]
    for name in ("partial", "hinted"):
        h = out[name]
        out[f"{name}_ratio"] = {
            k: h[k] / b[k] for k in ("cpu_p50", "cpu_mean", "wall_p50", "wall_mean")
        }
    return out


def report(workload: str, r: dict[str, Any]) -> str:
    lines = [f"{workload}: {r['frames']} frame pairs, 1920x1080, ms per frame (grab + encode)"]
    for name in ("partial", "hinted", "plain"):
        x = r[name]
        lines.append(
            f"  {name:7s} cpu p50 {x['cpu_p50']:6.3f} (grab {x['grab_cpu_p50']:.3f}, encode "
            f"{x['encode_cpu_p50']:.3f}) mean {x['cpu_mean']:6.3f} | wall p50 {x['wall_p50']:6.3f}"
            f" (grab {x['grab_wall_p50']:.3f}, encode {x['encode_wall_p50']:.3f}) mean "
            f"{x['wall_mean']:6.3f} | rows read {x['read_mean']:6.1f}, compared "
            f"{x['rows_mean']:6.1f} | faults {x['faults_mean']:6.0f} | exact {x['exact']}"
        )
    for name in ("partial", "hinted"):
        q = r[f"{name}_ratio"]
        lines.append(
            f"  {name} / plain: cpu p50 {q['cpu_p50']:.2f}x mean {q['cpu_mean']:.2f}x, "
            f"wall p50 {q['wall_p50']:.2f}x mean {q['wall_mean']:.2f}x"
        )
    lines.append(f"  load {os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


@pytest.mark.parametrize("workload", ["typing", "idle"])
def test_hints_host_cpu(workload: str, benchmark: Any) -> None:
    run: Callable[[], dict[str, Any]] = lambda: measure(workload)  # noqa: E731
    result = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in result.items() if k != "frames"})
    print("\n" + report(workload, result))
    assert all(result[k]["exact"] for k in ("partial", "hinted", "plain"))


if __name__ == "__main__":
    for w in ("typing", "idle"):
        print(report(w, measure(w)))
