"""The session benchmark's targets and table (workloads: :mod:`.workloads`).

``screencodec bench --link 4M,40ms`` and ``benchmarks/test_bench_session.py``
both come here: :func:`open_workload` turns a scenario name (a synthetic
scenario, or ``corpus:<name>`` for a recording in ``corpus/``) into a
:class:`FrameSequence`, :func:`measure` runs one session per workload and
link, :func:`targets` says which of the project's targets a result meets, and
:func:`format_table` prints them.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from .session import SessionResult
from .steps import LinkStep
from .workloads import (
    CORPUS_PREFIX,
    LINKS,
    SCENARIOS,
    Clip,
    check_workload,
    corpus_dir,
    corpus_workloads,
    measure,
    open_workload,
    parse_link_spec,
)

__all__ = [
    "CORPUS_PREFIX",
    "LINKS",
    "SCENARIOS",
    "Clip",
    "Target",
    "check_workload",
    "corpus_dir",
    "corpus_workloads",
    "format_ledger",
    "format_steps",
    "format_table",
    "format_wire",
    "kind",
    "measure",
    "open_workload",
    "parse_link_spec",
    "run",
    "targets",
]

@dataclass(frozen=True, slots=True)
class Target:
    """One target: ``what`` it asks, whether it is ``met``, the measured ``value``."""

    what: str
    met: bool
    value: str

    @property
    def short(self) -> str:
        return self.what.split(" <=")[0].split(" >=")[0]


def kind(workload: str) -> str | None:
    """The synthetic scenario a workload stands for, for its targets: itself, or
    for a recording the scenario its name mentions (``corpus:vim-typing`` is
    typing, ``corpus:window-drag`` drag); None for anything else (idle)."""
    name = workload.removeprefix(CORPUS_PREFIX)
    return next((k for k in SCENARIOS if k in name), None)


def _lag_target(r: SessionResult) -> float | None:
    """The p95 lag target (ms) for this result's scenario and link, if any."""
    k = kind(r.scenario)
    interactive = k in ("typing", "terminal", "browser")
    if r.link_kbit_s == 4000 and r.link_rtt_ms == 40:
        return 150.0 if interactive else 250.0 if k in ("drag", "video") else None
    if r.link_kbit_s == 1000 and r.link_rtt_ms == 100:
        return 400.0 if interactive else None
    return None


def targets(r: SessionResult) -> list[Target]:
    """The project's session targets that apply to ``r`` (reported, not asserted):
    at 4M/40ms lag p95 <= 150 ms (typing, terminal, browser) or 250 ms (drag,
    video); at 1M/100ms p95 <= 400 ms (typing, terminal, browser); everywhere,
    lossy frames >= 30 dB and exact within 1 s after the screen stops."""
    out = []
    bound = _lag_target(r)
    if bound is not None:
        out.append(Target(f"lag p95 <= {bound:g} ms", r.lag_p95_ms <= bound,
                          f"{r.lag_p95_ms:.0f} ms"))  # fmt: skip
    if r.lossy_samples:
        out.append(Target("lossy >= 30 dB", r.psnr_db >= 30, f"{r.psnr_db:.1f} dB"))
    exact = r.exact_ms
    out.append(Target("exact <= 1 s after the screen stops", exact is not None and exact <= 1000,
                      "never" if exact is None else f"{exact:.0f} ms"))  # fmt: skip
    return out


def _ms(v: float | None) -> str:
    if v is None:
        return "never"
    return "-" if math.isnan(v) else f"{v:.0f}"  # NaN: nothing to measure


def format_table(results: Sequence[SessionResult]) -> str:
    head = (f"{'scenario':<20} {'link':<14} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
            f"{'fps':>5} {'shown/s':>7} {'kbit/s':>8} {'PSNR dB':>7} {'first ms':>8} "
            f"{'exact ms':>8}  targets")  # fmt: skip
    rows = [head, "-" * len(head)]
    for r in results:
        psnr = "exact" if r.lossy_samples == 0 else f"{r.psnr_db:.1f}"
        marks = ", ".join(f"{t.short} {'met' if t.met else 'NOT met'}" for t in targets(r))
        rows.append(
            f"{r.scenario[:20]:<20} {r.link[:14]:<14} {_ms(r.lag_p50_ms):>7} "
            f"{_ms(r.lag_p95_ms):>7} {_ms(r.lag_max_ms):>7} {r.fps:5.1f} {r.content_fps:7.1f} "
            f"{r.kbit_s:8.0f} {psnr:>7} {_ms(r.first_picture_ms):>8} {_ms(r.exact_ms):>8}  {marks}"
        )
    return "\n".join(rows)


def format_steps(moved: dict[str, Any]) -> str:
    """One line: what a session's link steps did (:func:`.steps.after_steps`)."""
    made = ", ".join(f"{m['at_s']:.1f}s:" + ("upload" if m["kbit_s"] is None
                                             else f"{m['kbit_s']:.0f}k")
                     for m in moved["made"])  # fmt: skip

    def v(key: str, unit: str, scale: float = 1.0) -> str:
        x = moved.get(key)
        if x is None:
            return "never"
        return f"{x * scale:.2f}{unit}" if unit == " s" else f"{x * scale:.0f}{unit}"

    return (f"steps {made}: after the drop lag p95 (5 s) {v('lag_p95_5s_ms', ' ms')},"
            f" lag < 250 ms after {v('settle_s', ' s')}, queue peak {v('queue_peak_ms', ' ms')}"
            f" ({v('queue_2s_ms', ' ms')} from 2 s on),"
            f" {v('during_kbit_s', ' kbit/s')} until the recovery;"
            f" after the recovery 80 % of the rate in {v('regain_s', ' s')}")


_WHO = {"down": "host -> viewer", "up": "viewer -> host"}


def format_wire(r: SessionResult) -> str:
    """Under a ``wire:`` session's row: what the wire dropped, what TCP did
    about it, and what the host's flow control did (rate cuts, keyframes, its
    target rate each second)."""
    wire, tcp = r.extra.get("wire", {}), r.extra.get("tcp", {})
    lines = []
    for d in ("down", "up"):
        w = wire.get(d, {})
        lines.append(f"  {_WHO[d]}: {w.get('packets', 0)} packets, {w.get('lost', 0)} lost,"
                     f" {w.get('overflowed', 0)} over the queue")  # fmt: skip
    for side in ("host", "viewer"):
        t = tcp.get(side, {})
        lines.append(f"  {side} TCP ({t.get('congestion_control', '?')}):"
                     f" {t.get('RetransSegs', 0)} segments retransmitted"
                     f" ({t.get('TCPFastRetrans', 0)} fast, {t.get('TCPLossProbes', 0)} probes,"
                     f" {t.get('TCPTimeouts', 0)} timeouts)")  # fmt: skip
    per_second = [f"{row[1]:.0f}" for row in r.extra.get("timeline", [])[::4]]
    doubted = "; the viewer's spans doubted" if r.extra.get("spans_doubted") else ""
    lines.append(f"  flow: {r.extra.get('rate_cuts', 0)} rate cuts,"
                 f" {r.extra.get('keyframes', 0)} keyframes, {r.extra.get('socket_held', 0)}"
                 f" ticks held by the host's socket{doubted},"
                 f" {r.extra.get('untimed', 0)} receipts untimed by its retransmits;"
                 f" target kbit/s each second: {' '.join(per_second)}")  # fmt: skip
    return "\n".join(lines)


def format_ledger(results: Sequence[SessionResult]) -> str:
    """Per session, every byte of the steady second half by what it carries
    (the ``ledger`` extra, see :mod:`.ledger`), both directions: messages,
    bytes and kbit/s per row."""
    lines: list[str] = []
    for r in results:
        led = r.extra.get("ledger")
        if not led:
            continue
        secs = max(float(led["seconds"]), 1e-9)
        lines.append(f"{r.scenario} {r.link}: the second half ({secs:.1f} s),"
                     f" host -> viewer {led['down']['kbit_s']:.2f} kbit/s,"
                     f" viewer -> host {led['up']['kbit_s']:.2f} kbit/s")  # fmt: skip
        lines.append(f"  {'direction':<15} {'what':<18} {'count':>6} {'bytes':>9} {'kbit/s':>8}")
        for direction in ("down", "up"):
            for row, v in led[direction]["rows"].items():
                lines.append(f"  {_WHO[direction]:<15} {row:<18} {v['count']:>6} {v['bytes']:>9}"
                             f" {v['bytes'] * 8 / 1000 / secs:>8.2f}")  # fmt: skip
        shapes = [f"{k} {v['updates']} x {v['wire'] / v['updates']:.0f} B"
                  f" ({v['payload'] / v['updates']:.0f} B op payload)"
                  for k, v in led.get("updates", {}).items()]  # fmt: skip
        if shapes:
            lines.append("  updates, on the wire each: " + ", ".join(shapes))
        if "compact_kbit_s" in led["down"]:
            lines.append(f"  with every delta and receipt that may go compact as compact"
                         f" (linkbench.compact):"
                         f" host -> viewer {led['down']['compact_kbit_s']:.2f} kbit/s,"
                         f" viewer -> host {led['up']['compact_kbit_s']:.2f} kbit/s")  # fmt: skip
    return "\n".join(lines)


def run(*, links: Sequence[str], scenarios: Sequence[str] | None = None, seconds: float = 8.0,
        size: tuple[int, int] = (1920, 1080), json_path: Path | None = None,
        out: Callable[[str], None] = print,
        file: tuple[Literal["down", "up"], int] | None = None,
        steps: Sequence[LinkStep] = (),
        cross: tuple[float, float] | None = None) -> list[SessionResult]:  # fmt: skip
    """Every scenario over every link (:func:`parse_link_spec`); print the table
    (and write JSON). ``file``: a transfer beside the screen in each session
    (see :mod:`.session`); ``steps``: the link's rate changes, ``cross``: a
    competing upload, see :mod:`.steps`."""
    parsed = [parse_link_spec(spec) for spec in links]
    if file is not None and any(how != "proxy" for _, how in parsed):
        raise ValueError("a file beside the screen needs the shaping proxy, not tc: or wire:")
    if (steps or cross) and any(link.rate is None for link, _ in parsed):
        raise ValueError("steps and cross traffic need a link with a rate, not unlimited")
    if (steps or cross) and any(how == "wire" for _, how in parsed):
        raise ValueError("steps and cross traffic need the shaping proxy or tc:, not wire:")
    extra: dict[str, Any] = {} if file is None else {"file": file}
    if steps:
        extra["steps"] = list(steps)
    if cross:
        extra["cross"] = cross
    names = [check_workload(s) for s in scenarios] if scenarios else [
        *SCENARIOS, *corpus_workloads()]  # fmt: skip
    results: list[SessionResult] = []
    for name in names:
        for link, how in parsed:
            if how == "tc":
                from .netns import run_in_netns

                results.append(run_in_netns(name, link, seconds=seconds, size=size,
                                            steps=steps, cross=cross))  # fmt: skip
            elif how == "wire":
                from .netns import run_over_wire

                results.append(run_over_wire(name, link, seconds=seconds, size=size))
            else:
                results.append(measure(name, link, seconds=seconds, size=size, **extra))
            # The table is printed once: its header, then a row per session as it ends.
            lines = format_table(results[-1:]).splitlines()
            if len(results) == 1:
                for header in lines[:-1]:
                    out(header)
            out(lines[-1])
            moved = results[-1].extra.get("steps")
            if moved is not None:
                out("  " + format_steps(moved))
            upload = results[-1].extra.get("upload_kbit_s")
            if upload is not None:
                out(f"  beside it, someone else's upload: {upload:.0f} kbit/s over the session")
            if how == "wire":
                out(format_wire(results[-1]))
            sent = results[-1].extra.get("file")
            if sent is not None:
                out(f"  beside it, a file of {sent['bytes']} bytes {sent['way']}: "
                    f"{sent['outcome']} in {sent['file_s']:.1f} s")  # fmt: skip
    breakdown = format_ledger(results)
    if breakdown:
        out("")
        out(breakdown)
    if json_path is not None:
        report = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform(), "load": os.getloadavg()},
                  "sessions": [r.to_dict() | {"targets": [asdict(t) for t in targets(r)]}
                               for r in results]}  # fmt: skip
        json_path.write_text(json.dumps(report, indent=2))
    return results
