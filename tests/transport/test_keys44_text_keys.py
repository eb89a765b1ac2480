"""keys44: keys sent with only their text (keysym 0: a character the
agent's keymap lacks) held two at a time, and an agent's silent release
with another agent in control. Found (reasoned in review44, then here):
the gate kept all of an agent's keysym-0 keys as one entry, so a silent
release let go of the last of them only, and with one held by each agent
of neither; the count said what it did not let go of.

A real Xvfb, the host's real XTestInjector, a real Host and two Viewers on
loopback; what is down is read with XQueryKeymap.
"""

from __future__ import annotations

import asyncio
from typing import Any

from screencodec.transport import Host, Viewer
from screencodec.transport.input.xtest import XTestInjector
from screencodec.transport.session.events import InputLetGo
from screencodec.transport.session.held_silence import HELD_SILENCE

from .test_input44_two_agents import _let_go_events as _lets  # the name review44b imports
from .test_review44_two_agents import _until, _with_two_agents
from .test_type43_held_keys import _state

E_ACUTE, N_TILDE = "\u00e9", "\u00f1"  # on no key of Xvfb's US keymap: remapped


async def _down(display: str, inj: XTestInjector) -> set[int]:
    """The keycodes down once what the injector was given reached the server."""
    assert await asyncio.to_thread(inj.flush, 10)
    return (await asyncio.to_thread(_state, display))[0]


async def _silent(link: Any) -> None:
    """``link``'s agent goes silent (the host reads nothing more of it)
    until its held keys are let go of."""
    link.channel.transport.pause_reading()
    await _until(lambda: link.gate.released_silent == 1, HELD_SILENCE + 5, "the release")
    await asyncio.sleep(0.3)


def test_one_agent_holding_two_text_keys_goes_silent() -> None:
    """A holds é and ñ, sent as text; B also has control. A's silence lets
    go of both, and says 2 keys."""

    async def scene(display: str, host: Host, inj: XTestInjector, a: Viewer,
                    b: Viewer) -> dict[str, Any]:  # fmt: skip
        events = host.events()
        link_a = next(iter(host._runtime.links))  # A joined first
        before = await _down(display, inj)
        for ch in (E_ACUTE, N_TILDE):
            assert await a.key(0, True, ch)
        await _until(lambda: link_a.gate.injected >= 2, 10, "A's keys")
        out: dict[str, Any] = {"held": len(await _down(display, inj) - before)}
        await _silent(link_a)
        out["down_after"] = len(await _down(display, inj) - before)
        out["lets"], out["a_peer"] = await _lets(events), link_a.peer
        link_a.channel.transport.resume_reading()
        return out

    got = _with_two_agents(scene)
    assert got["held"] == 2, got
    assert got["down_after"] == 0, f"a key A held stayed down: {got}"
    assert got["lets"] == [InputLetGo(got["a_peer"], 2, 0, HELD_SILENCE)], got


def test_each_agent_holding_a_text_key_one_goes_silent() -> None:
    """A holds é, B ñ, both sent as text. B's silence lets go of ñ, not é
    (1 key said); A's release then lets é up: nothing stays down."""

    async def scene(display: str, host: Host, inj: XTestInjector, a: Viewer,
                    b: Viewer) -> dict[str, Any]:  # fmt: skip
        events = host.events()
        link_a, link_b = list(host._runtime.links)
        before = await _down(display, inj)
        assert await a.key(0, True, E_ACUTE)
        await _until(lambda: link_a.gate.injected >= 1, 10, "A's key")
        held_a = await _down(display, inj) - before
        assert await b.key(0, True, N_TILDE)
        await _until(lambda: link_b.gate.injected >= 1, 10, "B's key")
        out: dict[str, Any] = {"held": len(await _down(display, inj) - before)}
        await _silent(link_b)
        out["after_b_silent"] = await _down(display, inj) - before
        out["a_key_only"] = out["after_b_silent"] == held_a
        out["lets"], out["b_peer"] = await _lets(events), link_b.peer
        assert await a.key(0, False, E_ACUTE)
        await _until(lambda: link_a.gate.injected >= 2, 10, "A's release")
        out["after_a_release"] = len(await _down(display, inj) - before)
        link_b.channel.transport.resume_reading()
        return out

    got = _with_two_agents(scene)
    assert got["held"] == 2, got
    assert got["a_key_only"] is True, f"B's silence let go of other than its ñ: {got}"
    assert got["lets"] == [InputLetGo(got["b_peer"], 1, 0, HELD_SILENCE)], got
    assert got["after_a_release"] == 0, f"a key stayed down: {got}"
