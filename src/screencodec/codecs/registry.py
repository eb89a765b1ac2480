"""A small, explicit registry of codecs and their capability specs.

Nothing registers itself at import time: ``default_registry()`` builds the
standard set on first use, and callers may build their own registry with more
(or fewer) codecs. A codec whose library is missing stays listed, marked
unavailable, so a caller can say why it cannot be used.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import CodecUnavailableError
from ..wire import Op
from .base import CodecSpec, OpDecoder

__all__ = ["CodecRegistry", "default_registry"]


@dataclass(frozen=True, slots=True)
class _Entry:
    """A registered codec: its spec and how to make its decoder."""

    spec: CodecSpec
    decoder: Callable[[], Any] | None


class CodecRegistry:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def register(
        self,
        spec: CodecSpec,
        /,
        *,
        decoder: Callable[[], OpDecoder] | Callable[[], Any] | None = None,
    ) -> None:
        """Add a codec. Its name and (for decoders) its ops must not be taken."""
        if spec.name in self._entries:
            raise ValueError(f"codec {spec.name!r} is already registered")
        if decoder is not None:
            for e in self._entries.values():
                if e.decoder is not None and spec.ops & e.spec.ops:
                    taken = sorted(op.name for op in spec.ops & e.spec.ops)
                    raise ValueError(f"ops {taken} are already decoded by {e.spec.name!r}")
        self._entries[spec.name] = _Entry(spec, decoder)

    def specs(self) -> list[CodecSpec]:
        return [e.spec for e in self._entries.values()]

    def spec(self, name: str) -> CodecSpec:
        return self._entry(name).spec

    def is_available(self, name: str) -> bool:
        """Whether every library the codec needs can be imported."""
        return all(importlib.util.find_spec(m) is not None for m in self._entry(name).spec.requires)

    def create_decoders(self) -> dict[Op, Any]:
        """One decoder per available codec, indexed by the ops it decodes."""
        table: dict[Op, Any] = {}
        for e in self._entries.values():
            if e.decoder is None or not self.is_available(e.spec.name):
                continue
            dec = e.decoder()
            table.update(dict.fromkeys(e.spec.ops, dec))
        return table

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise CodecUnavailableError(f"no codec named {name!r}") from None


@cache
def default_registry() -> CodecRegistry:
    """The standard codecs: lossless rects, COPY, the history stream and
    (with PyAV) VIDEO."""
    from .copy import COPY_SPEC, CopyDecoder
    from .history import HISTORY_SPEC, HistoryDecoder
    from .lossless import LOSSLESS_SPEC, LosslessDecoder

    reg = CodecRegistry()
    reg.register(LOSSLESS_SPEC, decoder=LosslessDecoder)
    reg.register(COPY_SPEC, decoder=CopyDecoder)
    reg.register(HISTORY_SPEC, decoder=HistoryDecoder)
    # VIDEO needs PyAV (the optional ``video`` extra); without it a VIDEO op
    # is refused like any unknown op.
    if importlib.util.find_spec("av") is not None:
        from ..video.codec import VIDEO_SPEC, VideoDecoder

        reg.register(VIDEO_SPEC, decoder=VideoDecoder)
    return reg
