"""``screencodec view`` in a terminal says when the link to the host goes
silent, and takes it back when traffic returns (as the page does, within
3 s: web/bridge.py). A real ``host`` on a pty (a still synthetic screen)
and a real ``view`` subprocess through a loopback forwarder that stops
reading both sides: what each sends waits in TCP, as over a Wi-Fi gone,
and nothing is reset."""

from __future__ import annotations

import asyncio

from screencodec.cli.view import PROBED_SILENT_AFTER

from .helpers import LinkProxy, run
from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_ux import read_until, stop, viewer


class _HeldProxy(LinkProxy):
    """A :class:`LinkProxy` whose link can be held: neither side's socket is
    read (:meth:`hold`), and what they send flows on once it is let go."""

    def hold(self, on: bool) -> None:
        for pair in self._pairs:
            for writer in pair:
                transport = writer.transport
                if not transport.is_closing():
                    (transport.pause_reading if on else transport.resume_reading)()


def test_view_says_a_silent_link_and_takes_it_back_when_the_host_is_heard_again() -> None:
    """The link is held for 6 s (less than the 10 s after which a silent host
    that answered probes is taken for lost): the view says 'no word from the
    host for 3 s', then that the host is heard from again; the session goes on
    (no reconnection, nothing ended). The old view said nothing at all."""
    host = PtyHost("--scenario", "idle")
    port, code, password = _credentials(host)

    async def main() -> None:
        way = _HeldProxy(port)
        await way.start()
        view = viewer(f"127.0.0.1:{way.port}", "--code", code, "--password", password,
                      "--name", "Alice")  # fmt: skip
        try:
            await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            host.type("y")
            await asyncio.to_thread(read_until, view, "decoded")
            # A still screen: the channel's probes are answered meanwhile (a
            # quiet host is not a silent one, and is not said to be).
            await asyncio.sleep(2 * PROBED_SILENT_AFTER)
            way.hold(True)
            try:
                said = await asyncio.to_thread(read_until, view, "may not be live", 9)
            finally:
                await asyncio.sleep(6 - PROBED_SILENT_AFTER)
                way.hold(False)
            assert "(no word from the host for 3 s: the picture may not be live" in said, said
            back = await asyncio.to_thread(read_until, view, "heard from again", 10)
            assert "reconnect" not in back.replace("the view reconnects", ""), back
            assert "session ended" not in back, back
            assert view.poll() is None
            # Nor did the host lose the agent's connection meanwhile.
            assert "may reconnect" not in host.text and "was lost" not in host.text, host.text
        finally:
            stop(view)
            await way.close()

    try:
        run(main(), 60)
    finally:
        host.close()
