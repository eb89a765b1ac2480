"""``screencodec view`` in a terminal says when the link to the host goes
silent, and takes it back when traffic returns (as the page does, within
3 s: web/bridge.py). A real ``host`` on a pty (a still synthetic screen)
and a real ``view`` subprocess through a loopback forwarder that stops
reading both sides: what each sends waits in TCP, as over a Wi-Fi gone,
and nothing is reset."""

from __future__ import annotations

from .helpers import LinkProxy


class _HeldProxy(LinkProxy):
    """A :class:`LinkProxy` whose link can be held: neither side's socket is
    read (:meth:`hold`), and what they send flows on once it is let go."""

    def hold(self, on: bool) -> None:
        for pair in self._pairs:
            for writer in pair:
                transport = writer.transport
                if not transport.is_closing():
                    (transport.pause_reading if on else transport.resume_reading)()


# The view's words for a held link (no word from the host for 3 s, heard from
# again, no reconnection) are asserted in the same session as the host's:
# test_silent38_host_hears.py's first test (time43 made the two one).
