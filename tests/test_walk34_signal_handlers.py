"""walk34: ``screencodec host`` and ``screencodec relay`` run inside another
program (``cli.main`` called in-process, as the tests and an embedding
program do) left SIGTERM at its default and SIGINT ignored or at Python's
default once they ended: the program's next SIGTERM killed it, its own
handler never called. ``view`` gives them back already
(tests/web/test_filesleft_view_signal_handlers.py). Expected: each puts
back the handlers it found.

Real: the command in this process's main thread, listening on a loopback
port; once its own SIGTERM handler is in place, a SIGTERM to this process
ends it in order (the host's /end, the relay's drain)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from free_port import free_port
from screencodec.cli.main import main as cli_main

_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Program:
    """The embedding program's own handlers, installed while inside; each
    records the signals it was called for."""

    def __init__(self) -> None:
        self.got: list[int] = []
        self.handlers = {sig: self._handler() for sig in _SIGNALS}

    def _handler(self) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.got.append(signum)

        return handler


@pytest.fixture
def program() -> Iterator[_Program]:
    before = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    embedding = _Program()
    for sig, handler in embedding.handlers.items():
        signal.signal(sig, handler)
    try:
        yield embedding
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _run_until_sigterm(program: _Program, argv: list[str]) -> int:
    """``cli.main(argv)``; a SIGTERM to this process once the command's
    own SIGTERM handler is in place (not the program's any more)."""
    ended = threading.Event()
    failed: list[BaseException] = []
    mine = program.handlers[signal.SIGTERM]

    def stop_when_up() -> None:
        try:
            deadline = time.monotonic() + 30
            while signal.getsignal(signal.SIGTERM) is mine and not ended.is_set():
                assert time.monotonic() < deadline, "the command never took SIGTERM"
                ended.wait(0.02)
        except BaseException as exc:
            failed.append(exc)
        finally:
            if not ended.is_set():
                os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=stop_when_up, daemon=True)
    driver.start()
    try:
        return cli_main(argv)
    finally:
        ended.set()
        driver.join(30)
        assert not failed, failed


def _handlers() -> dict[int, object]:
    return {sig: signal.getsignal(sig) for sig in _SIGNALS}


def test_walk34_host_in_process_gives_the_programs_handlers_back(program: _Program) -> None:
    port = free_port()
    status = _run_until_sigterm(program, [
        "host", "--listen", str(port), "--bind", "127.0.0.1", "--source", "synthetic",
        "--size", "160x120", "--control", "none"])  # fmt: skip
    assert status == 0
    assert program.got == []  # the host took the SIGTERM, not the program
    # Found: SIGTERM and SIGHUP at SIG_DFL, SIGINT ignored.
    assert _handlers() == program.handlers


def test_walk34_relay_in_process_gives_the_programs_handlers_back(program: _Program) -> None:
    port = free_port()
    status = _run_until_sigterm(program, ["relay", "--listen", str(port), "--bind", "127.0.0.1",
                                       "--drain-timeout", "1"])  # fmt: skip
    assert status == 0
    assert program.got == []
    # Found: SIGTERM at SIG_DFL, SIGINT at Python's default.
    assert _handlers() == program.handlers
