"""walk40: the customer's ``[shared]`` line, when the agent's input is ignored.

Found in a real session (an xterm on Xvfb, the agent in ``view --web``): the
customer moved their own mouse while the agent typed, and their terminal
printed ``[shared] 127.0.0.1:41392: 0 fps rtt 3 ms 0 kbit/s, input dropped
23``. Read by the customer, "input dropped" is their own input: their mouse
and keyboard lost something. It was the agent's, ignored while the customer
used theirs (the local user wins). The line now says whose:
``..., their input ignored: 23``. The figure is the link's count of every
input of that agent's ignored (InputGate: also before the grant, or without
control).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials

#: walk52: the figures before the count may be cut on a narrow terminal
#: ("57 fps rtt 1 ms ..."), the count never is (it was: "ignored: 1...").
IGNORED = r"\[shared\] 127\.0\.0\.1:\d+: [^\n]*, their input ignored: (\d+) key"


@pytest.fixture
def desk() -> Iterator[str]:
    with private_xvfb(320, 240) as display:
        yield display


def test_the_customer_reads_that_the_agents_input_was_ignored(desk: str) -> None:
    host = PtyHost("--control", "xtest", env={"DISPLAY": desk})
    env = {**os.environ, "DISPLAY": desk}
    try:
        port, code, password = _credentials(host)

        async def session() -> None:
            ch = await connect_direct("127.0.0.1", port, code, password)
            viewer = Viewer(ch, who="Dave")
            started = asyncio.ensure_future(viewer.start(VIEW | CONTROL))
            await asyncio.to_thread(host.say_yes, 1)
            assert CONTROL in await started
            task = asyncio.ensure_future(viewer.run())
            mark = len(host.text)
            for step in range(40):  # the customer moves the mouse while the agent types
                await asyncio.to_thread(subprocess.run, ["xdotool", "mousemove", str(10 + step),
                                        "20"], env=env, check=True, timeout=10)  # fmt: skip
                await viewer.key(ord("b"), True, "b")
                await viewer.key(ord("b"), False, "b")
                await asyncio.sleep(0.05)
            found = await asyncio.to_thread(host.wait_for, IGNORED, mark, 30)
            assert int(found.group(1)) >= 1, found.group(0)
            await viewer.bye("done")
            await task

        run(session(), timeout=90)
        assert "input dropped" not in host.text, host.text
    finally:
        host.close()
