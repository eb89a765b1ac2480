"""The input injection contract: where the host's granted remote input goes.

Coordinates handed to an injector are absolute screen pixels (the host has
already added the watched monitor's offset). Implementations are called from
the event loop and must not block for long.
"""

from __future__ import annotations

import abc

__all__ = ["LOCAL_DEVICES", "InputInjector"]

#: What the local user's input came from, as ``Host.local_input_activity``
#: and a recording's audit log name it: "input" when the caller cannot tell.
LOCAL_DEVICES = frozenset({"input", "pointer", "keyboard"})


class InputInjector(abc.ABC):
    @abc.abstractmethod
    def pointer_move(self, x: int, y: int) -> None: ...

    @abc.abstractmethod
    def button(self, button: int, down: bool) -> None: ...

    @abc.abstractmethod
    def wheel(self, dx: int, dy: int) -> None: ...

    @abc.abstractmethod
    def key(self, keysym: int, down: bool, text: str = "") -> None: ...

    def release_all(self) -> None:  # noqa: B027 - optional: nothing held by default
        """Let go of every button and key still held (on revoke or disconnect),
        so a lost 'up' can never leave the local user with a stuck key; an
        injector that queues input drops what of it is still queued (the
        agent lost control: XTestInjector, review41a)."""

    def drop_queued(self) -> None:  # noqa: B027 - optional: nothing queued by default
        """Drop the input still queued, but for its releases, and let go of
        nothing: one agent of several lost control (review44: the host
        cannot tell whose queued input is whose, and what the agent sent
        before must not reach the desktop after; the other agent's held
        keys stay down, and its releases still come)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Idempotent."""
