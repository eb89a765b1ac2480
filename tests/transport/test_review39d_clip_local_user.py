"""review39d: an agent's clipboard text refused while the customer uses
their own keyboard (result code 8, cf88adf), against the real
``screencodec host --control xtest`` on a pseudo-terminal under Xvfb: the
customer's keys are real X key presses (xdotool, another X client: the
host's XInput watcher takes them for the local user, xpresses.py).

Found: the customer's terminal said "(not put on your clipboard: 'Dave'
sent 20 characters: the user is using their own mouse or keyboard ...)":
the agent's words (refusal_words), read by the very user it means, who
cannot tell it is themselves. Their line says it is them. Measured here
too: code 8 works for a real customer (the CLI host's XInput watcher), and
five texts sent while they type are one line (review39b's once-per-reason)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from typing import Any

import pytest

from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m

from .helpers import run, until
from .test_attack_prompts import PtyHost, _can_control, _credentials

REFUSED_LINE = "(not put on your clipboard: 'Dave' sent 20 characters: "


def _typing(display: str, stop: threading.Event) -> None:
    """The customer typing: a key every 0.2 s until ``stop`` (pause 1 s)."""
    while not stop.is_set():
        subprocess.run(["xdotool", "key", "shift"], env={"DISPLAY": display},
                       check=False, timeout=10)  # fmt: skip
        stop.wait(0.2)


def test_the_customer_is_told_it_was_their_own_typing(
        xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    host = PtyHost(*_can_control(xvfb_display, monkeypatch), env={"DISPLAY": xvfb_display})
    stop = threading.Event()
    typing = threading.Thread(target=_typing, args=(xvfb_display, stop), daemon=True)
    try:
        port, code, password = _credentials(host)

        async def agent() -> None:
            viewer = Viewer(await connect_direct("127.0.0.1", port, code, password), who="Dave")
            yes = asyncio.ensure_future(asyncio.to_thread(host.say_yes, 1))
            assert await viewer.start(VIEW | CONTROL) == VIEW | CONTROL
            await yes
            task: asyncio.Future[Any] = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.clipboard.host_takes, 10, "the hello")
            await asyncio.sleep(1.0)  # past the grant's round trip
            typing.start()
            # Until the host has taken the customer's typing in (its watcher
            # polls X): the agent's pointer is held off then, and told so.
            # Waited for, not 0.5 s: a host the machine ran late (stopped 1 s)
            # took the five texts before the typing, 4 of 4 (flake40).
            loop = asyncio.get_running_loop()
            told = loop.time() + 20
            while not any(n.code == m.Notice.LOCAL_USER_ACTIVE for n in viewer.notices):
                assert loop.time() < told, "the host did not take the customer's typing in"
                await viewer.pointer_move(10, 10)
                await asyncio.sleep(0.05)
            for _ in range(5):  # sent while the customer types: one line for them
                await viewer.send_clipboard("sudo apt install foo")
            await viewer.chat("after the texts")
            await asyncio.to_thread(host.wait_for, r"says: after the texts", 0, 30)
            stop.set()
            await viewer.bye("done")
            with contextlib.suppress(Exception):
                await task

        run(agent(), 60)
        host.wait_for(r"session with .* ended", 0, 15)
        assert host.text.count(REFUSED_LINE) == 1, host.text
        line = host.text[host.text.index(REFUSED_LINE):].split("\n")[0]
        assert "the user is using" not in line, line
        assert line == (f"{REFUSED_LINE}you were using your mouse or keyboard: while you do,"
                        " their text and input are ignored; more of theirs refused so are not"
                        " told)"), line  # fmt: skip
    finally:
        stop.set()
        host.close()
