"""The session benchmark's workloads, links, targets and table.

``screencodec bench --link 4M,40ms`` and ``benchmarks/test_bench_session.py``
both come here: :func:`open_workload` turns a scenario name (a synthetic
scenario, or ``corpus:<name>`` for a recording in ``corpus/``) into a
:class:`FrameSequence`, :func:`measure` runs one session per workload and
link, :func:`targets` says which of the project's targets a result meets, and
:func:`format_table` prints them.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from ..capture.replay import FrameSequence, Recording, synthetic_sequence
from ..capture.synthetic import scenario_names
from .session import SessionResult, run_session
from .shaper import Link, parse_link

__all__ = [
    "LINKS",
    "SCENARIOS",
    "Clip",
    "Target",
    "corpus_dir",
    "corpus_workloads",
    "format_table",
    "kind",
    "measure",
    "open_workload",
    "parse_link_spec",
    "run",
    "targets",
]

#: The synthetic scenarios the session benchmark plays (idle has nothing to lag).
SCENARIOS = ["typing", "terminal", "browser", "drag", "video"]
#: name -> ``--link`` spec: a slow uplink, the home uplink, a good one, loopback.
LINKS = {"1M/100ms": "1M,100ms", "4M/40ms": "4M,40ms", "20M/20ms": "20M,20ms",
         "unlimited": "unlimited"}  # fmt: skip
CORPUS_PREFIX = "corpus:"


def corpus_dir() -> Path:
    """``$SCREENCODEC_CORPUS``, else ``corpus/`` in the working directory."""
    return Path(os.environ.get("SCREENCODEC_CORPUS", "corpus"))


def corpus_workloads(root: Path | None = None) -> list[str]:
    """``corpus:<name>`` for every recording (a folder with a manifest) in ``root``."""
    root = root or corpus_dir()
    if not root.is_dir():
        return []
    return [f"{CORPUS_PREFIX}{p.name}" for p in sorted(root.iterdir())
            if (p / "manifest.json").is_file()]  # fmt: skip


def parse_link_spec(text: str) -> tuple[Link, bool]:
    """``RATE,RTT`` (the shaping proxy) or ``tc:RATE,RTT`` (the kernel's qdiscs
    in a network namespace, see :mod:`.netns`): the link and whether it is the
    kernel's."""
    kernel = text.startswith("tc:")
    return parse_link(text[3:] if kernel else text), kernel


def check_workload(name: str) -> str:
    """``name`` if it is a synthetic scenario or ``corpus:<name>`` of a recording
    in :func:`corpus_dir`; ValueError otherwise."""
    if name.startswith(CORPUS_PREFIX):
        if name not in corpus_workloads():
            raise ValueError(f"no recording {name[len(CORPUS_PREFIX) :]!r} in {corpus_dir()}/")
        return name
    if name in scenario_names():
        return name
    raise ValueError(f"unknown scenario {name!r}: use one of {scenario_names()} or corpus:<name>")


class Clip:
    """The frames of ``frames`` shown in its first ``seconds`` (a FrameSequence view)."""

    def __init__(self, frames: FrameSequence, seconds: float) -> None:
        t0 = frames.times[0]
        n = sum(1 for t in frames.times if t - t0 <= seconds)
        self.frames = frames
        self.name = str(getattr(frames, "name", ""))
        self.width, self.height = frames.width, frames.height
        self.times: Sequence[float] = list(frames.times[: max(1, n)])

    def __len__(self) -> int:
        return len(self.times)

    def frame(self, index: int, /) -> Any:
        if not 0 <= index < len(self.times):
            raise IndexError(f"frame {index} outside 0..{len(self.times) - 1}")
        return self.frames.frame(index)


def open_workload(name: str, *, seconds: float = 8.0, size: tuple[int, int] = (1920, 1080),
                  fps: float = 30, seed: int = 0) -> FrameSequence:  # fmt: skip
    """A synthetic scenario (``size``, ``fps``, ``seconds``) or ``corpus:<name>``
    (its own size and timing, cut to ``seconds``)."""
    if name.startswith(CORPUS_PREFIX):
        rec = Recording.open(corpus_dir() / name[len(CORPUS_PREFIX) :])
        # cast: Recording declares ``times: list[float]``, the protocol a Sequence.
        return Clip(cast(FrameSequence, rec), seconds)
    w, h = size
    seq = synthetic_sequence(check_workload(name), w, h, fps=fps, seconds=seconds, seed=seed,
                             incremental=True)  # fmt: skip
    return cast(FrameSequence, seq)


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


def measure(workload: str, link: Link | str, *, seconds: float = 8.0,
            size: tuple[int, int] = (1920, 1080), **session: Any) -> SessionResult:  # fmt: skip
    """Open ``workload`` and run one session over ``link`` on a fresh event loop."""
    if isinstance(link, str):
        link = parse_link(link)
    frames = open_workload(workload, seconds=seconds, size=size)
    try:
        return asyncio.run(run_session(frames, link, name=workload, **session))
    finally:
        close = getattr(getattr(frames, "frames", frames), "close", None)
        if callable(close):
            close()


def run(*, links: Sequence[str], scenarios: Sequence[str] | None = None, seconds: float = 8.0,
        size: tuple[int, int] = (1920, 1080), json_path: Path | None = None,
        out: Callable[[str], None] = print) -> list[SessionResult]:  # fmt: skip
    """Every scenario over every link (:func:`parse_link_spec`); print the table
    (and write JSON)."""
    parsed = [parse_link_spec(spec) for spec in links]
    names = [check_workload(s) for s in scenarios] if scenarios else [
        *SCENARIOS, *corpus_workloads()]  # fmt: skip
    results: list[SessionResult] = []
    for name in names:
        for link, kernel in parsed:
            if kernel:
                from .netns import run_in_netns

                results.append(run_in_netns(name, link, seconds=seconds, size=size))
            else:
                results.append(measure(name, link, seconds=seconds, size=size))
            out(format_table(results[-1:]).splitlines()[-1])
    out("")
    out(format_table(results))
    if json_path is not None:
        report = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform(), "load": os.getloadavg()},
                  "sessions": [r.to_dict() | {"targets": [asdict(t) for t in targets(r)]}
                               for r in results]}  # fmt: skip
        json_path.write_text(json.dumps(report, indent=2))
    return results
