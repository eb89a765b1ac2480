"""review40b: a host whose program fails as it takes up a lost session
(the agent's view back with its ticket; the screen opened again fails):
odds40's code says so (``HostFailedError`` at the resumed start), and
``view`` ends with status 1, an error of the host's, as a failure at the
first start or mid-session does (docs/cli.md). Found: status 5 (lost),
the code not read on that path.

Real sockets on loopback: an embedding Host (``share``) whose screen
opens the first time only, a proxy the test resets, a real ``view``."""

from __future__ import annotations

import asyncio

from screencodec.capture import FrameSource, SyntheticDesktop
from screencodec.transport import allow, share
from screencodec.transport.session.refusal import HOST_FAILED

from .helpers import LinkProxy, run
from .secure_fixtures import FAST
from .test_view_cli_ux import read_until, stop, viewer


def test_a_host_failing_as_it_takes_the_session_up_ends_view_with_status_1() -> None:
    opened: list[int] = []

    def screen(index: int) -> FrameSource:
        opened.append(index)  # under the synthetic desktop's 64x64 the second time: fails
        return SyntheticDesktop(320, 240) if len(opened) == 1 else SyntheticDesktop(10, 10)

    async def main() -> tuple[int, str, str]:
        async with share(screen, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s:
            proxy = LinkProxy(s.address[1])
            await proxy.start()
            view = viewer(f"127.0.0.1:{proxy.port}", "--code", s.code, "--password",
                          s.password, "--name", "Dave")  # fmt: skip
            try:
                said = await asyncio.to_thread(read_until, view, "decoded")
                await asyncio.sleep(1)  # its ticket shown
                proxy.cut()
                out, err = await asyncio.to_thread(view.communicate, timeout=60)
                return view.returncode, said + out.decode(), err.decode()
            finally:
                stop(view)
                await proxy.close()

    status, out, err = run(main(), 120)
    assert len(opened) == 2  # taken up, and its screen failed then
    assert HOST_FAILED in out + err, (out, err)
    assert status == 1, (status, out, err)
