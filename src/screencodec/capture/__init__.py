"""Frame sources: real screens (mss), the synthetic desktop, recorded clips
played at their own timing.

``open_source()`` picks one; nothing here touches a display at import time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_names
from ..errors import CaptureError

if TYPE_CHECKING:
    from .base import CursorState, FrameSource, SourceWrapper
    from .recording import Recording, RecordingWriter
    from .replay import FrameSequence, PacedSource, SyntheticSequence, synthetic_sequence
    from .screen import ScreenSource, list_monitors
    from .synthetic import SCENARIOS, LiveDesktop, Motion, SyntheticDesktop, scenario_names

#: Each source's names, imported from its module on first use (PEP 562), as the
#: top-level package does: what needs only ``capture.base`` (a recording's
#: player, the session layer's types) does not load mss, PIL and the synthetic
#: desktop with it.
_LAZY = {
    "CursorState": ".base",
    "FrameSource": ".base",
    "SourceWrapper": ".base",
    "Recording": ".recording",
    "RecordingWriter": ".recording",
    "FrameSequence": ".replay",
    "PacedSource": ".replay",
    "SyntheticSequence": ".replay",
    "synthetic_sequence": ".replay",
    "ScreenSource": ".screen",
    "list_monitors": ".screen",
    "SCENARIOS": ".synthetic",
    "LiveDesktop": ".synthetic",
    "Motion": ".synthetic",
    "SyntheticDesktop": ".synthetic",
    "scenario_names": ".synthetic",
}


if not TYPE_CHECKING:  # mypy reads the imports above (_lazy)
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

__all__ = [
    "SCENARIOS",
    "CursorState",
    "FrameSequence",
    "FrameSource",
    "LiveDesktop",
    "Motion",
    "PacedSource",
    "Recording",
    "RecordingWriter",
    "ScreenSource",
    "SourceWrapper",
    "SyntheticDesktop",
    "SyntheticSequence",
    "has_display",
    "list_monitors",
    "open_source",
    "scenario_names",
    "synthetic_sequence",
]

_SCREEN_KW = frozenset({"monitor", "region", "display"})


def has_display(display: str | None = None, /) -> bool:
    """Whether a screen can be captured: on X11, ``display`` (default ``$DISPLAY``)
    is set and mss can open it. Windows and macOS always have a screen."""
    if os.name == "posix" and not (display or os.environ.get("DISPLAY")):
        import sys

        if sys.platform != "darwin":
            return False
    from .screen import ScreenSource

    try:
        ScreenSource(0, display=display).close()
    except CaptureError:
        return False
    return True


def open_source(kind: str = "auto", /, *, live: bool = False, **kw: Any) -> FrameSource:
    """Open a frame source.

    ``kind`` is ``"screen"`` (:class:`ScreenSource`; keywords ``monitor``,
    ``region``, ``display``), ``"synthetic"`` (:class:`SyntheticDesktop`; keywords
    ``width``, ``height``, ``scenario``, ``seed``, ``fps``, ``junk_padding``) or
    ``"auto"``: the screen when a display is reachable, else the synthetic
    desktop (keywords of the other kind are then ignored). ``live=True``: a
    synthetic desktop is a :class:`LiveDesktop`, paced by the wall clock and
    hinting its damage as a screen (what a host shares); else it shows the
    next frame at each grab (benchmarks, codec tests).
    """
    from .screen import ScreenSource
    from .synthetic import LiveDesktop, SyntheticDesktop

    def synthetic(**synth_kw: Any) -> FrameSource:
        desk = SyntheticDesktop(**synth_kw)
        return LiveDesktop(desk) if live else desk

    if kind == "screen":
        return ScreenSource(**kw)
    if kind == "synthetic":
        return synthetic(**kw)
    if kind == "auto":
        screen_kw = {k: v for k, v in kw.items() if k in _SCREEN_KW}
        synth_kw = {k: v for k, v in kw.items() if k not in _SCREEN_KW}
        if has_display(screen_kw.get("display")):
            try:
                return ScreenSource(**screen_kw)
            except CaptureError:
                pass  # the display went away between the probe and now
        return synthetic(**synth_kw)
    msg = f"unknown source kind {kind!r}: use 'screen', 'synthetic' or 'auto'"
    raise ValueError(msg)
