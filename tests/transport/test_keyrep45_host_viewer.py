"""keyrep45 end to end: a real Host with the real XTestInjector on Xvfb and a
real Viewer on loopback. A link that stalls between the agent's press and
its release (the host reads nothing for 2 s) types the key once; a key the
agent holds, its keyboard repeating it (the page sends each repeated
keydown as a press, as a browser gives them), types once per press.

Found on main (the same test): 35 f's for the stalled press (X's own repeat
from 660 ms at 25 a second), and 1 f for the 10 presses of the held key.
"""

from __future__ import annotations

import asyncio

from Xlib import XK

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import Host, HostConfig, allow
from screencodec.transport.input.xtest import XTestInjector

from .secure_fixtures import controlled_host, run
from .test_keyrep45_no_host_repeat import STALL, Counter
from .test_type43_held_keys import _until

F = XK.string_to_keysym("f")


def _typed(how: str) -> list[int]:
    """The keycodes an X client of ours got pressed, for the agent's ``how``."""
    with private_xvfb(320, 240) as display:
        counter = Counter(display)

        async def main() -> None:
            injector = XTestInjector(display)
            host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                        injector=injector, config=HostConfig())  # fmt: skip
            async with controlled_host(host) as (viewer, _):
                await asyncio.sleep(1.5)  # past the grant's in-flight window
                assert await viewer.key(F, True, "f")
                await _until(display, True, 10)  # the press is at the X server
                if how == "stalled":
                    link = next(iter(host._runtime.serving))
                    link.channel.transport.pause_reading()  # nothing more comes
                    await asyncio.sleep(STALL)
                    link.channel.transport.resume_reading()
                else:  # held: the agent's keyboard repeats it, 30 a second
                    for _ in range(9):
                        await asyncio.sleep(0.033)
                        assert await viewer.key(F, True, "f")
                assert await viewer.key(F, False)
                await _until(display, False, 10)

        try:
            run(main(), timeout=60)
            return counter.read()
        finally:
            counter.close()


def test_a_press_on_a_link_that_stalls_before_its_release_is_typed_once() -> None:
    typed = _typed("stalled")
    assert typed == [typed[0]], typed


def test_each_press_of_a_key_the_agent_holds_is_typed() -> None:
    typed = _typed("held")
    assert len(typed) == 10 and set(typed) == {typed[0]}, typed
