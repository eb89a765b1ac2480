"""Argument types shared by the ``host``, ``view`` and ``relay`` commands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["address", "pixels", "size", "unusable_folder"]


def address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` means 127.0.0.1) for argparse."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


def size(text: str) -> tuple[int, int]:
    """``WxH`` for argparse."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, not {text!r}") from None
    return w, h


def pixels(text: str) -> int:
    """A number of pixels (``view --max-pixels``) for argparse: a positive
    whole number, digits with ``_`` or ``,`` between groups allowed
    (``48_000_000``, ``48,000,000``)."""
    digits = text.strip().replace("_", "").replace(",", "")
    if not (digits.isascii() and digits.isdigit()) or int(digits) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a number of pixels (a whole number above 0, like 48000000), not {text!r}")
    return int(digits)


def unusable_folder(folder: Path) -> str | None:
    """Why files cannot be written into ``folder`` ("no such directory",
    ...), or None when they can: checked when a command starts, before a
    file or a picture depends on it."""
    if not folder.exists():
        return "no such directory"
    if not folder.is_dir():
        return "not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable"
    return None
