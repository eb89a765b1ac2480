"""FileResult (kind 29) from a hostile receiver (docs/transport.md, "File
results"). A real host offers files to a real viewer over sealed channels on
loopback; the viewer is scripted to lie with results it should not send (its
own ``_send``), or is an honest viewer whose answer races the host's offer
timeout. Expected outcomes, each test naming its own: a result the spec
forbids ends the session with a ProtocolError; a late one is counted and
ignored; the reason the host's user reads is one harmless line; and the
host's FileSent is never "delivered" for a file that was not."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import VIEW, Host, HostConfig, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileSent, SessionEnded
from screencodec.transport.session.sidechannels import FileOfferInfo, FileSender

from .secure_fixtures import run
from .test_fileresult_session import _alive, _grant, _yes

KiB = 1024


async def _no(info: FileOfferInfo) -> bool:
    return False


@contextlib.asynccontextmanager
async def _pair(viewer_dir: Path, consent: Callable[[FileOfferInfo], Awaitable[bool]] = _yes,
                ) -> AsyncIterator[tuple[Host, Viewer, FileSender, asyncio.Future[None]]]:
    """A host in session with a viewer (the one under attack's peer): the
    host, the viewer, the host's sender to that viewer, the viewer's task."""
    host = Host(SyntheticDesktop(96, 64, scenario="idle", seed=1), consent=_grant,
                config=HostConfig(download_dir=None))  # fmt: skip
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        channel = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(channel, who="Mallory", download_dir=viewer_dir, file_consent=consent)
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        sender = host._runtime.sender_for(next(iter(host._runtime.links)))
        try:
            yield host, viewer, sender, task
        finally:
            if not task.done():
                await viewer.bye("done")
            with contextlib.suppress(Exception):
                await task


async def _ended(events: AsyncIterator[object]) -> str:
    """Why the host ended the session with the viewer."""
    async for ev in events:
        if isinstance(ev, SessionEnded):
            return ev.reason
    raise AssertionError("no SessionEnded")


async def _sent(events: AsyncIterator[object]) -> FileSent:
    async for ev in events:
        if isinstance(ev, FileSent):
            return ev
    raise AssertionError("no FileSent")


def _src(tmp_path: Path, size: int = 4 * KiB) -> Path:
    src = tmp_path / "report.pdf"
    src.write_bytes(os.urandom(size))
    return src


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "in"
    inbox.mkdir()
    return inbox


def test_a_result_for_a_transfer_never_offered_ends_the_session(tmp_path: Path) -> None:
    async def main() -> str:
        async with _pair(_inbox(tmp_path)) as (host, viewer, _sender, _task):
            events = host.events()
            await viewer.sender.announce()
            await viewer._send(m.FileResult(77, True))
            return await _ended(events)

    assert "transfer 77, which is not awaited" in run(main())


def test_a_result_for_a_declined_transfer_ends_the_session_and_it_stays_declined(
        tmp_path: Path) -> None:
    async def main() -> tuple[FileSent, str]:
        async with _pair(_inbox(tmp_path), consent=_no) as (host, viewer, _sender, _task):
            events = host.events()
            sent = await host.send(_src(tmp_path), host.stats()[0].peer)
            await viewer.sender.announce()
            await viewer._send(m.FileResult(sent.transfer, True))
            return sent, await _ended(events)

    sent, reason = run(main())
    assert sent.outcome == "declined"
    assert "not awaited" in reason


def test_a_second_result_for_a_delivered_file_ends_the_session(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    src = _src(tmp_path)

    async def main() -> tuple[FileSent, str]:
        async with _pair(inbox) as (host, viewer, _sender, _task):
            events = host.events()
            sent = await host.send(src, host.stats()[0].peer)
            await viewer._send(m.FileResult(sent.transfer, True))  # once more
            return sent, await _ended(events)

    sent, reason = run(main())
    assert sent.outcome == "delivered"  # true: the first result came after the FileEnd
    assert (inbox / "report.pdf").read_bytes() == src.read_bytes()
    assert "not awaited" in reason


def test_saved_before_the_file_was_sent_is_a_protocol_error_never_delivered(
        tmp_path: Path) -> None:
    """The viewer accepts and says "saved" at once, before any chunk. Before,
    the host stopped streaming (a result had come) and told its user
    'delivered' for a file of which not one byte had left."""
    src = _src(tmp_path, 600 * KiB)

    async def main() -> tuple[list[object], str]:
        async with _pair(_inbox(tmp_path)) as (host, viewer, _sender, _task):
            answer = viewer.sender.answer

            async def lying(accept: m.FileAccept, result: m.FileResult | None = None) -> None:
                await answer(accept, result)
                if accept.accepted:
                    await viewer._send(m.FileResult(accept.transfer, True))

            viewer.sender.answer = lying  # type: ignore[method-assign]
            events = host.events()
            outcome = await asyncio.gather(host.send(src, host.stats()[0].peer),
                                           return_exceptions=True)  # fmt: skip
            return list(outcome), await _ended(events)

    outcome, reason = run(main())
    assert not any(isinstance(o, FileSent) and o.outcome == "delivered" for o in outcome), outcome
    assert "saved before" in reason


def test_a_result_from_a_viewer_that_never_announced_ends_the_session(tmp_path: Path) -> None:
    async def main() -> tuple[FileSent, str]:
        async with _pair(_inbox(tmp_path)) as (host, viewer, _sender, _task):
            viewer.sender._announced = True  # it says nothing about results
            events = host.events()
            sent = await host.send(_src(tmp_path), host.stats()[0].peer)
            await viewer._send(m.FileResult(sent.transfer, False, "lost"))
            return sent, await _ended(events)

    sent, reason = run(main())
    assert sent.outcome == "unconfirmed"  # never "delivered" to a peer that did not announce
    assert "FileResult" in reason


def test_a_hostile_reason_reaches_the_host_s_user_as_one_short_harmless_line(
        tmp_path: Path) -> None:
    """255 bytes (the wire's cap) of escape sequences, bidi overrides,
    newlines and zero-width characters as the reason of a failure."""
    evil = ("\x1b]0;pwned\x07\x1b[2J\u202etxt.exe\u200b\r\nroot# " * 20).encode()[:255]
    reason = evil.decode(errors="ignore")

    async def main() -> FileSent:
        async with _pair(_inbox(tmp_path)) as (host, viewer, _sender, _task):
            answer = viewer.sender.answer

            async def failing(accept: m.FileAccept, result: m.FileResult | None = None) -> None:
                await answer(accept, result)
                if accept.accepted:
                    await viewer._send(m.FileResult(accept.transfer, False, reason))

            viewer.sender.answer = failing  # type: ignore[method-assign]
            events = host.events()
            await host.send(_src(tmp_path), host.stats()[0].peer)
            sent = await _sent(events)
            await _alive(host, viewer)
            return sent

    sent = run(main())
    assert sent.outcome == "failed"
    assert len(sent.why) <= 200
    assert "\x1b" not in sent.why and "\n" not in sent.why
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in sent.why)
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in sent.describe())


def test_a_failure_that_races_the_offer_timeout_is_counted_late_and_the_session_goes_on(
        tmp_path: Path) -> None:
    """An honest viewer: its user says yes as the host stops waiting (the
    host's offer timeout fires in the step that reads the yes, just before
    it), and its download folder is gone, so it answers FileAccept(accepted)
    and FileResult(not saved) right after (b197e2c). Before, the late yes
    was ignored but its result, for a transfer no longer known, ended the
    session with a ProtocolError. The host's withdrawal then reaches a
    viewer that has nothing of the file."""
    inbox = _inbox(tmp_path)

    async def main() -> tuple[FileSent, int]:
        async with _pair(inbox) as (host, viewer, sender, task):
            accept = sender.on_accept

            def timeout_first(msg: m.FileAccept) -> None:
                sender._give_up(msg.transfer)
                accept(msg)

            sender.on_accept = timeout_first  # type: ignore[method-assign]
            shutil.rmtree(inbox)
            sent = await host.send(_src(tmp_path), host.stats()[0].peer)
            while sender.late < 2 and not task.done():
                await asyncio.sleep(0.05)
            assert not task.done(), "the session ended on the late result"
            await _alive(host, viewer)
            return sent, sender.late

    sent, late = run(main())
    assert sent.outcome == "declined"
    assert late == 2  # the late yes, then its result


def test_thousands_of_results_for_given_up_offers_end_at_the_first_one_too_many(
        tmp_path: Path) -> None:
    """Three offers the viewer never answers (the host gives up on each, and
    the viewer ignores the withdrawals), then 3000 results for them: the
    first for each is counted late, the next ends the session; the host
    keeps nothing of them."""

    async def never(info: FileOfferInfo) -> bool:
        await asyncio.Event().wait()
        return False

    async def main() -> tuple[list[FileSent], str, FileSender]:
        async with _pair(_inbox(tmp_path), consent=never) as (host, viewer, sender, _task):
            viewer.files.withdraw = lambda transfer: None  # type: ignore[method-assign]
            sender._timeout = 0.2
            events = host.events()
            peer = host.stats()[0].peer
            sent = [await host.send(_src(tmp_path), peer) for _ in range(3)]
            await viewer.sender.announce()
            for i in range(3000):
                with contextlib.suppress(Exception):  # the session ends meanwhile
                    await viewer._send(m.FileResult(1 + i % 3, True, "x" * 200))
            return sent, await _ended(events), sender

    sent, reason, sender = run(main())
    assert [s.outcome for s in sent] == ["declined"] * 3
    assert "not awaited" in reason
    assert sender.late == 3
    assert not sender._given_up and not sender._results
