"""review41a: the view's ``/stop`` (walk41) once all of a file has gone,
while the host's disk still saves it.

Found: the offer's task was cancelled where it waits for the host's answer
(FileSender.send's ``await result``), which withdraws nothing, and the view
said "you stopped sending notes.bin to the host (100 kB of 100 kB had
gone); the host keeps nothing of it"; the host then saved the file and
kept it; its answer, come after the cancel, was "error: file result for
transfer 1, which is not awaited" and the view's session ended. Expected:
the words true in every order of events (all of it had gone: the host may
have kept it), and the late answer ends nothing.

The real host and view on pseudo-terminals over loopback; the host's
download folder a real FAT image (fusefat) whose daemon is stopped
(SIGSTOP) once all of the file is written under its temporary name, so
that the host's save waits for the disk while the agent types /stop. A
file saved before the test saw it whole is sent again under another name
(the window is that of the save's sync: at most 5 tries), and so is one
saved between the test's look and the disk's stop (the view said
"delivered" before the /stop)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import stalled, stop_disk
from transport.test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["fat", "host_and_view"]  # the fixtures

SIZE = 100_000


def _whole_unsaved(folder: Path, name: str) -> bool | None:
    """True: all of ``name`` is written under its temporary name; False:
    not yet; None: it is saved already (too late to stop the disk)."""
    if (folder / name).exists():
        return None
    for part in folder.iterdir():
        if part.name.startswith(f".{name}.part-"):
            with contextlib.suppress(FileNotFoundError):  # named meanwhile
                return part.stat().st_size == SIZE
    return False


def test_stop_after_all_went_says_what_the_host_kept(
        fat: Path, tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    host, view = _join(*host_and_view, "--download-dir", str(fat))
    with stalled(fat) as daemon:
        for attempt in range(5):
            name = f"notes{attempt}.bin"
            (tmp_path / name).write_bytes(os.urandom(SIZE))
            mark, host_mark = len(view.text), len(host.text)
            view.type(f"/send {tmp_path / name}")
            host.wait_for(rf"Question \d+: FILE .*?'{name}'.*?\[y/N\] ", host_mark)
            host.type("y")
            deadline = time.monotonic() + 30
            while (whole := _whole_unsaved(fat, name)) is False:
                assert time.monotonic() < deadline, host.text[host_mark:]
                time.sleep(0.001)
            if whole:
                stop_disk(daemon)  # the host's save of it waits for the disk
                view.type("/stop")
                said = view.wait_for(rf"you stopped [^\n]*{name}[^\n]*\n|\(no file is being"
                                     r" sent", mark)  # fmt: skip
                if said.group(0).startswith("you stopped"):
                    break
                # The save was done between the look and the stop (a loaded
                # machine: the view already said "delivered"): again.
                os.kill(daemon, signal.SIGCONT)
            host.wait_for(rf"saved [^\n]*{name}", host_mark)
        else:
            raise AssertionError("every save was done before the test stopped the disk")
    # The disk answers: the host saves it.
    host.wait_for(rf"saved [^\n]*{name} \(100 kB\) from 'support'", host_mark)
    assert (fat / name).read_bytes() == (tmp_path / name).read_bytes()
    time.sleep(0.5)  # the view's later words, if any
    words = view.text[mark:]
    assert said.group(0) == (f"you stopped waiting for the host's word of {name}: all of"
                             " it (100 kB) had gone, so the host may have kept it\n"), words
    assert "error:" not in words, words  # the host's late answer ends nothing
    assert view.proc.poll() is None, words
    view.type("/say still here")
    host.wait_for(r"still here", host_mark)
