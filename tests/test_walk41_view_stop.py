"""walk41: the agent stops a file they are sending, in ``screencodec view``.

Found: the terminal view had no ``/stop`` (``(unknown command /stop: type
/help for the list)``): a file sent by mistake, or a large one over a slow
link, went on until all of it had gone or the agent left the session. The
host's ``/stop`` did it for the host's own files (cancel36). Now the view's
``/stop [NAME]`` does the same for the agent's: the offer's send is
cancelled and withdrawn at the host (files36's STOPPED), whose user's
question closes, or whose half file is removed; each side says so.

The real host and view on pseudo-terminals over loopback. For the stop
mid-file the host's program is stopped (SIGSTOP: a customer's computer that
takes a while) once it has begun to write the file, so that the rest waits
in the link, and let go after the agent's ``/stop``."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from transport.test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["host_and_view"]  # the fixture

BIG = 500_000_000  # sparse: read at once, far more than the link holds


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


def _big_file_coming(tmp_path: Path, host_and_view: tuple[list, list[PtyView]]
                     ) -> tuple[Any, PtyView, Path, int, int]:  # fmt: skip
    """A host taking files into ``tmp_path/in`` and its view, which sends a
    500 MB file the host's user said yes to; returned once the host has
    begun writing it (its .part file is there), with the view's and the
    host's text marks from before the /send."""
    dl = tmp_path / "in"
    dl.mkdir()
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(BIG)
    host, view = _join(*host_and_view, "--download-dir", str(dl))
    mark, host_mark = len(view.text), len(host.text)
    view.type(f"/send {big}")
    host.wait_for(r"Question 2: FILE .*?\[y/N\] ", host_mark)
    host.type("y")
    deadline = time.monotonic() + 30
    while not _parts(dl):
        assert time.monotonic() < deadline, host.text[host_mark:]
        time.sleep(0.005)
    return host, view, dl, mark, host_mark


def test_stop_before_the_answer_withdraws_the_question(
        tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    dl = tmp_path / "in"
    dl.mkdir()
    (tmp_path / "notes.txt").write_text("notes\n")
    host, view = _join(*host_and_view, "--download-dir", str(dl))
    view.type("/help")
    view.wait_for(r"/stop \[NAME\] +stop the files you are sending \(/send\), or only those"
                  r" named NAME; the host keeps none that had not all gone; /stop alone also"
                  r" stops a /type\n")  # fmt: skip
    mark = len(view.text)
    view.type("/stop")
    view.wait_for(r"\(no file is being sent: nothing to stop\)\n", mark)
    view.type(f"/send {tmp_path / 'notes.txt'}")
    host.wait_for(r"Question 2: FILE .*?\[y/N\] ")
    view.type("/stop other.txt")
    view.wait_for(r"\(no file named 'other\.txt' is being sent: nothing stopped; being sent:"
                  r" 'notes\.txt'\)\n", mark)  # fmt: skip
    view.type("/stop notes.txt")
    view.wait_for(r"you withdrew notes\.txt before the host's user answered; none of it"
                  r" went\n", mark)  # fmt: skip
    host.wait_for(r"Question 2 closed")
    assert list(dl.iterdir()) == []


def test_stop_mid_file_removes_what_came_at_the_host(
        tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    host, view, dl, mark, host_mark = _big_file_coming(tmp_path, host_and_view)
    host.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.5)  # the link fills; the view waits on it
        view.type("/stop")
        said = view.wait_for(r"you stopped sending big\.bin to the host \(([\d.]+) ([kM]?B) of"
                             r" 500 MB had gone\); the host keeps nothing of it\n", mark)
        assert said.group(1, 2) != ("500", "MB"), said.group(0)  # not all of it
    finally:
        host.proc.send_signal(signal.SIGCONT)
    host.wait_for(r"'support' \(127\.0\.0\.1:\d+\) stopped sending the file 'big\.bin' \([\d.]+"
                  r" [kM]?B of 500 MB had come\); nothing of it was kept\n", host_mark)
    assert "delivered" not in view.text[mark:]
    deadline = time.monotonic() + 10
    while list(dl.iterdir()):
        assert time.monotonic() < deadline, list(dl.iterdir())
        time.sleep(0.05)


def test_the_hosts_stop_of_another_name_stops_nothing(
        tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    """Found beside it: the host's ``/stop NAME`` matched every file
    (``wanted in (name, Path(wanted).name)`` holds for any NAME without a
    slash): ``/stop other.bin`` stopped big.bin, where docs/cli.md promises
    ``(no file named 'other.bin' is being sent or received: nothing
    stopped; under way: 'big.bin')``. The agent's view is held (SIGSTOP)
    mid-file, so that the host is receiving it meanwhile."""
    host, view, _, _, _ = _big_file_coming(tmp_path, host_and_view)
    view.proc.send_signal(signal.SIGSTOP)
    try:
        mark = len(host.text)
        host.type("/stop other.bin")
        host.wait_for(r"\(no file named 'other\.bin' is being sent or received: nothing stopped;"
                      r" under way: 'big\.bin'\)\n", mark)  # fmt: skip
        host.type("/stop big.bin")
        host.wait_for(r"you stopped receiving 'big\.bin' from 'support' \(127\.0\.0\.1:\d+\)"
                      r" \([\d.]+ [kM]?B of 500 MB had come\); nothing of it was kept\n", mark)
    finally:
        view.proc.send_signal(signal.SIGCONT)
    view.wait_for(r"the host's user stopped receiving big\.bin \(500 MB\); nothing of it was"
                  r" kept there\n")  # fmt: skip
