"""words32: the host's user presses Ctrl-C while an agent's file is coming.
The host says plainly what it did not get: "not received from AGENT:
'NAME' (X of Y, you ended the session); nothing of it was kept", sizes in
a person's units (display.amount), not
"the connection ended before all of it came (N of M bytes)"; the agent
reads "(not sent: NAME: the host ended the session, X of Y had arrived;
nothing of it was kept there)" (walk35: without its last words the agent
could not tell whether the host kept what had arrived; it does not),
not "(not sent: NAME: the session ended)". (A link that is lost instead
still reads "the connection to the host was lost": tests/test_walk3_view_cli.py.)

The real ``screencodec host`` and ``screencodec view`` on loopback, through
a proxy that holds what the agent sends: the file's first window of
chunks is let through, the rest held, so the transfer is mid-way, for
sure, when the host's user presses Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from .test_chatack_cli import _Output
from .test_resume_cli import _ProxyThread
from .test_view_cli_ux import read_until
from .test_words32_chat_order import HoldingProxy
from .test_words32_unconfirmed import agent_through_proxy

T = TypeVar("T")
SIZE = 8_000_000


class _Holding(_ProxyThread):
    """:class:`HoldingProxy` on an event loop of its own thread."""

    def __init__(self, target: int) -> None:
        super().__init__(target, HoldingProxy)
        assert isinstance(self.proxy, HoldingProxy)
        self.holding = self.proxy

    def on_loop(self, call: Callable[[], T]) -> T:
        async def run() -> T:
            return call()

        return self.call(run())


def _until(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"no {what}"
        time.sleep(0.02)


def _part_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if ".part-" in p.name)


@contextmanager
def file_mid_way(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], _Output, _Holding,
                                                  subprocess.Popen[bytes], Path]]:
    """The agent's ``/send`` of an 8 MB file that the host's user said yes
    to, its first window of chunks (32 KiB) written in the host's download
    folder and the rest held by the proxy: the host, its output, the proxy,
    the agent's viewer and the download folder."""
    dl = tmp_path / "dl"
    dl.mkdir()
    path = tmp_path / "large.bin"
    path.write_bytes(os.urandom(SIZE))
    with agent_through_proxy("--download-dir", str(dl), proxy_type=_Holding,
                             stdin=subprocess.PIPE) as (host, out, proxy, view):  # fmt: skip
        assert host.stdin is not None and view.stdin is not None
        view.stdin.write(f"/send {path}\n".encode())
        view.stdin.flush()
        out.wait_for("large.bin")
        out.wait_for("[y/N] ")
        proxy.on_loop(lambda: proxy.holding.hold("viewer"))
        host.stdin.write("y\n")
        host.stdin.flush()
        # The agent's first window of chunks (32 KiB) is held, then let through.
        _until(lambda: proxy.on_loop(lambda: proxy.holding.kept_bytes) >= 32 * 1024,
               "the first chunks")  # fmt: skip
        proxy.on_loop(proxy.holding.let_through)
        _until(lambda: _part_size(dl) >= 32 * 1024, "the first chunks written")
        yield host, out, proxy, view, dl


def test_ctrl_c_mid_transfer_is_told_plainly_on_both_sides(tmp_path: Path) -> None:
    with file_mid_way(tmp_path) as (host, out, _proxy, view, dl):
        host.send_signal(signal.SIGINT)
        assert host.wait(timeout=30) == 0
        seen = read_until(view, "session ended")
        seen += view.communicate(timeout=30)[0].decode()
    told = re.search(r"not received from 'support' \(\S+\): 'large\.bin' \((\d+\.\d kB) of"
                     r" 8\.0 MB, you ended the session\); nothing of it was kept\n",
                     out.text)  # fmt: skip
    assert told, out.text
    assert "bytes)" not in out.text
    sent = re.search(r"\(not sent: large\.bin: the host ended the session, (\d+\.\d kB) of"
                     r" 8\.0 MB had arrived; nothing of it was kept there\)", seen)  # fmt: skip
    assert sent, seen
    assert sent.group(1) == told.group(1)
    assert list(dl.iterdir()) == []
