"""review40a: files40's ``FileSender.peer_takes_none`` (the view's ``/send``
says "offering NAME (SIZE) to the host, which said this session that it
takes no files" once a refusal's reason code said so) from a host that
says it takes no files and takes one all the same.

Found: the flag was set by the reason code alone, before the answer it
qualifies, and never cleared: a host that sent the code NO_FILES for an
offer and then accepted it (and saved it) had every later offer said "to
the host, which said this session that it takes no files", each then
asked about and accepted. Expected: only a refusal that is one (its answer
a no) says so; a file the host accepted says it takes files ("who is
asked" again).

A real Host (its user says yes) and Viewer on loopback; the host's side
forges the refusal's reason code on its channel while its user is asked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.cli.view_commands import _offering_words
from screencodec.transport import VIEW, ConsentRequest, Grant, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.files.wire import NO_FILES, file_refusal
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run

WHO_IS_ASKED = "offering b.txt (10 bytes) to the host's user, who is asked whether to accept it"


@contextlib.asynccontextmanager
async def _alice_at(
    folder: Path, file_consent: Callable[[FileOfferInfo], Awaitable[bool]]
) -> AsyncIterator[tuple[Host, Viewer]]:
    """A real Host taking files into ``folder`` (its user asked through
    ``file_consent``) and Alice's Viewer let in on loopback, running; she
    says bye at the end."""

    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=grant,
                file_consent=file_consent, config=HostConfig(download_dir=folder))  # fmt: skip
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code,
                                       creds.password)  # fmt: skip
        viewer = Viewer(channel, who="Alice")
        await viewer.start(VIEW)
        viewing = asyncio.ensure_future(viewer.run())
        yield host, viewer
        await viewer.bye("done")
        await viewing


def test_review40a_a_host_that_said_it_takes_no_files_and_took_one_is_asked_again(
    tmp_path: Path,
) -> None:
    (tmp_path / "in").mkdir()
    a = tmp_path / "a.txt"
    a.write_bytes(b"x" * 10)
    asking = asyncio.Event
    answers: list[str] = []

    async def main() -> tuple[str, str, list[str]]:
        asked, forged = asking(), asking()

        async def yes(info: FileOfferInfo) -> bool:  # the host's user, while the code is forged
            asked.set()
            await forged.wait()
            return True

        async with _alice_at(tmp_path / "in", yes) as (host, viewer):
            sending = asyncio.ensure_future(viewer.sender.send(a))
            await asked.wait()
            (link,) = host._runtime.links
            # The host says it takes no files (transfer 1: the viewer's first)...
            await link.channel.send(m.encode(file_refusal(1, NO_FILES)))
            while not viewer.sender.peer_gave_reasons:
                await asyncio.sleep(0.01)
            forged.set()  # ... and its user says yes: it takes the file
            sent = await sending
            answers.extend([sent.outcome, sent.why])
            said = _offering_words("b.txt", 10, viewer.sender.peer_takes_none)
        saved = sorted(p.name for p in (tmp_path / "in").iterdir())
        return said, ",".join(saved), answers

    said, saved, answers = run(main(), 30)
    assert saved == "a.txt"  # the host took it
    assert answers[0] == "delivered", answers
    assert said == WHO_IS_ASKED


def test_review41a_a_host_that_took_a_file_then_says_it_takes_none_is_not_believed(
    tmp_path: Path,
) -> None:
    """review41a found it: the viewer believed ``Notice.TAKES_NO_FILES``
    at any time, also after the host had accepted a file this session (an
    honest host sends it once, as the session is joined, and only when it
    takes none): a hostile host made the agent's next offer say "to the
    host, which said this session that it takes no files". Expected: once
    a file was taken, the notice changes nothing ("who is asked")."""
    (tmp_path / "in").mkdir()
    a = tmp_path / "a.txt"
    a.write_bytes(b"x" * 10)

    async def main() -> tuple[str, str, int]:
        async def yes(info: FileOfferInfo) -> bool:
            return True

        async with _alice_at(tmp_path / "in", yes) as (host, viewer):
            sent = await viewer.sender.send(a)
            (link,) = host._runtime.links
            # The host forges the notice after it took the file.
            await link.channel.send(m.encode(m.Notice(m.Notice.TAKES_NO_FILES, "none")))
            while not any(n.code == m.Notice.TAKES_NO_FILES for n in viewer.notices):
                await asyncio.sleep(0.01)
            said = _offering_words("b.txt", 10, viewer.sender.peer_takes_none)
        return sent.outcome, said, len(viewer.notices)

    outcome, said, notices = run(main(), 30)
    assert outcome == "delivered"
    assert notices >= 1  # it came, and was read
    assert said == WHO_IS_ASKED
