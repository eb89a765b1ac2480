"""The X display a ``screencodec host --relay`` shares dies (a real Xvfb,
killed) while its agent is away: the agent's link was cut, and its
``screencodec view`` is reconnecting through the relay.

Found: the host says the display is gone, ends the session and stops,
releasing its code at the relay as its user's end does (RELAY_RELEASE);
the relay told the agent "the host ended this session", and the view's
last line was "... and the host's user had ended the session while you
were away": not what happened. An agent still connected is told the truth
in the host's Bye ("the host's X display is gone: its screen, mouse and
keyboard can no longer be used"), exit status 0 (tests/transport/
test_terminals_x_gone.py).

Expected: the away agent is told the display went and the host stopped,
with the connected agent's status, 0 (ENDED): the host releases its code
saying why (RELAY_RELEASE's reason), the relay tells the agent so.

A real relay (in this process), a real ``screencodec host --control xtest``
on a pty on a private Xvfb the test kills, a real ``screencodec view``
reaching the relay through a proxy the test cuts and keeps refusing.
"""

from __future__ import annotations

import asyncio
import subprocess

from transport.test_cliux_screen_gone import doomed_xvfb  # noqa: F401 - a fixture

from .cluster import run
from .test_ends36_host_end_relay import RelayPtyHost, away_then, ended, relay_and_proxy

#: The view's last line when the host's X display went while it was away.
X_GONE_AWAY = ("session ended: the connection was lost, and the host's X display was gone while"
               " you were away: its screen, mouse and keyboard could no longer be used, and the"
               " host stopped")  # fmt: skip


def test_an_agent_away_is_told_the_hosts_display_went(
        doomed_xvfb: tuple[str, subprocess.Popen[bytes]]) -> None:  # noqa: F811  # fmt: skip
    display, xvfb = doomed_xvfb

    async def main() -> None:
        async with relay_and_proxy() as (relay, proxy):
            host = RelayPtyHost(relay.port, "--control", "xtest", env={"DISPLAY": display})
            try:
                def kill_display() -> None:
                    xvfb.kill()
                    xvfb.wait()

                view, status = await away_then(host, proxy, kill_display)
                line, view_status = await asyncio.to_thread(ended, view)
            finally:
                host.close()
            assert f"the X display {display} is gone" in host.text, host.text
            assert status == 1, host.text  # as when the agent is there
            # Found: "session ended: the connection was lost, and the host's
            # user had ended the session while you were away".
            assert line == X_GONE_AWAY, line
            assert view_status == 0  # ENDED, as the connected agent's

    run(main(), 90)
