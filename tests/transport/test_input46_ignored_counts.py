"""input46: what the host ignored of an agent's input, counted alike on both
sides, and told in a few notices, not one a key.

Found: the host's status line said ``their input ignored: 300`` (every
input message: a key's press and its release two, a pointer move one)
while the agent's ``/type`` said 150 of its characters were ignored; and
the host sent a KEYS_IGNORED notice (code 9) for every press it ignored: a
held-down burst of 200 keys made 200 notices. Expected: both count keys
(a press and its release one key), pointer moves, clicks and scrolls
apart, and the count goes at most once every ``COUNT_EVERY`` s, the last
one carrying the total.

A real Host and Viewer on loopback, the host's recording injector; the
customer's own input is the host's ``local_input_activity`` hook.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import pytest

from screencodec.capture import open_source
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.input_gate import COUNT_EVERY

from .helpers import CustomerMouse
from .secure_fixtures import controlled_host, run
from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_view_cli_send_screens import PtyView
from .test_walk43_view_types import GRANTED

KEYS, MOVES, CLICKS = 200, 40, 3


def _host(**config: float) -> Host:
    return Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                consent=allow(), injector=RecordingInjector(),
                config=HostConfig(adaptive=False, **config))  # fmt: skip


def test_a_burst_of_ignored_keys_is_a_few_notices_that_end_on_the_total() -> None:
    async def main() -> tuple[list[str], int | None, object, object]:
        host = _host(local_input_pause=30.0)
        async with controlled_host(host) as (viewer, _):
            counts: list[str] = []
            shown = viewer.on_message

            def seen(msg: m.Message) -> None:
                if isinstance(msg, m.Notice) and msg.code == m.Notice.KEYS_IGNORED:
                    counts.append(msg.text)
                if shown is not None:
                    shown(msg)

            viewer.on_message = seen
            await asyncio.sleep(1.5)  # past the grant's in-flight window
            host.local_input_activity()  # the customer's own mouse: a 30 s stretch
            for i in range(KEYS):  # a held-down burst: the agent's keyboard repeats
                assert await viewer.key(0x78, True, "x")
                if i < MOVES:
                    assert await viewer.pointer_move(10 + i, 20)
            assert await viewer.key(0x78, False)
            for _ in range(CLICKS):
                assert await viewer.button(1, True)
                assert await viewer.button(1, False)
            want = (KEYS, MOVES, CLICKS, 0)
            for _ in range(100):
                if viewer.input_ignored == want:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(2 * COUNT_EVERY)  # nothing more comes after the total
            return counts, viewer.keys_ignored, viewer.input_ignored, host.stats()[0]

    counts, keys, ignored, stats = run(main(), timeout=60)
    assert keys == KEYS and ignored == (KEYS, MOVES, CLICKS, 0)
    # The host's own figures are the agent's (its status line reads them).
    assert stats.input_ignored == (KEYS, MOVES, CLICKS, 0)
    # Found: 200 notices. The burst lasts well under a second here: the
    # first count at once, then at most one a COUNT_EVERY, the last the total.
    assert 1 <= len(counts) <= 10, counts
    assert counts[-1] == f"{KEYS} {MOVES} {CLICKS} 0", counts


def test_a_viewer_of_the_version_before_reads_the_key_count_alone() -> None:
    """A viewer that declares KEY_COUNTS and not INPUT_COUNTS (words45's)
    gets code 9's text as one figure, the keys, its /type's count."""

    async def main() -> list[str]:
        host = _host(local_input_pause=30.0)
        creds = SessionCredentials()
        serving: list[asyncio.Task[str]] = []
        listener = await listen_direct("127.0.0.1", 0, creds, lambda ch: serving.append(
            asyncio.ensure_future(host.serve(ch))))  # fmt: skip
        viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                             creds.password))  # fmt: skip
        flags = viewer.capabilities.flags & ~m.Capabilities.INPUT_COUNTS
        viewer.capabilities = dataclasses.replace(viewer.capabilities, flags=flags)
        counts: list[str] = []

        def seen(msg: m.Message) -> None:
            if isinstance(msg, m.Notice) and msg.code == m.Notice.KEYS_IGNORED:
                counts.append(msg.text)

        viewer.on_message = seen
        await viewer.start(VIEW | CONTROL)
        running = asyncio.ensure_future(viewer.run())
        try:
            await asyncio.sleep(1.5)
            host.local_input_activity()
            for _ in range(5):
                assert await viewer.pointer_move(5, 5)
                assert await viewer.key(0x79, True, "y")
                assert await viewer.key(0x79, False)
            for _ in range(100):
                if viewer.keys_ignored == 5:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(2 * COUNT_EVERY)
            return counts
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await host.close()
            await listener.close()
            for task in serving:
                task.cancel()
            await asyncio.gather(*serving, return_exceptions=True)

    counts = run(main(), timeout=60)
    assert counts and counts[-1] == "5" and all(c.isdecimal() for c in counts), counts


@pytest.fixture
def desk() -> Iterator[str]:
    with private_xvfb(320, 240) as display:
        yield display


def test_the_hosts_line_and_the_agents_view_say_the_same_count_in_the_same_words(
    desk: str,
) -> None:
    """``screencodec host --control xtest`` and ``screencodec view --control``
    each on a pseudo-terminal (200 columns: the lines whole); the customer
    moves their own mouse (xdotool) while the agent's /type goes."""
    wide = {"COLUMNS": "200"}
    host = PtyHost("--control", "xtest", env={"DISPLAY": desk, **wide})
    view = None
    mouse = CustomerMouse(desk, (100, 200))
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                       "--name", "Dave", "--control", env={**ENV, **wide})  # fmt: skip
        host.say_yes(2)
        view.wait_for(GRANTED)
        mouse.start()
        time.sleep(0.5)
        view.type("/type echo " + "x" * 120)
        typed = view.wait_for(r"(\d+) of 125 characters reached the host's keyboard; (\d+)"
                              r" (?:was|were) ignored while")  # fmt: skip
        mouse.stop()
        ignored = int(typed[2])
        assert ignored > 0, typed[0]
        keys = f"{ignored} key{'' if ignored == 1 else 's'}"
        # Found: the host's line said "their input ignored: 2N" (each press
        # and release) or more for the agent's N characters.
        host.wait_for(rf"\[shared\] 127\.0\.0\.1:\d+: .*, their input ignored: {keys}\n")
        view.wait_for(rf"\[view\] .*, your input ignored: {keys}\n")
    finally:
        mouse.stop()
        if view is not None:
            view.close()
        host.close()
