"""Input injection backends for granted remote control."""

from __future__ import annotations

from screencodec.transport.input.base import InputInjector
from screencodec.transport.input.recording import RecordingInjector

__all__ = ["InputInjector", "RecordingInjector"]
# XTestInjector lives in .xtest and is imported on demand: it needs python-xlib
# and a display, which a headless host or a test may not have.
