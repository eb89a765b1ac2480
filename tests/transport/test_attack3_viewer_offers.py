"""A host that breaks the file-offer rules towards the agent's viewer: the
same transfer number offered twice. On the host side such an offer from a
viewer ends the session (ProtocolError); on the viewer it was checked inside
a task of its own, whose failure nobody read: the second offer was never
answered (the host waits for an answer that does not come) and asyncio logged
"Task exception was never retrieved" on the agent's terminal, once per such
offer. Real host (its session sends the crafted offers) and real Viewer over
a sealed channel on loopback. Expected outcome: the viewer ends the session
with a ProtocolError naming the offer, as the host would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ProtocolError
from screencodec.transport import VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import until
from .secure_fixtures import run


def test_an_offer_number_used_twice_ends_the_viewers_session(tmp_path: Path) -> None:
    async def never(info: FileOfferInfo) -> bool:
        await asyncio.Event().wait()
        return False

    async def main() -> None:
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=allow(),
                    config=HostConfig())
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password),
                            download_dir=tmp_path, file_consent=never)  # fmt: skip
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: bool(host.viewers))
            (link,) = host._runtime.links
            await link.send(m.FileOffer(7, "a.txt", 3))
            await link.send(m.FileOffer(7, "b.txt", 3))
            with pytest.raises(ProtocolError, match="offered twice"):
                await asyncio.wait_for(task, 10)

    run(main())
