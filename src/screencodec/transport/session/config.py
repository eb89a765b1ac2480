"""The host's tunables (one object, shared by every viewer's session)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from screencodec.transport.session.flow import FlowConfig

__all__ = ["HostConfig"]


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Tunables. Times in seconds."""

    consent_timeout: float = 30.0  #: no answer in this time = no
    window: int = 8  #: updates in flight per viewer at most
    min_interval: float = 1 / 60  #: fastest frame interval
    local_input_pause: float = 1.0  #: remote input ignored this long after local input
    stats_period: float = 1.0
    monitor: int = 1  #: the monitor a new viewer sees first
    max_duration: float | None = None  #: end every session after this long
    download_dir: Path | None = None  #: where accepted files go (None = refuse all)
    max_file: int = 1 << 30
    max_total: int = 4 << 30
    cursor_rate: float = 60.0  #: pointer polls per second per viewer (0 = no cursor channel)
    #: Congestion control; its ``window`` is replaced by :attr:`window`.
    flow: FlowConfig = field(default_factory=FlowConfig)
    #: Hold the encoder to the measured link rate: video regions and lossy
    #: photo areas under pressure, refined to exact when the link has room.
    #: Off: lossless everywhere, the frame rate alone adapts.
    adaptive: bool = True
    #: Above this measured rate (bits/s) the link counts as unlimited and
    #: nothing but real video is lossy.
    unlimited_rate: float = 100e6
    #: How long an agent whose link was lost may come back with its session's
    #: ticket without the local user being asked again (0: never; .resume).
    resume_window: float = 60.0

    def __post_init__(self) -> None:
        # Refused when made, not when an agent comes (walk39): consent_timeout
        # 0 answered every question no, max_duration 0 ended each session
        # before its user answered, window 0 failed every session's start.
        above_0 = {"consent_timeout": self.consent_timeout, "stats_period": self.stats_period}
        if self.max_duration is not None:
            above_0["max_duration"] = self.max_duration
        for name, value in above_0.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"HostConfig: {name} must be a number of seconds above 0,"
                                 f" not {value!r}")  # fmt: skip
        if self.window < 1:
            raise ValueError(f"HostConfig: window must be 1 or more, not {self.window!r}")
