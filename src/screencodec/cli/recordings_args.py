"""The argument types of ``screencodec recordings``: numbers, sizes, days and
times checked as argparse reads them, so that a bad one is the command's
usage error (exit 2) before any recording is opened."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["_FAR", "_days", "_finite", "_positive", "_seconds", "_size", "_utc"]


def _finite(text: str, what: str) -> float:
    """``text`` as a finite number (argparse: exit 2 otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {what}: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a {what}: {text}")
    return value


def _days(text: str) -> float:
    """``--days``: a retention of more than 0 days (argparse: exit 2 otherwise)."""
    days = _finite(text, "number of days")
    if days <= 0:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 days, not {text} (it would delete every recording)")
    return days


def _size(text: str) -> int:
    """``--max-size``: more than 0 bytes, e.g. ``50G`` (argparse: exit 2 otherwise)."""
    from screencodec.recording import parse_size

    try:
        size = parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if size <= 0:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 bytes, not {text} (it would delete every recording)")
    return size


#: The latest --at, seconds: 31 years.
_FAR = 1e9


def _seconds(text: str) -> float:
    """``--at``: a finite time (argparse: exit 2 otherwise). Before the start
    or past the end is fine (no picture yet / the last picture); NaN and inf
    are no time at all (they raised ValueError and OverflowError)."""
    t = _finite(text, "time")
    if abs(t) > _FAR:  # its PNG's name would be over 255 bytes
        raise argparse.ArgumentTypeError(f"{text} s: no recording is that long")
    return t


def _positive(text: str) -> float:
    """``--fps``, ``--png-every``'s SECONDS: a finite number above 0 (0 and
    inf raised ZeroDivisionError and OverflowError)."""
    value = _finite(text, "number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text}")
    return value


def _utc(text: str) -> float:
    """``--as-of``: an ISO 8601 time with its zone (argparse: exit 2 otherwise)."""
    from screencodec.recording.sign import parse_utc

    when = parse_utc(text)
    if when is None:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time with its zone (e.g. 2026-12-04T21:00:00Z): {text!r}")
    return when
