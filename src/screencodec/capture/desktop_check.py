"""What the synthetic desktop accepts, checked without loading it: its
sizes, its scenarios' names and :func:`check_desktop`. Apart from the
``synthetic`` package (numpy, PIL, fonts and every scenario, 20 ms of CPU to
import) so that ``screencodec host`` checks its --size and --scenario before
its password without loading the desktop, which each viewer's session loads
when it makes one (time50a). The package's ``SyntheticDesktop.check``,
``MIN_SIZE`` and ``MAX_SIZE`` are these; ``SCENARIO_NAMES`` are its
``scenario_names()`` (a test holds them to the package's registry)."""

from __future__ import annotations

from collections.abc import Collection

from ..errors import FrameError

__all__ = ["MAX_SIZE", "MIN_SIZE", "SCENARIO_NAMES", "check_desktop"]

MIN_SIZE = (64, 64)
MAX_SIZE = (3840, 2160)

#: The scenarios' names, in the order of the package's ``SCENARIOS`` (the
#: order benchmarks report in).
SCENARIO_NAMES = ("typing", "terminal", "browser", "drag", "video", "idle")


def check_desktop(width: int, height: int, *, scenario: str = "typing", fps: float = 30,
                  names: Collection[str] = SCENARIO_NAMES) -> None:  # fmt: skip
    """Raise the :class:`FrameError` that making this desktop would, without
    making it (a desktop draws its windows and a photo when made: 0.08 s
    of CPU at 1920x1080, which ``screencodec host`` spent at each start
    only to learn that its --size and --scenario are ones it can make).
    ``names``: the scenarios there are (``SyntheticDesktop.check`` gives
    the package's registry, ``SCENARIOS``)."""
    if not (isinstance(width, int) and isinstance(height, int)):
        kinds = f"{type(width).__name__}, {type(height).__name__}"
        msg = f"width and height must be int, not {kinds}"
        raise FrameError(msg)
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        msg = (
            f"synthetic desktop size {width}x{height} is outside "
            f"{MIN_SIZE[0]}x{MIN_SIZE[1]} .. {MAX_SIZE[0]}x{MAX_SIZE[1]}"
        )
        raise FrameError(msg)
    if scenario not in names:
        msg = f"unknown scenario {scenario!r}; choose one of {sorted(names)}"
        raise FrameError(msg)
    if not fps > 0:
        msg = f"fps must be positive, not {fps!r}"
        raise FrameError(msg)
