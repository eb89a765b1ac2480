"""Offline replay of a corpus clip under a rate (pgfirst45's primary
evidence; pages44 ran one like it, not kept, whose browser-scroll figures on
main differ: p95 330 ms there, 219 here): every frame encoded at its recorded time by a session's
lossy encoder (video, history stream) at a fixed rate, each update queued on
a link of that rate with a one-way delay, no frame skipped. Deterministic
but for the motion finder's time limits (a slow encode can find other
COPYs). Printed: the lag of every changed frame after the first 2 s (p50,
p95, max ms), the time from the last change until the encoder's lossy area
is 0 (the last frame encoded again whenever the queue is under a tick), the
encode CPU time per update; ``--trace`` adds a line per update (bytes, lag,
the share of text, whether ``_page`` saw a page, ``_bands``' rows sent and
filled and bytes, COPY ops).

Run: ``PYTHONPATH=src python benchmarks/corpus_replay.py browser-scroll
[--rate 1e6] [--trace]`` (the corpus in ``$SCREENCODEC_CORPUS`` or
``corpus/``)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from screencodec.capture.recording import Recording
from screencodec.encoder import ScreenEncoder
from screencodec.linkbench.workloads import corpus_dir
from screencodec.quality import controller as qc

ONEWAY = 0.05
TICK = 1 / 30


def _watch(log: dict[str, Any]) -> None:
    """Note what ``_page``, ``_bands`` and ``follow_copies`` did per update."""
    rc = qc.RateController
    page, bands, follow = rc._page, rc._bands, rc.follow_copies

    def _page(self: Any, text: Any, shape: Any, now: float, keyframe: bool) -> bool:
        out = page(self, text, shape, now, keyframe)
        log["text"], log["page"] = qc._area(text) / (shape[0] * shape[1]), out
        return out

    def _bands(self: Any, text: Any, lossless: Any, used: int, *, whole: bool) -> Any:
        ops, sent, blank = bands(self, text, lossless, used, whole=whole)
        log["bands"] = (len(sent), len(blank), qc._size(ops))
        return ops, sent, blank

    def _follow(self: Any, ref: Any, ops: Any, /) -> None:
        log["copies"] = len(ops)
        follow(self, ref, ops)

    qc.RateController._page = _page  # type: ignore[method-assign]
    qc.RateController._bands = _bands  # type: ignore[method-assign]
    qc.RateController.follow_copies = _follow  # type: ignore[method-assign]


def replay(name: str, rate: float, trace: bool) -> dict[str, Any]:
    rec = Recording.open(corpus_dir() / name)
    enc = ScreenEncoder(rec.width, rec.height, video=True, lossy=True, history=True, integrity=True)
    enc.set_rate(rate, interval=TICK)
    log: dict[str, Any] = {}
    if trace:
        _watch(log)
    prev, free, last_change = None, 0.0, 0.0
    lags, cpu = [], []
    frame = None
    for i, t in enumerate(rec.times):
        frame = np.array(rec.frame(i))
        changed = prev is None or not np.array_equal(frame[..., :3], prev[..., :3])
        prev = frame
        log.clear()
        c0 = time.process_time()
        data = enc.encode(frame, now=t)
        cpu.append(time.process_time() - c0)
        free = max(t, free) + len(data) * 8 / rate
        shown = free + ONEWAY
        if changed:
            last_change = t
            if t >= 2.0:
                lags.append(shown - t)
        if trace:
            print(f"{i:3d} t={t:6.3f} changed={int(changed)} bytes={len(data):6d} "
                  f"lag={1000 * (shown - t):5.0f} text={log.get('text', 0):.3f} "
                  f"page={log.get('page')} bands={log.get('bands')} "
                  f"copies={log.get('copies')} lossy={enc.lossy_area}")  # fmt: skip
    exact_at = free + ONEWAY if enc.lossy_area == 0 else None
    t = rec.times[-1]
    for _ in range(400):
        if exact_at is not None or frame is None:
            break
        t = max(t + TICK, free - TICK)  # encoded when the queue is under a tick
        free = max(t, free) + len(enc.encode(frame, now=t)) * 8 / rate
        exact_at = free + ONEWAY if enc.lossy_area == 0 else None
    enc.close()
    ms = np.array(lags) * 1000
    return {
        "name": name, "rate": rate, "lags": len(ms),
        "p50": round(float(np.percentile(ms, 50))), "p95": round(float(np.percentile(ms, 95))),
        "max": round(float(ms.max())),
        "exact_after_stop_ms": None if exact_at is None else round(1000 * (exact_at - last_change)),
        "encode_cpu_p50_ms": round(1000 * float(np.percentile(cpu, 50)), 1),
        "encode_cpu_p95_ms": round(1000 * float(np.percentile(cpu, 95)), 1),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="a corpus clip, e.g. browser-scroll")
    ap.add_argument("--rate", type=float, default=1e6, help="bits per second")
    ap.add_argument("--trace", action="store_true", help="a line per update")
    args = ap.parse_args()
    print(json.dumps(replay(args.name, args.rate, args.trace)))


if __name__ == "__main__":
    main()
