"""A session the host's program fails is ended with a Bye that says so
(walk39). A service whose frame source could not be made (here a
synthetic desktop of 10x10, under its 64x64 minimum) failed the session
after its user's yes with no word to the agent: ``view()`` raised
``SessionClosedError("closed by peer: closed locally")``, which reads as
the host closing on purpose, and ``screencodec view`` printed the same. The
agent is told that an error on the host's side ended it (not which: the
host's own words stay with the host, in its SessionEnded). Real sockets on
loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from screencodec.capture import FrameSource, SyntheticDesktop
from screencodec.errors import SessionClosedError
from screencodec.transport import allow, share, view
from screencodec.transport.session.refusal import HOST_FAILED
from warm_start import warm_run

from .secure_fixtures import FAST
from .test_cli import CLI, ENV


def _too_small(index: int) -> FrameSource:
    return SyntheticDesktop(10, 10)


def test_walk39_the_agent_is_told_the_host_failed() -> None:
    async def main() -> tuple[str, str]:
        async with share(_too_small, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            with pytest.raises(SessionClosedError) as caught:
                async with view(f"127.0.0.1:{s.address[1]}", code=s.code,
                                password=s.password, timeouts=FAST):  # fmt: skip
                    pass
            return str(caught.value), await asyncio.wait_for(s.wait_ended(), 10)

    agent, host = asyncio.run(asyncio.wait_for(main(), 60))
    assert agent == "the host could not go on: an error in its program ended the session"
    assert host == "failed: synthetic desktop size 10x10 is outside 64x64 .. 3840x2160"


HOST = '''
import asyncio, sys
import numpy as np
from screencodec.capture import SyntheticDesktop
from screencodec.transport import allow, share

class Breaks(SyntheticDesktop):  # a bug in the embedding program's source
    grabs = 0
    def grab(self):
        self.grabs += 1
        return super().grab() if self.grabs <= 5 else np.zeros((3, 3), np.uint8)

async def main():
    async with share(lambda i: Breaks(320, 240), consent=allow(), listen="127.0.0.1:0") as s:
        print(s.address[1], s.code.replace(" ", ""), s.password, flush=True)
        print(await s.wait_ended(), flush=True)

asyncio.run(main())
'''


def test_walk39_a_host_failing_mid_session_is_an_error_at_the_agent(tmp_path: Path) -> None:
    """Mid-session (a frame of the wrong shape after 5 good ones) the host
    closed with no Bye as well: ``screencodec view`` said "session ended:
    the host closed the connection" and exited 0, as for a host's user
    ending it. Now the Bye's words and status 1 (docs/cli.md: an error)."""
    script = tmp_path / "host.py"
    script.write_text(HOST)
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                          env=ENV) as host:  # fmt: skip
        try:
            assert host.stdout is not None
            port, code, password = host.stdout.readline().split()
            view = warm_run([*CLI, "view", f"127.0.0.1:{port}", "--code", code,
                            "--password", password], capture_output=True, text=True,
                            timeout=60, env=ENV, check=False)  # fmt: skip
            ended = host.stdout.readline().strip()
        finally:
            host.kill()
    assert view.returncode == 1, view.stdout + view.stderr
    assert view.stdout.splitlines()[-1] == f"session ended: {HOST_FAILED}", view.stdout
    assert ended == "failed: expected an (H, W, 4) uint8 frame, got uint8 (3, 3)"
