"""Extension channels: named channels an application adds beside the screen
(:class:`ExtensionRegistry`). The package's own channels (file results,
resume tickets, the kept picture) are named ``screencodec.*`` and reserved
(:func:`application_channel`)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

__all__ = ["RESERVED_PREFIX", "ExtensionHandler", "ExtensionRegistry", "application_channel"]

#: Extension channels named so are this package's; applications may not register them.
RESERVED_PREFIX = "screencodec."
#: ``handler(peer, payload)`` -> optional reply payload sent back on the same channel.
ExtensionHandler = Callable[[str, bytes], Awaitable[bytes | None]]
_EXT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def application_channel(name: str) -> str:
    """``name`` if an application may register it and send on it; else
    :class:`ValueError`. The package's own channels (file results, resume
    tickets, the kept picture) are reserved both ways: a ticket sent by an
    application would be taken for the host's."""
    if not _EXT_NAME.match(name):
        raise ValueError(f"bad extension channel name {name!r}")
    if name.startswith(RESERVED_PREFIX):
        raise ValueError(f"extension channel {name!r} is reserved")
    return name


class ExtensionRegistry:
    """Named channels an application adds. Unknown names from a peer are
    dropped and counted (``unknown``): an older host must keep serving a newer
    viewer that speaks one more extension."""

    def __init__(self) -> None:
        self._handlers: dict[str, ExtensionHandler] = {}
        self.unknown = 0

    def register(self, name: str, handler: ExtensionHandler) -> None:
        application_channel(name)
        if name in self._handlers:
            raise ValueError(f"extension channel {name!r} is already registered")
        self._handlers[name] = handler

    def get(self, name: str) -> ExtensionHandler | None:
        handler = self._handlers.get(name)
        if handler is None:
            self.unknown += 1
        return handler
