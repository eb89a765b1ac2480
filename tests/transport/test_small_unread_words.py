"""A file the agent's viewer could not read after the host's user said yes
(removed meanwhile) is FileSent "failed", why "could not be read here: no
such file or directory" (FileSender: the sender's own reason). The agent's
terminal words every "failed" as the host's ("the host could not save
NAME: could not be read here: ..."), though the host was never sent it: it
should say the viewer could not read it (fixed: sidechannels.NOT_READ marks
the sender's own failure). Real host and viewer on loopback; the host's
user removes the file before answering yes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.cli.view import _sent_words
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run


def test_small_a_file_unread_after_the_yes_is_not_told_as_the_hosts(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    report = tmp_path / "report.txt"
    report.write_bytes(b"x" * 3000)

    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def yes_once_it_is_gone(info: FileOfferInfo) -> bool:
        report.unlink()
        return True

    async def main() -> str:
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=grant,
                    file_consent=yes_once_it_is_gone,
                    config=HostConfig(download_dir=inbox))  # fmt: skip
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                           creds.password)  # fmt: skip
            viewer = Viewer(channel, who="Alice")
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            sent = await viewer.sender.send(report)
            await viewer.bye("done")
            await asyncio.wait_for(task, 10)
        assert sent.outcome == "failed" and sent.why.startswith("could not be read here"), sent
        return _sent_words(report.name, sent.size, sent.outcome, sent.why)

    words = run(main(), 30)
    assert list(inbox.iterdir()) == []
    assert "could not save" not in words, words
    assert words == ("(not sent whole: report.txt: it could not be read here: "
                     "no such file or directory)")  # fmt: skip
