"""review45's leftover: a bug in one of the view's command handlers (a
TypeError in ``/key``'s, the one it found) ended the view's command loop
silently: the picture went on, and every line typed after it went nowhere.

Expected: the command's failure is said, in one line naming the command,
and the next line is carried out. The loop's own guard, with a handler made
to fail (the product's only known trigger is fixed: review45's /key test);
the real parser and the real ``/stop`` after it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from screencodec.cli import view_commands


class _Typing:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> bool:
        self.stopped += 1
        return True


class _Sending:
    def __init__(self) -> None:
        self.typing = _Typing()
        self.going = False
        self.viewer: Any = None

    def stop(self, arg: str) -> None:
        raise AssertionError(f"files stopped: {arg!r}")


def test_a_failing_command_is_said_and_the_next_one_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(*_: object) -> None:
        raise TypeError("ord() expected a character, but string of length 2 found")

    class _Screens:
        select = broken

    sending: Any = _Sending()

    async def main() -> None:
        # Found (before the guard): the TypeError left the loop's only caller.
        await view_commands._guarded("/monitor 2\x1b[31m", sending, _Screens())
        await view_commands._guarded("/stop", sending, _Screens())

    asyncio.run(main())
    out = capsys.readouterr().out
    assert out == (
        "(/monitor failed: TypeError: ord() expected a character, but string of length 2"
        " found; this is a bug in screencodec, please report it; the session goes on)\n"
    ), out
    assert sending.typing.stopped == 1  # the line after it was carried out
