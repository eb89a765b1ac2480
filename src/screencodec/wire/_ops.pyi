"""Typed surface of the compiled ``_ops`` module (what mypy sees)."""

from .messages import OpView

def parse_ops(
    view: memoryview,
    pos: int,
    count: int,
    width: int,
    height: int,
    keyframe: bool,
    coverage: int,
) -> tuple[list[OpView], int]:
    """Parse ``count`` ops of the update body ``view`` from ``pos``; return
    ``(ops, end)``. ``coverage``: how many times the frame's area all ops may
    cover together. Raises DecodeError as docs/protocol.md says."""
