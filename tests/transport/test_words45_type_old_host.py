"""words45: a ``/type`` while the host's user uses their own mouse, to a host
of the version before its count of ignored keys (``Notice.KEYS_IGNORED``).

Found walking (walk45): "(the host's user is using their own mouse or
keyboard: ... ignored ...)", then "sent 49 characters to the host's
keyboard", none typed. A host of this version counts what it ignored and
the line says how many reached the keyboard (walk44's test); one of the
version before drops the viewer's ``KEY_COUNTS`` bit and says only that a
stretch began: the line says the characters may not have been typed, never
that all went to the keyboard.

A real Host in this process on loopback (its link's capabilities without the
bit, as a host of the version before keeps only the bits it knows; its user's
own input through its ``local_input_activity`` hook), a real ``screencodec
view --control`` on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator

from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, SessionCredentials, allow, listen_direct
from screencodec.transport.input import RecordingInjector
from screencodec.transport.session import messages as m

from .test_view_cli_send_screens import PtyView
from .test_walk43_view_types import GRANTED

HEDGED = re.escape(
    "sent 49 characters, but the host's user used their own mouse or keyboard meanwhile:"
    " those that came while they did were ignored, not typed (the host does not say how many)"
)


async def _wait(view: PtyView, pattern: str, start: int = 0) -> re.Match[str]:
    return await asyncio.to_thread(view.wait_for, pattern, start)


@contextlib.asynccontextmanager
async def _joined(views: list[PtyView], *, pause: float
                  ) -> AsyncIterator[tuple[Host, RecordingInjector, PtyView]]:  # fmt: skip
    """A Host in this process on loopback (its user's own input pauses the
    agent's for ``pause`` s) and a real ``view --control`` as Dave, control
    granted; the view is added to ``views`` (the test closes it)."""
    creds = SessionCredentials()
    injector = RecordingInjector()
    host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                consent=allow(), injector=injector,
                config=HostConfig(adaptive=False, local_input_pause=pause))  # fmt: skip
    listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
    try:
        view = PtyView(f"127.0.0.1:{listener.port}", "--code", creds.code, "--password",
                       creds.password, "--name", "Dave", "--control")  # fmt: skip
        views.append(view)
        await _wait(view, GRANTED)
        yield host, injector, view
    finally:
        await listener.close()
        await host.close()


def test_a_type_to_a_host_that_does_not_count_says_some_may_not_be_typed() -> None:
    views: list[PtyView] = []

    async def body() -> str:
        async with _joined(views, pause=30.0) as (host, injector, view):
            link = next(iter(host._runtime.serving))
            # (getattr: on the src of before, no bit, and the test fails on its words)
            bit = getattr(m.Capabilities, "KEY_COUNTS", 0)
            assert link.capabilities.flags & bit == bit  # this version's view declares it
            link.capabilities = dataclasses.replace(
                link.capabilities, flags=link.capabilities.flags & ~bit)
            host.local_input_activity()  # the customer's mouse: a 30 s stretch
            mark = len(view.text)
            view.type("/type " + "x" * 49)
            await _wait(view, r"\nsent 49 characters[^\n]*\n", mark)
            assert not any(e[0] == "key" for e in injector.events)  # none typed
            return view.text[mark:]

    try:
        text = asyncio.run(asyncio.wait_for(body(), 90))
    finally:
        for view in views:
            view.close()
    assert "sent 49 characters to the host's keyboard" not in text, text
    assert re.search(HEDGED, text), text


COUNTED = (r"\n(\d+) of 600 characters reached the host's keyboard; (\d+) (?:was|were) ignored"
           r" while the host's user used their own mouse or keyboard\n")  # fmt: skip


def test_a_types_count_is_what_the_host_typed_and_what_it_ignored() -> None:
    """This version's host counts: however the customer's input and the
    /type interleave, the line's "N reached" is the key presses the host's
    injector got, and N + M the characters sent."""
    views: list[PtyView] = []

    async def body() -> tuple[str, int]:
        async with _joined(views, pause=0.05) as (host, injector, view):
            mark = len(view.text)
            view.type("/type " + "x" * 600)
            for _ in range(10):  # the customer's mouse, on and off, as the /type goes
                host.local_input_activity()
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            host.local_input_activity()
            await _wait(view, r"\n(?:\d+ of )?600 characters[^\n]*\n", mark)
            pressed = sum(1 for e in injector.events if e[0] == "key" and e[2] is True)
            return view.text[mark:], pressed

    try:
        text, pressed = asyncio.run(asyncio.wait_for(body(), 90))
    finally:
        for view in views:
            view.close()
    found = re.search(COUNTED, text)
    if found is None:  # nothing ignored: the customer's input came before or after it all
        assert pressed == 600 and "sent 600 characters to the host's keyboard" in text, text
    else:
        assert int(found[1]) == pressed and int(found[1]) + int(found[2]) == 600, (text, pressed)
