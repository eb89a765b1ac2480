"""The synthetic desktop: realistic, deterministic screen content with no display.

It is both the fallback frame source and the codec's benchmark corpus, so each
scenario imitates one kind of real desktop activity (see :data:`SCENARIOS`).
"""

from __future__ import annotations

from ._live import LiveDesktop
from ._scenario import Motion, Scenario
from ._source import MAX_SIZE, MIN_SIZE, SyntheticDesktop
from .browser import BrowserScenario
from .drag import DragScenario
from .editor import TypingScenario
from .idle import IdleScenario
from .terminal import TerminalScenario
from .video import VideoScenario

__all__ = [
    "MAX_SIZE",
    "MIN_SIZE",
    "SCENARIOS",
    "LiveDesktop",
    "Motion",
    "Scenario",
    "SyntheticDesktop",
    "scenario_names",
]

#: Scenario name -> class. Insertion order is the order benchmarks report in.
SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (
        TypingScenario,
        TerminalScenario,
        BrowserScenario,
        DragScenario,
        VideoScenario,
        IdleScenario,
    )
}


def scenario_names() -> list[str]:
    """The names :class:`SyntheticDesktop` accepts for ``scenario=``."""
    return list(SCENARIOS)
