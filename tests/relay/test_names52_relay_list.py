"""names52: one agent resumed twice through a relay reads as one agent in
``recordings list``. walk52 listed it ``(relay ... viewer 127.0.0.1)``, then
``(... #3)``, then ``(... #5)``: through a relay every link of one agent
has the same address and the host numbers each new link, so each part
carried a name of its own, as if three agents had taken part. Every row now
names the agent as the first part does (the name the host's user was asked
about), each later part its own link's name after ``as``; with the first
part pruned, the two left still do (their consent event's ``first_peer``).

A real Host with the real Recorder, a real Relay and Viewers over loopback;
the agent's link is cut twice by a proxy between the viewer and the relay
(a reset, walk33's set-up); the real CLI lists the folder."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from recording.test_attack_craft import cli, no_traceback
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.recording import Recorder
from screencodec.transport import VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.relay import Relay
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.permissions import Grant
from transport.helpers import LinkProxy, ended_lost

from .cluster import run, wait_for
from .test_walk33_relay_chain import FAST


def _resumed_twice(folder: Path) -> list[Any]:
    """The recordings of one agent's session through a relay, its link cut
    twice: first to last."""

    async def main() -> Any:
        async def consent(request: ConsentRequest) -> Grant:
            return Grant(request.level)

        recorder = Recorder(folder, host_id="test-host")
        host = Host(SyntheticDesktop(320, 240, scenario="typing", seed=5), consent=consent,
                    recorder=recorder)  # fmt: skip
        relay = Relay()
        await relay.start()
        proxy = LinkProxy(relay.port)
        await proxy.start()
        creds = SessionCredentials()
        reg = await host_via_relay("127.0.0.1", relay.port, creds, host.serve, timeouts=FAST,
                                   ping_interval=0.3, backoff_max=0.3)  # fmt: skip
        try:
            await reg.wait_registered(5)
            ticket = None
            for link in range(3):
                ch = await connect_via_relay("127.0.0.1", proxy.port, creds.code,
                                             creds.password, timeouts=FAST)  # fmt: skip
                viewer = Viewer(ch, who="Alice", resume=ticket)
                assert await viewer.start(VIEW) == VIEW
                task = asyncio.ensure_future(viewer.run())
                await wait_for(lambda v=viewer: v.resume_ticket is not None and v.decoded >= 1)
                if link < 2:
                    ticket = viewer.resume_ticket
                    proxy.cut()
                    await ended_lost(viewer, task)
            await viewer.bye()
            await task
        finally:
            await reg.close()
            await relay.close()
            await proxy.close()
            await host.close()
        sessions = await asyncio.to_thread(recorder.wait, 3, timeout=10.0)
        await asyncio.to_thread(recorder.close)
        return sessions

    return sorted(run(main(), 90), key=lambda x: x.start_unix)


def test_names52_an_agent_resumed_twice_through_a_relay_lists_as_one(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    parts = _resumed_twice(folder)
    peers = [p.peer for p in parts]
    assert len(set(peers)) == 3 and all(p.startswith("relay ") for p in peers), peers
    assert peers[1].startswith(peers[0] + " #"), peers  # walk52's "#3", "#5"
    done = cli("list", folder)
    no_traceback(done)
    rows = done.stdout.splitlines()[1:]
    assert len(rows) == 3, done.stdout
    for n, (row, part) in enumerate(zip(rows, parts, strict=True), 1):
        # The old rows: "Alice (relay ...)", "Alice (relay ... #2)", ...
        assert f"complete  Alice ({peers[0]})  part {n} of 3" in row, row
        assert row.endswith(f"  {part.path.name}"), row
        if n > 1:
            assert f"(its link was lost and resumed as {part.peer}; unsigned" in row, row

    # The first part pruned: the two left still name the agent so.
    pruned = tmp_path / "pruned"
    pruned.mkdir()
    for part in parts[1:]:
        shutil.copy2(part.path, pruned / part.path.name)
    done = cli("list", pruned)
    no_traceback(done)
    rows = done.stdout.splitlines()[1:]
    assert len(rows) == 2, done.stdout
    for row, part in zip(rows, parts[1:], strict=True):
        assert f"complete  Alice ({peers[0]})  a later part (its link was lost and resumed as " \
               f"{part.peer}; " in row, row
