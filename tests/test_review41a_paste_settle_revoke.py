"""review41a: the paste settle (walk41: the injector's worker holds the
agent's next actions 0.1 s after each paste) and a revoke.

Found: ``InputGate`` lets the agent's input through while it holds CONTROL
and queues it on the injector; a revoke (or the local user taking over)
calls ``release_all``, queued after it. With 0.1 s per paste, a burst of
pastes held the rest of the burst for seconds, and all of it, queued before
the revoke, was injected after it: here a pointer move queued behind 20
middle-button pastes reached the X server 2 s after ``release_all``.
Before walk41 the queue drained within milliseconds. Expected: nothing the
agent queued before ``release_all`` is injected after it.

A real Xvfb and the host's XTestInjector; the agent's burst queued at once,
as a burst arrives; the pointer's position read from the X server."""

from __future__ import annotations

from screencodec.capture.xvfb import private_xvfb
from screencodec.transport.input.xtest import XTestInjector

PASTES = 20


def test_release_all_drops_the_agents_input_queued_behind_pastes() -> None:
    with private_xvfb(640, 480) as display:
        inj = XTestInjector(display)
        try:
            inj.pointer_move(10, 10)
            assert inj.flush(10)
            assert inj.query_pointer() == (10, 10)
            for _ in range(PASTES):  # the middle button pastes: each held 0.1 s
                inj.button(2, True)
                inj.button(2, False)
            inj.pointer_move(300, 200)  # the agent's next action, behind them
            inj.release_all()  # CONTROL revoked now (Host.revoke, a local user)
            assert inj.flush(10)
            assert inj.query_pointer() == (10, 10), "a move queued before the revoke went after it"
        finally:
            inj.close()
