"""``screencodec host`` that cannot inject input (the synthetic desktop, no X
display): a request to CONTROL is refused without a question, the local user
is told in one line, and the viewer is told no."""

from __future__ import annotations

import asyncio
import re

import pytest

from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials

REFUSED = (r"refused: 'Alice' \(127\.0\.0\.1:\d+\) asked to control your mouse and keyboard,"
           r" but remote control is unavailable on this computer \(.+\)\n")


async def _wait(host: PtyHost, pattern: str, start: int = 0) -> re.Match[str]:
    """:meth:`PtyHost.wait_for` off the event loop, which keeps the viewer running."""
    return await asyncio.to_thread(host.wait_for, pattern, start)


def test_control_is_refused_unasked_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    host = PtyHost("--control", "xtest")  # the default, which needs a display
    try:
        port, code, password = _credentials(host)
        assert "(remote control unavailable: " in host.text

        async def session() -> None:
            # Asked together with VIEW: only VIEW is put to the user.
            ch = await connect_direct("127.0.0.1", port, code, password)
            viewer = Viewer(ch, who="Alice")
            started = asyncio.ensure_future(viewer.start(VIEW | CONTROL))
            first = await _wait(host, REFUSED)
            question = await _wait(host, r"Question 1: (.*?)\[y/N\] ", first.end())
            assert "SEE your screen" in question.group(1)
            assert "CONTROL" not in question.group(1)
            host.type("y")
            assert await started == VIEW
            task = asyncio.ensure_future(viewer.run())
            # Asked later, alone: refused, and nothing is asked.
            mark = len(host.text)
            assert await viewer.request(CONTROL) is False
            assert CONTROL not in viewer.level
            await _wait(host, REFUSED, mark)
            await viewer.bye("done")
            await task

        run(session(), timeout=60)
        host.wait_for(r"ended: the agent left, saying: done")
        assert "MORE ACCESS" not in host.text and "Question 2" not in host.text
        assert host.text.count("refused: 'Alice'") == 2
    finally:
        host.close()
