"""files37: the receiver's stop (rstop36, ``Viewer.stop_receiving``) at the
two moments it found nothing to stop, and the file was saved all the same:

- after the local user's yes and before the file is taken (the look at the
  download folder on the disk thread, held here): the stop returned False
  and the file came. Now it is stopped as its yes goes: to a host that takes
  file results, the FileAccept is followed at once by the reason code
  STOPPED_THERE and a FileResult "not saved" (the host says its peer's user
  stopped receiving it); to one of the version before file results, a plain
  no (nothing of it goes).
- after all of it came, while it is saved (the save on the disk thread,
  held here before it begins, and after it named the file): the stop
  returned False and the file stayed. Now the file is not named, or removed
  once named, and only then are the local user and the host told.

Real Host and Viewer over sealed channels on loopback; what is held is the
viewer's disk thread, with threading events (no sleeps)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from screencodec.transport.session import link as link_module
from screencodec.transport.session import viewer as viewer_module
from screencodec.transport.session.events import FileReceived, FileRefused, FileSent
from screencodec.transport.session.files.incoming import Incoming
from screencodec.transport.session.files.wire import STOPPED_HERE, STOPPED_THERE_WHY
from screencodec.transport.session.sidechannels import FileReceiver

from .helpers import until
from .secure_fixtures import run
from .test_filecut35_unread_stopped import _dirs
from .test_fileresult_session import _alive, _pair
from .test_rstop36_receiver_stop import _deaf_to, _first

MiB = 1 << 20


class _Held:
    """A call on the viewer's disk thread held until :meth:`release`d:
    ``entered`` is set when it is reached."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._go = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        if not self._go.wait(20):
            raise AssertionError("never released")

    def release(self) -> None:
        self._go.set()

    async def reached(self) -> None:
        await until(self.entered.is_set, 10, "the held call")


def _big(tmp_path: Path, size: int = 4 * MiB) -> Path:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(size))
    return big


async def _stopped_while(held: _Held, tmp_path: Path, big: Path
                         ) -> tuple[FileSent, bool, FileRefused, list[str]]:  # fmt: skip
    """The host sends *big*; once the viewer's disk thread is at the held
    call, the viewer's program stops receiving it, then the call goes on.
    The host's outcome, whether the stop found the file, what the viewer's
    user was told, and what is in the viewer's folder once the session
    went on."""
    host_dir, viewer_dir = _dirs(tmp_path)
    async with _pair(host_dir, viewer_dir) as (host, viewer):
        told = viewer.events()
        sending = asyncio.ensure_future(host.send(big, host.viewers[0]))
        await held.reached()
        found = await viewer.stop_receiving(1)
        held.release()
        outcome = await asyncio.wait_for(sending, 20)
        refused = await asyncio.wait_for(_first(told, (FileRefused, FileReceived)), 10)
        assert isinstance(refused, FileRefused), (found, outcome, refused)
        await _alive(host, viewer)
        return outcome, found, refused, sorted(p.name for p in viewer_dir.iterdir())


def _hold_the_folder_look(monkeypatch: pytest.MonkeyPatch, call: str = "_usable") -> _Held:
    """The look at the download folder after the yes (``_usable``), or its
    tidy at the receiver's first yes (``_tidy``, once the file is counted
    as being received), waits for the test."""
    held = _Held()
    real = getattr(FileReceiver, call)

    def looked(self: FileReceiver) -> None:
        held.hold()
        real(self)

    monkeypatch.setattr(FileReceiver, call, looked)
    return held


@pytest.mark.parametrize("call", ["_usable", "_tidy"])
def test_a_stop_between_the_yes_and_the_file_taken_stops_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str) -> None:
    """Before: during the look, stop_receiving returned False and big.bin
    was saved; during the tidy, the stop found the file and sent the host
    its FileResult ahead of the FileAccept."""
    held = _hold_the_folder_look(monkeypatch, call)
    outcome, found, told, left = run(_stopped_while(held, tmp_path, _big(tmp_path)),
                                     timeout=60)  # fmt: skip
    assert found is True
    assert (outcome.outcome, outcome.why) == ("failed", STOPPED_THERE_WHY)
    assert (told.name, told.why, told.received) == ("big.bin", STOPPED_HERE, 0)
    assert left == []  # no big.bin, no .big.bin.part-XXXXXXXX


def test_a_host_before_file_results_is_told_no(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither side reads the other's announcement: the viewer cannot say
    why, so it answers no, and none of the file goes."""
    for module in (link_module, viewer_module):
        _deaf_to(monkeypatch, module, b"\x01")
    held = _hold_the_folder_look(monkeypatch)
    outcome, found, told, left = run(_stopped_while(held, tmp_path, _big(tmp_path)),
                                     timeout=60)  # fmt: skip
    assert found is True
    assert outcome.outcome == "declined"
    assert (told.why, told.received) == (STOPPED_HERE, 0)
    assert left == []


def _hold_the_save(monkeypatch: pytest.MonkeyPatch, after_naming: bool) -> _Held:
    """The save of a whole file waits for the test, before it begins or
    once it named the file."""
    held = _Held()
    real: Callable[[Incoming], Path] = Incoming.save

    def save(self: Incoming) -> Path:
        if not after_naming:
            held.hold()
            return real(self)
        path = real(self)
        held.hold()
        return path

    monkeypatch.setattr(Incoming, "save", save)
    return held


@pytest.mark.parametrize("after_naming", [False, True], ids=["before-named", "named"])
def test_a_stop_while_a_whole_file_is_saved_removes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after_naming: bool) -> None:
    """Before: stop_receiving returned False, the host said "delivered" and
    big.bin stayed in the folder."""
    held = _hold_the_save(monkeypatch, after_naming)
    big = _big(tmp_path, MiB)
    outcome, found, told, left = run(_stopped_while(held, tmp_path, big), timeout=60)
    assert found is True
    assert (outcome.outcome, outcome.why) == ("failed", STOPPED_THERE_WHY)
    assert (told.name, told.why, told.received, told.size) == ("big.bin", STOPPED_HERE, MiB, MiB)
    assert left == []


def test_the_local_user_is_told_only_once_the_named_file_is_gone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop came after the save named big.bin: its words ("nothing of
    it was kept") are told once the disk thread removed it, not before."""
    held = _hold_the_save(monkeypatch, after_naming=True)
    big = _big(tmp_path, MiB)
    host_dir, viewer_dir = _dirs(tmp_path)
    seen: list[list[str]] = []

    async def main() -> None:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            real: Any = viewer.files._on_event

            def on_event(ev: Any) -> None:
                if isinstance(ev, FileRefused):
                    seen.append(sorted(p.name for p in viewer_dir.iterdir()))
                real(ev)

            viewer.files._on_event = on_event
            sending = asyncio.ensure_future(host.send(big, host.viewers[0]))
            await held.reached()
            assert (viewer_dir / "big.bin").exists()  # named before the stop
            assert await viewer.stop_receiving(1) is True
            assert await viewer.stop_receiving(1) is False  # once
            held.release()
            await asyncio.wait_for(sending, 20)

    run(main(), timeout=60)
    assert seen == [[]]
