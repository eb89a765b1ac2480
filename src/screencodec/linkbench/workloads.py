"""The session benchmark's workloads: synthetic scenarios and corpus clips
as frame sequences, the links it measures on, and one measured session per
workload and link (:func:`measure`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, cast

from ..capture.replay import FrameSequence, Recording, synthetic_sequence
from ..capture.synthetic import scenario_names
from .session import SessionResult, run_session
from .shaper import Link, parse_link

__all__ = [
    "CORPUS_PREFIX",
    "LINKS",
    "SCENARIOS",
    "Clip",
    "check_workload",
    "corpus_dir",
    "corpus_workloads",
    "measure",
    "open_workload",
    "parse_link_spec",
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


def parse_link_spec(text: str) -> tuple[Link, Literal["proxy", "tc", "wire"]]:
    """``RATE,RTT`` (the shaping proxy), ``tc:RATE,RTT`` (the kernel's qdiscs
    in a network namespace, see :mod:`.netns`) or ``wire:RATE,RTT`` (two
    namespaces joined by a lossy wire, see :mod:`.tunwire`); each may end in
    ``,loss=P%`` and ``,jitter=T`` (not the proxy's): the link and its kind."""
    for kind in ("tc", "wire"):
        if text.startswith(kind + ":"):
            return parse_link(text[len(kind) + 1 :]), kind
    link = parse_link(text)
    if link.loss or link.jitter or link.tcp:
        raise ValueError(f"bad link {text!r}: the shaping proxy relays bytes and loses none; "
                         f"loss and jitter need wire:{text} (or tc: with sch_netem)")  # fmt: skip
    return link, "proxy"


def check_workload(name: str) -> str:
    """``name`` if it is a synthetic scenario or ``corpus:<name>`` of a recording
    in :func:`corpus_dir`; ValueError otherwise."""
    if name.startswith(CORPUS_PREFIX):
        if name not in corpus_workloads():
            raise ValueError(
                f"no recording {name[len(CORPUS_PREFIX) :]!r} in {corpus_dir()}/: "
                "record the corpus with `make corpus` (docs/corpus.md)"
            )
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
