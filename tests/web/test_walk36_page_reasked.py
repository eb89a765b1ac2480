"""What ``screencodec view --web`` says while, its link lost, it has
reached the host again and waits for the host's answer: the host's user had
ended the session meanwhile (``/end``, a host without ``--once``), so the
user is asked again.

Found (walk36, in tmux, the page read in headless Chromium): for the 30 s
the host's user took to answer, the page kept "The connection to the
user's computer was lost: reconnecting..." and its status "Reconnecting,
for up to 56 s more: the connection broke: connection reset by peer", the
count stopped; the terminal of ``view --web`` said nothing. The terminal
``view`` says ``reconnected; waiting for the host (its user is asked again
if the session could not be resumed)``.

Expected: the page's status and the terminal say so while it waits.

A real ``screencodec host`` (no ``--once``) on a pty, a real ``screencodec
view --web --no-open`` whose link goes through a proxy the test cuts and
keeps refusing, the real page in headless Chromium.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
from typing import Any

from loop_thread import LoopThread
from transport.helpers import LinkProxy
from transport.test_attack_prompts import PtyHost
from transport.test_cli import CLI, ENV
from transport.test_view_cli_ux import read_until, stop

from .conftest import wait_page

#: The page's status while it waits (run.py), and the terminal's line.
WAITING = ("Reconnected; waiting for the user's computer (the user is asked again if the"
           " session could not be resumed)...")  # fmt: skip
WAITING_BANNER = ("The connection to the user's computer is back: waiting for it to take"
                  " the session up (the user is asked again if it could not be resumed)..."
                  )  # fmt: skip
WAITING_LINE = ("reconnected; waiting for the host (its user is asked again if the session"
                " could not be resumed)")  # fmt: skip


class _HostNotOnce(PtyHost):
    """``screencodec host --listen`` on a pty, as :class:`PtyHost`, without
    ``--once``: ``/end`` leaves it listening, the code still valid."""

    def __init__(self) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic",
             "--size", "160x120", "--control", "none"],
            stdin=slave, stdout=slave, stderr=slave, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            close_fds=True,
        )  # fmt: skip
        self._collect(master, slave)


class _Cuttable(LoopThread):
    """A loop thread with a :class:`LinkProxy` ``proxy``, which :meth:`cut`
    cuts."""

    proxy: LinkProxy

    def cut(self, *, refusing: bool) -> None:
        """Sets whether the proxy refuses new links; refusing, it also cuts
        the ones it carries."""

        async def cut() -> None:
            self.proxy.refusing = refusing
            if refusing:
                self.proxy.cut()

        self.call(cut())


class _Proxied(_Cuttable):
    """A proxy in front of the host's port, on a loop of its own thread."""

    def __init__(self, port: int) -> None:
        super().__init__(timeout=20)
        self.proxy = LinkProxy(port)
        self.call(self.proxy.start())

    async def aclose(self) -> None:
        await self.proxy.close()


def _open_the_page(browser: Any, view: subprocess.Popen[bytes], host: Any) -> str:
    """*view*'s page (at the URL it prints) open in *browser*, the host's
    user letting it in (Question 1), a picture applied; returns what *view*
    printed up to its URL."""
    out = read_until(view, "#k=")
    url = re.search(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+", out)
    assert url is not None
    browser.get(url.group(0))
    host.say_yes(1)
    wait_page(browser, lambda s: s["applied"] >= 1, what="a picture")
    return out


def _status(browser: Any) -> str:
    return str(browser.execute_script("return document.getElementById('status').textContent"))


def test_the_page_says_it_waits_for_the_host_once_reconnected(browser: Any) -> None:
    host = _HostNotOnce()
    try:
        found = host.wait_for(r"listening on 127\.0\.0\.1:(\d+)\nSession code: ([\d ]+)\n"
                              r"Password:\s+(\S+)\n")  # fmt: skip
        with _Proxied(int(found.group(1))) as link:
            view = subprocess.Popen(
                [*CLI, "view", f"127.0.0.1:{link.proxy.port}", "--code", found.group(2).strip(),
                 "--password", found.group(3), "--web", "--no-open", "--name", "Alice"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
            )  # fmt: skip
            try:
                out = _open_the_page(browser, view, host)
                mark = len(host.text)
                link.cut(refusing=True)  # the agent's link fails and stays down ...
                host.wait_for(r"type /end to prevent it\)", mark)
                host.type("/end")  # ... while the host's user ends the session
                host.wait_for(r"Screen sharing stopped", mark)
                link.cut(refusing=False)
                host.wait_for(r"Question 2: .*?\[y/N\] ", mark)  # asked again
                # Found: "Reconnecting, for up to 56 s more: the connection
                # broke: connection reset by peer" until the answer.
                wait_page(browser, lambda _s: _status(browser) == WAITING,
                          what=f"the waiting status: {_status(browser)!r}")  # fmt: skip
                # walkfix36: the banner read "...was lost: reconnecting..." meanwhile.
                wait_page(browser, lambda s: s["banner"] == WAITING_BANNER,
                          what="the waiting banner")  # fmt: skip
                host.type("y")
                wait_page(browser, lambda s: s["connected"] and _status(browser) == "Connected",
                          what="connected again")  # fmt: skip
                out += read_until(view, "you were let in again")
            finally:
                stop(view)
    finally:
        host.close()
    assert WAITING_LINE in out, out
