""":class:`PtyHost`, the terminal the CLI tests drive ``screencodec host`` on:
a host that was closed never reads the next host's terminal.

The race it had: ``close()`` closed the pty's master while the reader thread
was between two reads (it had just handed over a chunk); the next host's pty
got the same descriptor number, and the old reader's next read took that
host's first output (its session code) into the closed host's buffer. The new
host then showed nothing until its test gave up, which happened once on a
loaded machine. Staged here: the old reader is held between two reads until
the next pty exists, then reads before the new reader starts.
"""

from __future__ import annotations

import os
import pty
import threading
import time

import pytest

from .test_attack_prompts import PtyHost, _credentials


def test_a_closed_hosts_reader_never_takes_the_next_hosts_output(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_read, real_openpty = os.read, pty.openpty
    fd_of: dict[int, int] = {}  # thread -> the descriptor it last read
    hold, held, go = threading.Event(), threading.Event(), threading.Event()
    old_reader: list[int] = []

    def read(fd: int, n: int) -> bytes:
        me = threading.get_ident()
        fd_of[me] = fd
        if hold.is_set() and me in old_reader:
            held.set()
            go.wait(20)  # preempted between two reads
        return real_read(fd, n)

    def openpty() -> tuple[int, int]:
        fds = real_openpty()
        if hold.is_set():
            go.set()
            time.sleep(0.3)  # the old reader reads before the new one starts
        return fds

    monkeypatch.setattr(os, "read", read)
    monkeypatch.setattr(pty, "openpty", openpty)
    first = PtyHost()
    try:
        _credentials(first)
        old_reader.extend(t for t, fd in fd_of.items() if fd == first._master)
        assert len(old_reader) == 1
        hold.set()
        first.type("")  # its echo: the reader takes it and comes back for more
        assert held.wait(20)
    finally:
        first.close()
    seen = len(first.text)
    second = PtyHost()
    try:
        code = _credentials(second)[1]
        assert f"Session code: {code}" not in first.text[seen:]
    finally:
        second.close()
