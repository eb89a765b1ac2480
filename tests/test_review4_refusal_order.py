"""review4 of files2's refusal reasons (7eba360): the reason a viewer gives
for an offer it refuses unasked is that offer's, however the offers come.

The viewer checks each offer in its receive loop (FileReceiver.admit, which
keeps the last offer's reason) and answers in a task of its own. Two offers
that come together (the host's user sends two files at once) were both
admitted before the first task ran, so that task read the second offer's
reason: the host was told the wrong why (a code 0, "refused without asking
its user", when the second was admitted), and the agent's own FileRefused
event said an empty why. Real host and viewer over sealed channels on
loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, ConsentRequest, FileRefused, Grant, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.events import FileSent
from transport.secure_fixtures import run


def test_review4_two_offers_at_once_each_refusal_says_its_own_reason(tmp_path: Path) -> None:
    big, small = tmp_path / "big.bin", tmp_path / "small.txt"
    big.write_bytes(b"b" * 5000)
    small.write_bytes(b"s" * 100)

    async def consent(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def agent_declines(info: object) -> bool:
        return False

    async def main() -> tuple[list[FileSent], list[FileRefused]]:
        host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password), who="Alice",
                            download_dir=tmp_path / "in", file_consent=agent_declines)  # fmt: skip
            viewer.files.max_file = 1000
            events = viewer.events()
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            (peer,) = host.viewers
            sent = list(await asyncio.gather(host.send(big, peer), host.send(small, peer)))
            await viewer.bye("done")
            await task
            return sent, [ev async for ev in events if isinstance(ev, FileRefused)]

    sent, refused = run(main())
    assert [(s.name, s.outcome, s.why) for s in sent] == [
        ("big.bin", "declined", "refused unasked: it takes none larger than 1 kB"),
        ("small.txt", "declined", ""),  # the agent's own no
    ]
    assert [(ev.name, ev.why) for ev in refused] == [
        ("big.bin", "larger than this viewer takes (1 kB)")]
