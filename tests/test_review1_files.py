"""Review of 0c4ae58 (sidechannels.NOT_READ): a file the sender could not
read after the yes is worded as the sender's own failure ("(not sent whole:
NAME: it could not be read here: ...)"), because its FileSent why starts
with NOT_READ. The receiver's FileResult reason is the peer's own text, and
it went into that same why as it came: a host (or agent) whose reason starts
"could not be read here: " made the other side's terminal blame itself for
a file it read and sent whole ("it could not be read here"), instead of
saying the receiver did not save it.

Real host and viewer on loopback; the host is made to lie by giving its
receiver's disk write that error text (what a modified host sends as its
FileResult reason: its words go on the wire as they are)."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.cli.view import _sent_words
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import sidechannels
from screencodec.transport.session.sidechannels import FileOfferInfo
from transport.helpers import run


def _lying_write(fd: int, data: bytes | memoryview) -> None:
    raise OSError(errno.EIO, "could not be read here: no such file or directory")


def test_review1_a_receivers_reason_is_not_taken_for_the_senders_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    report = tmp_path / "report.txt"
    report.write_bytes(b"x" * 3000)
    # The host's receiver writes with sidechannels.write_all; the viewer's
    # sender reads the file itself and never calls it.
    monkeypatch.setattr(sidechannels, "write_all", _lying_write)

    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def yes(info: FileOfferInfo) -> bool:
        return True

    async def main() -> str:
        host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=grant,
                    file_consent=yes, config=HostConfig(download_dir=inbox))  # fmt: skip
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
        assert sent.outcome == "failed", sent
        assert not sent.why.startswith(sidechannels.NOT_READ), sent
        return _sent_words(report.name, sent.size, sent.outcome, sent.why)

    words = run(main(), 30)
    assert report.exists()  # read and sent whole: this side's failure it is not
    assert words.startswith("the host could not save report.txt: "), words
    assert "it could not be read here" not in words, words
