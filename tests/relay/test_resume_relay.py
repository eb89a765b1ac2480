"""A relay restarts under a live session: the host registers again, the
agent's viewer reconnects with its session's ticket, and the session goes on
without the host's user being asked again (transport/session/resume.py)."""

from __future__ import annotations

import asyncio

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import CONTROL, VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.relay import Relay
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.events import SessionResumed
from screencodec.transport.session.permissions import Grant
from transport.helpers import ended_lost

from .cluster import run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


def test_a_relay_restart_is_resumed_without_a_second_question() -> None:
    async def main() -> None:
        asked: list[ConsentRequest] = []

        async def consent(request: ConsentRequest) -> Grant:
            asked.append(request)
            return Grant(request.level)

        screen = SyntheticDesktop(320, 240, scenario="typing", seed=5)
        host = Host(screen, consent=consent, injector=RecordingInjector())
        events = host.events()
        relay = Relay()
        await relay.start()
        port = relay.port
        creds = SessionCredentials()

        async def serve(channel: SecureChannel) -> None:
            await host.serve(channel)

        reg = await host_via_relay("127.0.0.1", port, creds, serve, timeouts=FAST,
                                   ping_interval=0.3, backoff_max=0.3)  # fmt: skip
        try:
            await reg.wait_registered(5)
            ch = await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                         timeouts=FAST)  # fmt: skip
            viewer = Viewer(ch, who="Alice")
            assert await viewer.start(VIEW | CONTROL) == VIEW | CONTROL
            task = asyncio.ensure_future(viewer.run())
            await wait_for(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1)
            await relay.close()  # every relayed stream ends
            await ended_lost(viewer, task)
            assert viewer.resume_ticket is not None
            relay = Relay(port=port)
            await relay.start()
            await wait_for(lambda: reg.state == "registered" and reg.registrations == 2, 10)
            ch2 = await connect_via_relay("127.0.0.1", port, creds.code, creds.password,
                                          timeouts=FAST)  # fmt: skip
            again = Viewer(ch2, who="Alice", resume=viewer.resume_ticket)
            # Expected: the levels held before, and no second question.
            assert await again.start(VIEW | CONTROL) == VIEW | CONTROL
            assert len(asked) == 1
            task2 = asyncio.ensure_future(again.run())
            await wait_for(lambda: again.decoded >= 1)
            while not isinstance(ev := await asyncio.wait_for(anext(events), 5), SessionResumed):
                pass
            assert ev.who == "Alice" and ev.level == VIEW | CONTROL
            await again.bye()
            await task2
        finally:
            await reg.close()
            await relay.close()
            await host.close()

    run(main(), 60)
