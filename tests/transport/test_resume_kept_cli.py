"""`screencodec view` resumes a lost session on the picture it kept
(transport/session/kept.py): the real view command, an in-process host on
loopback behind a proxy the test cuts, so the host's link can be asked what
its first update after the resume was."""

from __future__ import annotations

import asyncio

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import listen_direct

from .helpers import Freezable, LinkProxy, run, until
from .test_view_cli_ux import read_until, stop, viewer


def test_view_resumes_on_its_picture_with_a_delta_not_a_keyframe() -> None:
    async def main() -> None:
        screen = Freezable(SyntheticDesktop(640, 400, scenario="typing", seed=5))
        host = Host(screen, consent=allow())
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        proxy = LinkProxy(listener.port)
        await proxy.start()
        view = viewer(f"127.0.0.1:{proxy.port}", "--code", creds.code,
                      "--password", creds.password, "--name", "Alice")  # fmt: skip
        try:
            await asyncio.to_thread(read_until, view, "decoded")
            (first,) = host._runtime.serving
            assert first.stream.keyframes_sent == 1  # the join
            proxy.cut()
            await asyncio.to_thread(read_until, view, "back in the session")
            (link,) = host._runtime.serving
            assert link is not first
            await until(lambda: link.stream.continuations + link.stream.keyframes_sent > 0,
                        10, "the first update")  # fmt: skip
            assert (link.stream.continuations, link.stream.keyframes_sent) == (1, 0)
        finally:
            stop(view)
            await proxy.close()
            await listener.close()
            await host.close()

    run(main(), 60)
