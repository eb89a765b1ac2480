"""Who ended control, in the audit log: the agent giving CONTROL back (the
web page's "Give back control", ``Viewer.release``) and the host's user
taking it back (``Host.revoke``, ``/view``) were both one ``revoke`` event
with the same fields, so an auditor could not tell who stopped controlling.
Found by a first-time walkthrough (``recordings export --log``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture import open_source
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import CONTROL, VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input import RecordingInjector

from .helpers import until


def test_revoke_says_who_ended_control(tmp_path: Path) -> None:
    async def main() -> list[dict[str, object]]:
        recorder = Recorder(tmp_path, host_id="test-host")
        source = open_source("synthetic", width=160, height=120, scenario="idle", seed=1)
        host = Host(source, consent=allow(), recorder=recorder, injector=RecordingInjector())
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        async with listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch, who="Alice")
            await viewer.start(VIEW | CONTROL)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: CONTROL in viewer.level, what="control")
            assert await viewer.release(CONTROL)  # the agent gives it back
            assert await viewer.request(CONTROL, 10)
            await host.revoke(CONTROL)  # the host's user takes it back
            await until(lambda: CONTROL not in viewer.level, what="taken back")
            await viewer.bye("done")
            await task
            (done,) = await asyncio.to_thread(recorder.wait, 1)
        await host.close()
        with RecordingReader(done.path) as reader:
            return reader.events()

    events = asyncio.run(asyncio.wait_for(main(), 60))
    revokes = [(e["level"], e["remaining"], e.get("by")) for e in events if e["type"] == "revoke"]
    assert revokes == [("control", "view", "agent"), ("control", "view", "host")]
