"""review44b: keys44's "a key any agent lets up is up for every agent's
gate" against a key pressed by agent A and released by agent B, who never
pressed it. By design (one keyboard; B, in control, could as well type over
A): B can let A's keys up, on purpose or not; what must hold is the count.

Expected: the key is up on the X server; A's gate holds nothing; A's later
silence lets go of nothing and says nothing (no InputLetGo, no notice) --
not "1 key" for a key already up, and no key left down. The same for a key
A sent as its text only (keysym 0: é) and B released by its keysym (0xe9):
key_of counts both as one key, as the injector presses it.

A real Xvfb, the host's real XTestInjector, a real Host and two Viewers on
loopback; what is down is read with XQueryKeymap.
"""

from __future__ import annotations

import asyncio
from typing import Any

from screencodec.transport import Host, Viewer
from screencodec.transport.input.xtest import XTestInjector
from screencodec.transport.session.held_silence import HELD_SILENCE

from .test_keys44_text_keys import _down, _lets
from .test_review44_two_agents import _until, _with_two_agents

X, E_ACUTE = 0x78, "\u00e9"


def test_a_key_a_holds_released_by_b_is_up_and_a_s_silence_says_nothing() -> None:
    async def scene(display: str, host: Host, inj: XTestInjector, a: Viewer,
                    b: Viewer) -> dict[str, Any]:  # fmt: skip
        events = host.events()
        link_a, link_b = list(host._runtime.links)  # A joined first
        before = await _down(display, inj)
        assert await a.key(X, True)
        assert await a.key(0, True, E_ACUTE)
        await _until(lambda: link_a.gate.injected >= 2, 10, "A's keys")
        out: dict[str, Any] = {"held": len(await _down(display, inj) - before)}
        assert await b.key(X, False)
        assert await b.key(0xE9, False)  # é by its keysym, not its text
        await _until(lambda: link_b.gate.injected >= 2, 10, "B's releases")
        out["down_after_b"] = len(await _down(display, inj) - before)
        out["a_holds"] = set(link_a.gate.holding)
        out["b_holds"] = set(link_b.gate.holding)
        # A silent past the held silence (nothing of it held: no release due).
        link_a.channel.transport.pause_reading()
        await asyncio.sleep(HELD_SILENCE + 2)
        out["down_after_a_silent"] = len(await _down(display, inj) - before)
        out["lets"] = await _lets(events)
        out["untold"] = link_a.gate.untold
        link_a.channel.transport.resume_reading()
        return out

    got = _with_two_agents(scene)
    assert got["held"] == 2, got
    assert got["down_after_b"] == 0, f"a key A held stayed down after B's release: {got}"
    assert got["a_holds"] == set() and got["b_holds"] == set(), got
    assert got["down_after_a_silent"] == 0, got
    assert got["lets"] == [], f"A's silence said it let go of a key already up: {got}"
    assert got["untold"] is None, got
