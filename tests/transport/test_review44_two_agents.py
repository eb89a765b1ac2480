"""review44: input44's per-agent release of held keys, attacked with two
agents that both have control of one host.

A real Xvfb, the host's real XTestInjector, a real Host and two Viewers on
loopback; what is down, and where the pointer is, read from the X server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, Host, HostConfig, Viewer, allow
from screencodec.transport.input.xtest import XTestInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.held_silence import HELD_SILENCE

from .secure_fixtures import run, served
from .test_input44_two_agents import SHIFT_L, _let_go_events
from .test_type43_held_keys import _keycode, _state

#: Middle-button pastes B queues: the injector holds the next action 0.1 s
#: after each (PASTE_SETTLE), so what follows waits ~2 s in its queue.
PASTES = 20

Scene = Callable[[str, Host, XTestInjector, Viewer, Viewer], Awaitable[dict[str, Any]]]


def _with_two_agents(scene: Scene) -> dict[str, Any]:
    """Run ``scene(display, host, injector, a, b)``: agents A and B both
    with control, past the grants' in-flight window."""
    with private_xvfb(640, 480) as display:

        async def main() -> dict[str, Any]:
            inj = XTestInjector(display)
            host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                        injector=inj, config=HostConfig())  # fmt: skip
            async with served(host) as s:
                a, b = await s.viewer(), await s.viewer()
                for v in (a, b):
                    s.spawn(v.run())
                await asyncio.sleep(1.5)  # past the grants' in-flight window
                return await scene(display, host, inj, a, b)

        return run(main(), timeout=90)


async def _until(what: Callable[[], bool], within: float, why: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not what():
        assert loop.time() < end, why
        await asyncio.sleep(0.02)


def test_revoking_one_of_two_agents_drops_its_input_still_queued() -> None:
    """review41a's guarantee with a second agent present. Found: input44's
    release_input_of lets go of B's own keys one by one when A also has
    control, and no longer voids the injector's queue: B's pointer move,
    queued behind 20 pastes before the host's user took B's control back,
    reached the X server ~2 s after the revoke (with one agent,
    release_all drops it). Expected: nothing B queued before the revoke is
    carried out after it; A keeps its held Shift."""

    async def scene(display: str, host: Host, inj: XTestInjector, a: Viewer,
                    b: Viewer) -> dict[str, Any]:  # fmt: skip
        shift = _keycode(display, SHIFT_L)
        assert await a.key(SHIFT_L, True)
        assert await b.pointer_move(10, 10)
        await _until(lambda: inj.last_position == (10, 10), 10, "B's first move")
        assert await asyncio.to_thread(inj.flush, 10)
        for _ in range(PASTES):
            assert await b.button(2, True)
            assert await b.button(2, False)
        assert await b.pointer_move(150, 100)  # behind the pastes
        await _until(lambda: inj.last_position == (150, 100), 10, "B's move queued")
        link_b = next(x for x in host._runtime.serving if ("button", 2) not in x.gate.holding
                      and ("key", SHIFT_L) not in x.gate.holding)  # fmt: skip
        await host.revoke(CONTROL, link_b.peer)
        assert await asyncio.to_thread(inj.flush, 20)
        keys, _ = await asyncio.to_thread(_state, display)
        return {"pointer": await asyncio.to_thread(inj.query_pointer),
                "a_shift_down": shift in keys}

    got = _with_two_agents(scene)
    assert got["a_shift_down"] is True, got
    assert got["pointer"] == (10, 10), f"a move B queued before the revoke went after it: {got}"


def test_an_agent_pressing_the_key_the_other_holds_then_going_silent() -> None:
    """A holds Shift_L; B presses Shift_L too, then its link goes silent.
    Expected: B's silence lets go of nothing A holds (Shift_L stays down:
    A's release is what lets it up), and as it let go of nothing nobody is
    told (keys44: the host's user and B were told '1 key', which stayed
    down). Then B, heard again, releases Shift_L, which A pressed: with
    control it drives the one keyboard, so it goes up (an agent that may
    type anything is not kept from that), and A's gate no longer lists it
    (keys44: its silence then would be said to let go of it)."""

    async def scene(display: str, host: Host, inj: XTestInjector, a: Viewer,
                    b: Viewer) -> dict[str, Any]:  # fmt: skip
        shift = _keycode(display, SHIFT_L)
        events = host.events()
        assert await a.key(SHIFT_L, True)
        await _until(lambda: sum(("key", SHIFT_L) in x.gate.holding
                                 for x in host._runtime.serving) == 1, 10, "A's Shift")  # fmt: skip
        link_a = next(x for x in host._runtime.serving if ("key", SHIFT_L) in x.gate.holding)
        link_b = next(x for x in host._runtime.serving if x is not link_a)
        assert await b.key(SHIFT_L, True)
        await _until(lambda: ("key", SHIFT_L) in link_b.gate.holding, 10, "B's Shift")
        loop = asyncio.get_running_loop()
        start = loop.time()
        link_b.channel.transport.pause_reading()
        await _until(lambda: link_b.gate.released_silent == 1, HELD_SILENCE + 5, "B let go of")
        await asyncio.sleep(0.3)
        out: dict[str, Any] = {"after": loop.time() - start}
        out["shift_down_after_b_silent"] = shift in (await asyncio.to_thread(_state, display))[0]
        out["a_holding"] = sorted(link_a.gate.holding)
        out["lets"], out["b_peer"] = await _let_go_events(events), link_b.peer
        link_b.channel.transport.resume_reading()
        assert await b.key(SHIFT_L, False)  # B's own press (nothing let go of it)
        await _until(lambda: link_b.gate.injected >= 2, 10, "B's release")
        assert await asyncio.to_thread(inj.flush, 10)
        out["shift_down_after_b_release"] = shift in (await asyncio.to_thread(_state, display))[0]
        out["a_holding_after"] = sorted(link_a.gate.holding)
        out["b_told"] = [n.text for n in b.notices if n.code == m.Notice.HELD_RELEASED]
        assert await a.key(SHIFT_L, False)
        return out

    got = _with_two_agents(scene)
    assert got["shift_down_after_b_silent"] is True, got
    assert got["a_holding"] == [("key", SHIFT_L)], got
    assert got["lets"] == [], got
    assert got["b_told"] == [], got
    assert got["shift_down_after_b_release"] is False, got
    assert got["a_holding_after"] == [], got
