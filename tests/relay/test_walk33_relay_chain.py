"""walk33: a session through a relay whose agent lost the link and came back
is recorded as one chain, as a direct one is
(tests/recording/test_termrec_resumed_chain.py).

Walked by hand (``screencodec relay``, ``host --relay ... --record DIR``,
``view --relay``, the agent's TCP connection killed with ``ss -K``, and a
relay restarted under the session): ``recordings verify DIR`` said of each
resumed link's file "resumes a session whose earlier link was not recorded
by this host's recorder", its consent event had ``"earlier": null``, and
``export``/``play`` showed the last part alone, though the earlier files
were beside it, written by the same recorder. Through a relay every link of
one agent has the same peer name ("relay HOST:PORT viewer IP": the viewer's
port is not seen), and the recorder kept its live recordings by peer name:
the resumed link's recording took the place of the one it resumes, still
open, and the resume ticket's issuer was looked for among the others.

A real Host with the real Recorder, a real Relay and Viewers over loopback;
the agent's link is cut by a proxy between the viewer and the relay (a
reset), or the relay itself restarts."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import Relay
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.permissions import Grant
from transport.helpers import LinkProxy, ended_lost

from .cluster import run, wait_for

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


@pytest.mark.parametrize("loss", ["the agent's link is cut", "the relay restarts"])
def test_walk33_a_resumed_link_through_a_relay_names_the_earlier_file(
    tmp_path: Path, loss: str
) -> None:
    async def main() -> Any:
        async def consent(request: ConsentRequest) -> Grant:
            return Grant(request.level)

        recorder = Recorder(tmp_path, host_id="test-host")
        host = Host(SyntheticDesktop(320, 240, scenario="typing", seed=5), consent=consent,
                    recorder=recorder)  # fmt: skip
        relay = Relay()
        await relay.start()
        port = relay.port
        proxy = LinkProxy(port)
        await proxy.start()
        creds = SessionCredentials()
        reg = await host_via_relay("127.0.0.1", port, creds, host.serve, timeouts=FAST,
                                   ping_interval=0.3, backoff_max=0.3)  # fmt: skip
        try:
            await reg.wait_registered(5)
            ch = await connect_via_relay("127.0.0.1", proxy.port, creds.code, creds.password,
                                         timeouts=FAST)  # fmt: skip
            viewer = Viewer(ch, who="Alice")
            assert await viewer.start(VIEW) == VIEW
            task = asyncio.ensure_future(viewer.run())
            await wait_for(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1)
            if loss == "the relay restarts":
                await relay.close()
                await ended_lost(viewer, task)
                relay = Relay(port=port)
                await relay.start()
                await wait_for(lambda: reg.state == "registered" and reg.registrations == 2, 10)
            else:
                proxy.cut()
                await ended_lost(viewer, task)
            ch2 = await connect_via_relay("127.0.0.1", proxy.port, creds.code, creds.password,
                                          timeouts=FAST)  # fmt: skip
            again = Viewer(ch2, who="Alice", resume=viewer.resume_ticket)
            assert await again.start(VIEW) == VIEW
            task2 = asyncio.ensure_future(again.run())
            await wait_for(lambda: again.decoded >= 1)
            await again.bye()
            await task2
        finally:
            await reg.close()
            await relay.close()
            await proxy.close()
            await host.close()
        sessions = await asyncio.to_thread(recorder.wait, 2, timeout=10.0)
        await asyncio.to_thread(recorder.close)
        return sessions

    first, second = sorted(run(main(), 60), key=lambda x: x.start_unix)
    # A relay shows one agent's two links alike; the second is numbered, as a
    # new link never takes a name that still points at a session (the first,
    # parked when its link was lost: takeover36), so that disconnect(peer=...)
    # names one session.
    assert second.peer == first.peer + " #2"
    with RecordingReader(second.path) as reader:
        (consent,) = [e for e in reader.events() if e["type"] == "consent"]
    assert consent["resumed"] is True
    whole = first.path.read_bytes()
    assert consent["earlier"] == {
        "file": first.path.name, "session_id": first.session_id,
        "sha256": hashlib.sha256(whole).hexdigest(), "bytes": len(whole)}
    with RecordingReader(second.path) as reader:
        report = reader.verify()
    assert report.status == "complete", report.describe()
    assert report.resumes is not None
    assert report.resumes.startswith(f"resumes the session of {first.path.name}: "), report.resumes
