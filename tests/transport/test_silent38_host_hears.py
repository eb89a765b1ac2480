"""silent38: the host's user is told when the agent's link goes silent.

walk38: with the agent's network gone silent (no reset: a Wi-Fi drop, a
proxy that stops forwarding) the view said "no word from the host for 3 s"
at once and reconnected after 10 s, but the host's terminal went on showing
"YOUR SCREEN IS BEING SHARED WITH 'Dave'" and the last ``[shared]`` figures
for the 45 s of its idle limit, then "may reconnect within 60 s": about
105 s of an agent gone for good shown as watching. Expected: a line within
seconds that the agent's link is silent, and one when it is heard again;
never one of a present agent on a still screen. The view says the same of
the host, in the same session (terms4).

Real ``host`` (on a pty) and ``view`` processes, through a loopback forwarder
that stops reading both sides: what each sends waits in TCP, as over a Wi-Fi
gone, and nothing is reset. The link is held for 8.5 s, under the 10 s after
which the view takes a silent host for lost, so the same link comes back."""

from __future__ import annotations

import asyncio

from screencodec.cli.host_lines import WARM_SILENT_AFTER
from screencodec.cli.view import PROBED_SILENT_AFTER
from screencodec.transport import VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct

from .helpers import run, until
from .test_attack_prompts import PtyHost, _credentials
from .test_cursor import StillScreen  # still desktop, walking pointer: no receipt to send
from .test_terms4_view_silence import _HeldProxy
from .test_view_cli_ux import read_until, stop, viewer

SILENT = (r"no word from 'Dave' \(127\.0\.0\.1:\d+\) for (\d+) s: their connection may be"
          r" down; your screen is not reaching them")  # fmt: skip
HELD = 8.5  # under the view's 10 s (Timeouts.unanswered): the link comes back
PRESENT = 20.0  # a still desktop (a caret, a clock) with the agent there: no line
#: The window over which the host must hear a viewer on a still screen with
#: a moving pointer: twice the gap it says silent after. Before silent38 it
#: heard it at the 15 s keepalive only (the gap then grows to the window);
#: 20 s till time44.
WINDOW = 2 * WARM_SILENT_AFTER


def test_the_host_says_a_silent_agent_within_seconds_and_when_heard_again() -> None:
    """Both ends of one held link (time43: test_terms4_view_silence.py's test,
    the view's end, held the same link of the same host and view 6 s): the
    view says "no word from the host for 3 s" and that the host is heard
    from again (the old view said nothing at all), the host that the agent
    is silent and heard again; the session goes on (no reconnection,
    nothing ended)."""
    host = PtyHost("--scenario", "idle")
    port, code, password = _credentials(host)

    async def main() -> None:
        way = _HeldProxy(port)
        await way.start()
        view = viewer(f"127.0.0.1:{way.port}", "--code", code, "--password", password,
                      "--name", "Dave")  # fmt: skip
        try:
            await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
            host.type("y")
            await asyncio.to_thread(read_until, view, "decoded")
            # A still screen with the agent there, past the host's 15 s
            # keepalive: the channel's probes are answered meanwhile (a quiet
            # host is not a silent one, and is not said to be), and the host
            # never says the present agent silent (time44: this was a test
            # of its own, its own host and view, 20 s).
            await asyncio.sleep(max(2 * PROBED_SILENT_AFTER, PRESENT))
            assert "no word from" not in host.text, host.text
            assert view.poll() is None
            mark = len(host.text)
            loop = asyncio.get_running_loop()
            held_at = loop.time()
            way.hold(True)
            try:
                # Found: nothing for 45 s (the host's idle limit); the view, nothing.
                found, said = await asyncio.gather(
                    asyncio.to_thread(host.wait_for, SILENT, mark, HELD - 1),
                    asyncio.to_thread(read_until, view, "may not be live", 9),
                )
            finally:
                await asyncio.sleep(max(0.0, held_at + HELD - loop.time()))
                way.hold(False)
            assert "(no word from the host for 3 s: the picture may not be live" in said, said
            assert int(found.group(1)) in range(int(WARM_SILENT_AFTER), int(HELD) + 1), found
            back = await asyncio.to_thread(
                host.wait_for, r"'Dave' \(127\.0\.0\.1:\d+\) is heard again \(after \d+ s of"
                               r" silence\)", found.end(), 10)  # fmt: skip
            between = host.text[found.end():back.start()]
            # No figures of the silent link shown as current meanwhile.
            assert "[shared]" not in between, between
            heard = await asyncio.to_thread(read_until, view, "heard from again", 10)
            assert "reconnect" not in heard.replace("the view reconnects", ""), heard
            assert "session ended" not in heard, heard
            assert "may reconnect" not in host.text and "ended" not in host.text, host.text
            assert "was lost" not in host.text, host.text
            assert view.poll() is None
        finally:
            stop(view)
            await way.close()

    try:
        run(main(), 90)
    finally:
        host.close()


def test_a_still_screen_with_a_moving_pointer_hears_the_viewer_every_few_seconds() -> None:
    """The case a viewer's probes do not cover: the host sends (the pointer's
    positions, under 2 s apart) and the viewer has nothing to answer, so it
    neither probes nor sends a receipt; before, the host heard it only at
    its 15 s keepalive. Real sealed channels over loopback, 12 s."""

    async def main() -> float:
        host = Host(StillScreen(), consent=allow(), config=HostConfig(cursor_rate=20))
        creds = SessionCredentials()

        async def serve(channel: SecureChannel) -> None:
            await host.serve(channel)

        async with await listen_direct("127.0.0.1", 0, creds, serve) as listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer_ = Viewer(ch)
            await viewer_.start(VIEW)
            task = asyncio.ensure_future(viewer_.run())
            await until(lambda: viewer_.pointer.positions_received >= 5, 20, "pointer moves")
            loop = asyncio.get_running_loop()
            worst, end = 0.0, loop.time() + WINDOW
            while loop.time() < end:
                await asyncio.sleep(0.25)
                ((heard, warm),) = host.heard().values()
                assert warm, "the viewer did not say it keeps the link warm"
                if heard is not None:  # (None: the host busy with a record)
                    worst = max(worst, loop.time() - heard)
            await viewer_.bye()
            await task
        await host.close()
        return worst

    worst = run(main(), 60)
    assert worst < WARM_SILENT_AFTER, worst
