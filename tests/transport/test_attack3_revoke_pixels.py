"""The local user stops sharing (``Host.revoke(VIEW)``) while the link to the
viewer is congested (a file on its way fills the socket, so the host's sends
wait in line), and a pointer poll that was under way returns just after the
stop. What the host reads of the screen after the user's stop must not leave:
the viewer, which reads on later, must see no Cursor and no Update after the
PermissionRevoke that took VIEW away, only the Bye. Real host and
hand-written viewer over a sealed channel on loopback; the pointer poll is
held (a slow X server) until the revoke has taken VIEW away. Expected outcome:
nothing of the screen after the revoke."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import numpy as np

from screencodec.capture.base import CursorState, SourceWrapper
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, HostConfig
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import allow
from screencodec.transport.session.permissions import VIEW

from .helpers import until
from .secure_fixtures import run


class _HeldPointer(SourceWrapper):
    """A desktop whose pointer moves at every poll; once ``hold`` is set, the
    next poll waits for ``release`` (and reads the pointer after it)."""

    def __init__(self) -> None:
        super().__init__(SyntheticDesktop(320, 240, scenario="video", seed=1))
        self.polls = 0
        self.hold = False
        self.held = threading.Event()
        self.release = threading.Event()
        self._shape = np.full((8, 8, 4), 255, np.uint8)

    def cursor(self) -> CursorState | None:
        if self.hold:
            self.hold = False
            self.held.set()
            self.release.wait(10)
        self.polls += 1
        return CursorState(self.polls % 300, 20, shape=self._shape)


def test_a_pointer_read_after_the_user_stopped_sharing_does_not_leave(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(16 << 20))

    async def main() -> list[str]:
        source = _HeldPointer()
        host = Host(source, consent=allow(), config=HostConfig(min_interval=0.0))
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "agent")))
            await until(lambda: bool(host.viewers))
            (link,) = host._runtime.links
            sending = asyncio.ensure_future(host.send_file(big, host.viewers[0]))
            while not isinstance(msg := m.decode(await ch.recv()), m.FileOffer):
                pass
            source.hold = True
            await ch.send(m.encode(m.FileAccept(msg.transfer, True)))
            await until(source.held.is_set)  # a poll is under way
            await asyncio.sleep(0.3)  # we do not read: the host's sends wait in line
            revoking = asyncio.ensure_future(host.revoke(VIEW))
            await until(lambda: VIEW not in link.level)
            source.release.set()  # the poll reads the pointer now, after the stop
            await asyncio.sleep(0.1)
            after: list[str] | None = None
            while True:
                msg = m.decode(await ch.recv())
                if isinstance(msg, m.PermissionRevoke):
                    assert VIEW.bits & msg.revoked
                    after = []
                elif after is not None and not isinstance(msg, m.FileChunk):
                    after.append(type(msg).__name__)
                    if isinstance(msg, m.Bye):
                        break
            await revoking
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            await ch.close()
            return after

    after = run(main(), timeout=60)
    assert after == ["Bye"], f"sent after the revoke: {after}"
