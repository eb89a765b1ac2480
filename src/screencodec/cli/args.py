"""Argument types shared by the ``host``, ``view`` and ``relay`` commands."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from screencodec.transport.hostport import split_host_port

__all__ = ["address", "dial_address", "pixels", "port", "seconds", "size", "unusable_folder"]


def seconds(text: str) -> float:
    """A time in seconds above 0, finite, for argparse (walk39: ``host
    --consent-timeout -5`` answered every question no at once, ``--max-duration
    0`` ended each session as it began, ``view --duration -1`` connected)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return value


def port(text: str) -> int:
    """A port to listen on for argparse: 0 (any free one) to 65535. A larger
    one raised OverflowError out of the socket's bind, a traceback (walk39)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"the port {value} is not 0-65535")
    return value


def address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``:PORT`` means 127.0.0.1) to dial, for argparse: the
    port 1-65535 (walk39: 99999 raised OverflowError out of connect)."""
    split = split_host_port(text)
    if isinstance(split, str):
        raise argparse.ArgumentTypeError(split)
    host, port = split
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is not HOST:PORT with a port 1-65535")
    return host or "127.0.0.1", port


def dial_address(text: str) -> tuple[str, int]:
    """:func:`address`, for the host or relay an agent or a host dials
    (``view HOST:PORT``, ``--relay``): a web address is refused in words
    that give the address to type (walk40: ``view http://h:7141`` looked up
    the name ``http://h`` and said "cannot reach ...: name or service not
    known", status 1, as if the host were down). The relay's own
    ``--advertise`` words it its own way (cli/relay.py)."""
    _, web, rest = text.partition("://")
    if web:
        given = rest.split("/", 1)[0]
        like = given if not isinstance(split_host_port(given), str) else "HOST:PORT"
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is a web address: give the host and"
                                         f" port alone, like {like[:80]}")  # fmt: skip
    return address(text)


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
