"""review37: the receiver's stop of a whole file while it is saved
(files37), then the session ends before the save returns (the viewer's user
stops it and leaves: /end, Ctrl-C). The save had named the file before it
saw the stop, so the file is removed after it, on the disk thread.

Found on main: the session's end (``Viewer.run``'s settle) waited for the
save, not for that removal, which came after it (on a disk thread made anew,
the session's one being shut): ``run`` returned and SessionEnded was told
with big.bin still under its name, and the local user's "you stopped
receiving it" came after SessionEnded (to an event hub already closed, so
never), or not at all if the program exited.

Expected: when the session is told ended, the file is gone and its user was
told it was stopped, before SessionEnded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from screencodec.transport.session.events import FileRefused, SessionEnded
from screencodec.transport.session.files.wire import STOPPED_HERE

from .secure_fixtures import run
from .test_filecut35_unread_stopped import _dirs
from .test_fileresult_session import _pair
from .test_files37_stop_at_the_edges import MiB, _big, _hold_the_save


@pytest.mark.parametrize("after_naming", [False, True], ids=["before-named", "named"])
def test_a_file_stopped_as_it_is_saved_is_gone_when_the_session_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after_naming: bool) -> None:
    held = _hold_the_save(monkeypatch, after_naming)
    big = _big(tmp_path, MiB)
    host_dir, viewer_dir = _dirs(tmp_path)
    told: list[tuple[str, Any]] = []  # (event, the folder then)

    async def main() -> None:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            def recording(real: Any) -> Any:
                def emit(ev: Any) -> None:
                    if isinstance(ev, (FileRefused, SessionEnded)):
                        told.append((type(ev).__name__,
                                     sorted(p.name for p in viewer_dir.iterdir()),
                                     getattr(ev, "why", None)))  # fmt: skip
                    real(ev)
                return emit

            viewer.events_hub.emit = recording(viewer.events_hub.emit)  # type: ignore[method-assign]
            viewer.files._on_event = recording(viewer.files._on_event)
            sending = asyncio.ensure_future(host.send(big, host.viewers[0]))
            await held.reached()
            assert await viewer.stop_receiving(1) is True
            await viewer.bye("leaving")  # the session ends as the save is held
            held.release()
            await asyncio.wait_for(sending, 20)
        # (_pair awaited the viewer's run: SessionEnded was its last word)

    run(main(), timeout=60)
    ended = [i for i, (name, *_) in enumerate(told) if name == "SessionEnded"]
    assert ended, told
    assert told[ended[0]][1] == [], told  # nothing left when it is told ended
    before = [(name, why) for name, _, why in told[:ended[0]]]
    assert before == [("FileRefused", STOPPED_HERE)], told
