"""type43: a chord held down on the host (``/key Ctrl+Alt+T`` half-way)
when the agent's link breaks or the host's user takes control back: no key
stays down on the host's X server.

A real Xvfb, the host's real XTestInjector, a real Host and Viewer on
loopback; what is down is read with XQueryKeymap (python-xlib).
"""

from __future__ import annotations

import asyncio

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.capture.xvfb import private_xvfb
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input.xtest import XTestInjector

from .secure_fixtures import FAST, run

CTRL, ALT = 0xFFE3, 0xFFE9


def _down(display: str) -> list[int]:
    from Xlib.display import Display

    d = Display(display)
    try:
        keymap = d.query_keymap()
    finally:
        d.close()
    return [i * 8 + b for i, byte in enumerate(keymap) for b in range(8) if byte >> b & 1]


async def _until(display: str, want_down: bool, within: float) -> float:
    """Seconds until some key is down (``want_down``) or none is."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while bool(await asyncio.to_thread(_down, display)) != want_down:
        assert loop.time() - start < within, f"keys down: {_down(display)}"
        await asyncio.sleep(0.05)
    return loop.time() - start


def _chord_cut(how: str) -> float:
    with private_xvfb(320, 240) as display:

        async def main() -> float:
            creds = SessionCredentials()
            injector = XTestInjector(display)
            host = Host(SyntheticDesktop(160, 120, scenario="idle", seed=1), consent=allow(),
                        injector=injector, config=HostConfig())  # fmt: skip
            serving: asyncio.Queue[asyncio.Task[str]] = asyncio.Queue()
            # A silent link ends by the default timeouts (FAST has no idle).
            timeouts = Timeouts() if how == "silent" else FAST
            listener = await listen_direct(
                "127.0.0.1", 0, creds,
                lambda ch: serving.put_nowait(asyncio.ensure_future(host.serve(ch))),
                timeouts=timeouts,
            )  # fmt: skip
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password, timeouts=timeouts)  # fmt: skip
            viewer = Viewer(channel)
            await viewer.start(VIEW | CONTROL)
            serve = await serving.get()
            running = asyncio.ensure_future(viewer.run())
            try:
                await asyncio.sleep(1.5)  # past the grant's in-flight window
                for k in (CTRL, ALT):  # Ctrl+Alt down, the T never comes
                    assert await viewer.key(k, True)
                await _until(display, True, 10)
                if how == "revoked":
                    await host.revoke(CONTROL)
                elif how == "silent":  # the host hears nothing more (no FIN)
                    link = next(iter(host._runtime.serving))
                    link.channel.transport.pause_reading()
                else:  # the agent's link breaks
                    channel.transport.abort()
                return await _until(display, False, 120)
            finally:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                await host.close()
                await listener.close()
                serve.cancel()
                await asyncio.gather(serve, return_exceptions=True)

        return run(main(), timeout=180)


def test_a_chord_cut_by_a_broken_link_is_let_go_of_on_the_host() -> None:
    # Measured: 0.01 s (2 runs): the host's link ends, and lets go.
    assert _chord_cut("link") < 20


def test_a_chord_cut_by_control_taken_back_is_let_go_of_on_the_host() -> None:
    # Measured: 0.00-0.04 s (2 runs): the revocation lets go.
    assert _chord_cut("revoked") < 20


@pytest.mark.xfail(strict=True, reason=(
    "found: a link gone silent (no FIN: Wi-Fi dropped) leaves the agent's Ctrl+Alt down on"
    " the host until the channel's timeouts.cold ends it, 15.0 s (1 run); a key the customer"
    " presses meanwhile may combine with them (not checked: the local-input release is"
    " made on seeing that key)."
    " expected: the host lets go of held keys once the agent's keep-warm records stop"
    " (a few seconds), before its own user's keys combine with them"))  # fmt: skip
def test_a_chord_cut_by_a_silent_link_is_let_go_of_within_seconds() -> None:
    assert _chord_cut("silent") < 5
