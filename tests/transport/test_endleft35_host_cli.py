"""endleft35: what ``screencodec host`` prints for ``/end`` when a
session's end comes late or cuts a file short.

* ``/end`` gives up waiting after ``CLEANUP_WAIT`` (a disk or encoder
  that stopped answering): the session that ends later got no line of its
  own (found: only the banner coming down when it did end). It gets
  "session with NAME ended: you ended it" when it ends.
* A file the agent was sending, cut by ``/end``: its line ("not received
  from NAME: ... you ended the session ...") came before /end's own line
  (found: the file's line first, then /end's). Now after it.

The first: the CLI's own _Commands and _show, a real Host on a loopback
listener and a real Viewer (test_endleft_host_cli_limit.py), CLEANUP_WAIT
0.5 s, the session's cleanup held in its encoder shutdown
(test_review34_races.py). The second: the real ``host`` and ``view``
processes, the file mid-way through a proxy that holds the rest
(test_words32_host_ends_transfer.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import threading
from pathlib import Path

import pytest

from screencodec.cli.host import STOPPED, _Commands, _show
from screencodec.transport import TerminalQuestions
from screencodec.transport.session import host_ending

from .helpers import run, until
from .test_chatack_session import _link
from .test_resume import _Setup
from .test_review34_races import _slow_shutdown
from .test_words32_host_ends_transfer import _until, file_mid_way


def test_a_session_ending_after_end_gave_up_waiting_gets_its_line(
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(host_ending, "CLEANUP_WAIT", 0.5)  # read by Host.disconnect there

    async def main() -> str:
        async with _Setup() as s:
            out = io.StringIO()
            ui = TerminalQuestions(io.StringIO(), out)
            commands = _Commands(ui, asyncio.Event(), once=False, takes_files=False)
            commands.host = s.host
            shown = asyncio.ensure_future(_show(s.host, ui, commands))
            hold, entered = threading.Event(), threading.Event()
            try:
                viewer, task = await s.join(who="Carol")
                await until(lambda: viewer.decoded >= 1 and "SHARED WITH" in out.getvalue(),
                            10, "shared")  # fmt: skip
                _slow_shutdown(_link(s), hold, entered)
                try:
                    await asyncio.wait_for(commands._end(), 5)  # /end: gives up after 0.5 s
                    assert entered.is_set()
                    assert "you ended the session with " in out.getvalue()
                finally:
                    hold.set()  # the session's cleanup goes on, and it ends
                await asyncio.wait_for(task, 10)
                await until(lambda: not s.host._runtime.serving, 10, "the session's end")
                await until(lambda: STOPPED in out.getvalue(), 3, "the banner down")
            finally:
                hold.set()
                shown.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shown
            return out.getvalue()

    said = run(main(), 30)
    after = said.split("you ended the session with", 1)[1]
    # Found: no line after /end's (and the banner never came down).
    assert re.search(r"\nsession with [^\n]+ ended: you ended it\n", after), said


def test_a_file_cut_by_end_is_told_after_ends_own_line(tmp_path: Path) -> None:
    with file_mid_way(tmp_path) as (host, out, _proxy, _view, _dl):
        assert host.stdin is not None
        mark = len(out.text)
        host.stdin.write("/end\n")
        host.stdin.flush()
        _until(lambda: "nothing of it was kept" in out.text[mark:]
               and "you ended the session with" in out.text[mark:], "both lines")  # fmt: skip
        said = out.text[mark:]
    cut = said.index("not received from 'support'")
    # Found: the file's line first, then /end's.
    assert said.index("you ended the session with") < cut, said
    assert re.search(r"not received from 'support' \(\S+\): 'large\.bin' \([\d.]+ kB of"
                     r" 8\.0 MB, you ended the session\); nothing of it was kept\n", said), said
