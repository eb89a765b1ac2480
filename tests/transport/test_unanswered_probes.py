"""A link that goes silent is taken for lost within seconds, not 45
(channel/sealed.py, ``Timeouts.unanswered``).

Real host and viewer on loopback through a proxy that loses what the host
sends from a moment on (a Wi-Fi gone one way: no reset, nothing arrives).
The viewer's channel probes a silent host; once a host has answered a probe,
hearing nothing for ``unanswered`` seconds means the link is gone, and the
session resumes with its ticket on a new connection, the host's user not
asked again.
"""

from __future__ import annotations

import pytest

from screencodec.transport import VIEW
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel

from .helpers import bgr_equal, run, until
from .test_resume import _granted, _Setup

# The host's own idle limit stays 45 s: it still holds the old link when
# the viewer comes back, which moves the session over (resume.py).
_VIEWER = Timeouts(handshake=5.0, idle=45.0, keepalive=None, probe=0.3, unanswered=1.5)


def test_a_silent_host_that_answered_probes_is_taken_for_lost_and_the_session_resumes(
) -> None:
    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW, timeouts=_VIEWER)
            ticket = await _granted(viewer)
            await until(lambda: viewer.channel.answers_probes, 10, "a probe answered")
            s.proxy.mute("host")  # nothing the host sends arrives from now on
            reason = await task
            assert viewer.link_lost
            assert reason.endswith("nothing received for 1.5 s (peer gone)"), reason
            s.proxy.muted = None
            again, task2 = await s.join(VIEW, resume=ticket, timeouts=_VIEWER)
            assert len(s.asked) == 1  # resumed, not asked again
            s.screen.frozen = True
            await until(lambda: bgr_equal(again.framebuffer, s.screen.grab()), 10, "exact")
            await again.bye()
            await task2

    run(main(), 60)


def test_a_host_that_never_answered_a_probe_keeps_the_idle_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host of an earlier version reads probes as keepalives and answers
    nothing: its silence is not taken for a lost link before ``idle``."""
    monkeypatch.setattr(SecureChannel, "_on_keepalive", lambda self, body: None)
    quiet = Timeouts(handshake=5.0, idle=3.0, keepalive=None, probe=0.3, unanswered=1.0)

    async def main() -> None:
        async with _Setup() as s:
            viewer, task = await s.join(VIEW, timeouts=quiet)
            await _granted(viewer)
            assert not viewer.channel.answers_probes
            s.proxy.mute("host")
            reason = await task
            assert viewer.link_lost
            assert reason.endswith("nothing received for 3 s (peer gone)"), reason

    run(main(), 60)
