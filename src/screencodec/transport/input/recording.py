"""An injector that records what it is asked to do: for tests and dry runs."""

from __future__ import annotations

from screencodec.transport.input.base import InputInjector

__all__ = ["RecordingInjector"]


class RecordingInjector(InputInjector):
    """``events`` holds tuples like ``("move", x, y)``, ``("button", 1, True)``,
    ``("wheel", 0, 1)``, ``("key", keysym, down, text)``, ``("release_all",)``."""

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def pointer_move(self, x: int, y: int) -> None:
        self.events.append(("move", x, y))

    def button(self, button: int, down: bool) -> None:
        self.events.append(("button", button, down))

    def wheel(self, dx: int, dy: int) -> None:
        self.events.append(("wheel", dx, dy))

    def key(self, keysym: int, down: bool, text: str = "") -> None:
        self.events.append(("key", keysym, down, text))

    def release_all(self) -> None:
        self.events.append(("release_all",))
