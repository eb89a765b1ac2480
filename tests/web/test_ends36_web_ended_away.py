"""How ``screencodec view --web`` ends when, reconnecting through a relay
after its link was lost, it learns that the session ended meanwhile.

Found: a refusal as ended was one more failed reconnection, retried for
the whole 60 s: the page's banner "The session has ended: the connection
to the user's computer was lost; could not reconnect: that session has
ended: ask the host's user for a new code and password.", the terminal's
last line the same, exit status 5, however it had ended. The
terminal view (endwords35) says the host's user ended it (status 0), or
that the host no longer answers, its program stopped (a kill: status 5).

Expected: ``--web`` as the terminal view, in its last line and its exit
status, and the page's banner says the same: the host's user ended it
(``/end``), its X display went (ends36: status 0, as an agent connected
then is told), its program was killed (status 5).

A real relay (on a loop of its own thread), a real ``screencodec host`` on
a pty (``--control xtest`` on a private Xvfb the test kills, for the
display), a real ``screencodec view --web --no-open`` whose link to the
relay goes through a proxy the test cuts and keeps refusing, the real page
in headless Chromium.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from relay.test_ends36_host_end_relay import RelayPtyHost
from screencodec.transport.relay import Relay
from screencodec.transport.relay.limits import RelayLimits
from transport.helpers import LinkProxy
from transport.test_cli import CLI, ENV
from transport.test_cliux_screen_gone import doomed_xvfb  # noqa: F401 - a fixture
from transport.test_view_cli_ux import stop

from .conftest import wait_page
from .test_walk36_page_reasked import _Cuttable, _open_the_page

#: Per way the session ended: the page's banner, the terminal's last line
#: (as `screencodec view` without --web says it) and the exit status.
LOST_PAGE = "The session has ended: the connection to the user's computer was lost"
LOST_LINE = "session ended: the connection was lost"
ENDS = {
    "/end": (f"{LOST_PAGE}, and the user had ended the session while you were away.",
             f"{LOST_LINE}, and the host's user had ended the session while you were away", 0),
    "display gone": (
        f"{LOST_PAGE}, and the user's X display was gone while you were away: its screen,"
        " mouse and keyboard could no longer be used, and the host stopped.",
        f"{LOST_LINE}, and the host's X display was gone while you were away: its screen,"
        " mouse and keyboard could no longer be used, and the host stopped", 0),
    "kill -9": (f"{LOST_PAGE}, and the host no longer answers (its program has stopped).",
                f"{LOST_LINE}, and the host no longer answers (its program has stopped)", 5),
}  # fmt: skip


class _Relayed(_Cuttable):
    """A relay and a proxy in front of it for the agent's link, on an event
    loop of their own thread (the host and the view are processes)."""

    def __init__(self) -> None:
        super().__init__(timeout=20)
        self.relay, self.proxy = self.call(self._start())

    @staticmethod
    async def _start() -> tuple[Relay, LinkProxy]:
        # A host gone without a release is told so after 1 s, not 3.
        relay = Relay(limits=RelayLimits(host_gone_after=1.0))
        await relay.start()
        proxy = LinkProxy(relay.port)
        await proxy.start()
        return relay, proxy

    async def aclose(self) -> None:
        await self.proxy.close()
        await self.relay.close()


@pytest.fixture
def relayed() -> Iterator[_Relayed]:
    with _Relayed() as relay:
        yield relay


@pytest.fixture
def display(request: pytest.FixtureRequest) -> tuple[str, subprocess.Popen[bytes]] | None:
    """The private Xvfb the host shares for the "display gone" case."""
    if request.node.callspec.params["how"] != "display gone":
        return None
    return request.getfixturevalue("doomed_xvfb")  # type: ignore[no-any-return]


@pytest.mark.parametrize("how", list(ENDS))
def test_view_web_reconnecting_to_an_ended_session_says_how_it_ended(
        browser: Any, relayed: _Relayed, how: str,
        display: tuple[str, subprocess.Popen[bytes]] | None) -> None:  # fmt: skip
    page_banner, last_line, status = ENDS[how]
    if display is None:
        host = RelayPtyHost(relayed.relay.port)
    else:
        host = RelayPtyHost(relayed.relay.port, "--control", "xtest",
                            env={"DISPLAY": display[0]})  # fmt: skip
    try:
        code, password = host.credentials()
        view = subprocess.Popen(
            [*CLI, "view", "--relay", f"127.0.0.1:{relayed.proxy.port}", "--code", code,
             "--password", password, "--web", "--no-open", "--name", "Alice"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
        )  # fmt: skip
        try:
            # A picture applied: the resume ticket, sent before it, has come.
            _open_the_page(browser, view, host)
            mark = len(host.text)
            relayed.cut(refusing=True)  # the agent's link fails and stays down ...
            wait_page(browser, lambda s: (s["banner"] or "").startswith("The connection to"),
                      what="the lost banner")  # fmt: skip
            host.wait_for(r"type /end to prevent it\)", mark)
            if how == "/end":  # ... while the session ends
                host.type("/end")
            elif how == "display gone":
                assert display is not None
                display[1].kill()
                display[1].wait()
            else:
                host.proc.send_signal(signal.SIGKILL)
            host.proc.wait(20)
            relayed.cut(refusing=False)
            st = wait_page(browser, lambda s: bool(s["ended"]), timeout=60, what="the end")
            out, err = view.communicate(timeout=30)
        finally:
            stop(view)
    finally:
        host.close()
    # Found: "...; could not reconnect: that session has ended: ask the
    # host's user for a new code and password." each way, status 5.
    assert st["banner"] == page_banner
    lines = out.decode(errors="replace").strip().splitlines()
    assert lines[-1] == last_line, (lines[-3:], err.decode(errors="replace"))
    assert view.returncode == status
