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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.cli.view import _sent_words
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import sidechannels
from screencodec.transport.session.events import FileSent
from screencodec.transport.session.files import incoming
from screencodec.transport.session.sidechannels import FileOfferInfo
from transport.helpers import run

T = TypeVar("T")


async def _with_viewer(
    inbox: Path,
    consent: Callable[[FileOfferInfo], Awaitable[bool]],
    use: Callable[[Viewer], Awaitable[T]],
) -> T:
    """``use(viewer)``: a real viewer joined to a real host on loopback, whose
    user says yes to the view and answers files with ``consent``."""

    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=grant,
                file_consent=consent, config=HostConfig(download_dir=inbox))  # fmt: skip
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel, who="Alice")
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        out = await use(viewer)
        await viewer.bye("done")
        await asyncio.wait_for(task, 10)
    return out


def _lying_write(fd: int, data: bytes | memoryview) -> None:
    raise OSError(errno.EIO, "could not be read here: no such file or directory")


def test_review1_a_receivers_reason_is_not_taken_for_the_senders_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    report = tmp_path / "report.txt"
    report.write_bytes(b"x" * 3000)
    # The host's receiver writes with write_all (files/incoming.py); the
    # viewer's sender reads the file itself and never calls it.
    monkeypatch.setattr(incoming, "write_all", _lying_write)

    async def yes(info: FileOfferInfo) -> bool:
        return True

    async def send(viewer: Viewer) -> FileSent:
        return await viewer.sender.send(report)

    async def main() -> str:
        sent = await _with_viewer(inbox, yes, send)
        assert sent.outcome == "failed", sent
        assert not sent.why.startswith(sidechannels.NOT_READ), sent
        return _sent_words(report.name, sent.size, sent.outcome, sent.why)

    words = run(main(), 30)
    assert report.exists()  # read and sent whole: this side's failure it is not
    assert words.startswith("the host could not save report.txt: "), words
    assert "it could not be read here" not in words, words


def test_review1_the_page_does_not_word_its_own_unread_upload_as_the_hosts(
    tmp_path: Path,
) -> None:
    """0c4ae58 worded a file the sender could not read after the yes as the
    sender's own failure in both terminals, but the page's upload row still
    said "the host could not save it: could not be read here: ...": the
    bridge's copy of an upload that went after the host's yes (a real
    WebBridge sending through a real viewer to a real host)."""
    from screencodec.web import WebBridge

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    upload = tmp_path / "upload-7"  # the bridge's copy of the page's file
    upload.write_bytes(b"x" * 3000)

    async def yes_once_it_is_gone(info: FileOfferInfo) -> bool:
        upload.unlink()
        return True

    async def send(viewer: Viewer) -> dict[str, Any]:
        bridge = WebBridge()
        bridge._upload_names[7] = "report.txt"
        await bridge._send_file(viewer, 7, upload, "report.txt")
        bridge.close()
        return bridge._rows["out7"]

    row = run(_with_viewer(inbox, yes_once_it_is_gone, send), 30)
    assert list(inbox.iterdir()) == []
    assert row["state"] == "failed", row
    text = str(row["text"])
    assert "host could not save" not in text, text
    assert text == "not sent whole: it could not be read here: no such file or directory", text
