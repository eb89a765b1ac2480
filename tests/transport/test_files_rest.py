"""What was left open of file transfer (docs/transport.md, "File results" and
"An offer given up"), each against a real host and viewer over sealed
channels on loopback:

* a result that comes after the sender's wait for it would have ended is
  the outcome (before: "failed: no answer from the peer" for a file the
  receiver saved), and a session that ends after the FileEnd went and
  before the result leaves the file "unconfirmed", never "failed";
* a file withdrawn because its sender could not read it after the yes is
  told to the receiver's user as that (before: "stopped waiting for an
  answer"), a receiver of the previous version still removes it, and a
  file cut short after its offer is withdrawn so too (before: the
  receiver's check of the whole file ended the session);
* of two offers given up together, the second is never put to the
  receiver's user, even when the withdrawals are read one by one and the
  question queue moves on between them (before: asked, then closed at once);
* a yes that reaches a sender of the previous version after it gave up
  (it never withdraws) leaves no file at the receiver (before: an empty one
  until the session ended).

The order of events is chosen, never raced: the sender's wait is set to 0
once the answer is in, a withdrawal is held until the receiver has dealt
with the first, a late yes is given once the sender has given up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from screencodec.transport.session import viewer as viewer_module
from screencodec.transport.session.events import FileReceived, FileRefused, FileSent
from screencodec.transport.session.sidechannels import (
    EXPIRED,
    FILE_RESULTS_CHANNEL,
    WITHDRAWN,
    WITHDRAWN_UNREAD,
    FileOfferInfo,
    FileReceiver,
    FileSender,
)

from .secure_fixtures import run
from .test_file_offer_given_up import _in_order, _late_answers, _Seen
from .test_fileresult_session import _alive, _dirs, _pair


def test_a_result_that_comes_after_the_senders_wait_is_the_outcome(tmp_path: Path) -> None:
    """The host saves the file; its result comes after the viewer's sender
    would have stopped waiting (its wait set to 0 once the yes is in)."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(bytes(range(256)) * 1200)

    async def main() -> tuple[FileSent, object]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            seen = _Seen(host.events())
            accept = viewer.sender.on_accept

            def then_impatient(msg: m.FileAccept) -> None:
                accept(msg)
                viewer.sender._timeout = 0

            viewer.sender.on_accept = then_impatient  # type: ignore[method-assign]
            sent = await viewer.sender.send(src)
            told = await seen.first((FileReceived, FileRefused))
            await _alive(host, viewer)
            return sent, told

    sent, told = run(main())
    assert (sent.outcome, sent.why) == ("delivered", "")
    assert isinstance(told, FileReceived)
    assert (host_dir / "notes.txt").read_bytes() == src.read_bytes()


def test_a_session_that_ends_before_the_result_leaves_the_file_unconfirmed(
        tmp_path: Path) -> None:
    """The host saved the file (its user is told) and its result is lost
    with the link: the viewer cannot know; "failed" would be false."""
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"n" * 5000)

    async def main() -> tuple[FileSent, object]:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            seen = _Seen(host.events())
            (link,) = host._runtime.links
            send = link.send

            async def no_results(msg: m.Message) -> None:
                if not isinstance(msg, m.FileResult):
                    await send(msg)

            link.send = no_results  # type: ignore[method-assign]
            sending = asyncio.ensure_future(viewer.sender.send(src))
            told = await seen.first((FileReceived, FileRefused))
        return await sending, told

    sent, told = run(main())
    assert isinstance(told, FileReceived)
    assert (sent.outcome, sent.why) == (
        "unconfirmed", "the session ended before the peer said whether it saved it")
    assert (host_dir / "notes.txt").read_bytes() == src.read_bytes()


@pytest.mark.parametrize(("change", "receiver"),
                         [("removed", "this"), ("removed", "previous"), ("cut short", "this")])
def test_a_file_the_sender_cannot_read_after_the_yes_is_withdrawn_and_told_as_that(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, receiver: str) -> None:
    """The agent's file is removed, or cut short, between its offer and the
    host's yes. The host's user reads why it was withdrawn; a host of the
    previous version (it ignores the reason, payload 0x03) reads the generic
    words; neither keeps anything of it, and the session goes on. Before, a
    file cut short was sent short, and the host's check of the whole file
    ended the session."""
    if receiver == "previous":
        from screencodec.transport.session import link as link_module

        real = link_module.file_channel  # type: ignore[attr-defined]

        def before_reasons(files: FileReceiver, sender: FileSender, payload: bytes) -> None:
            if payload[:1] != b"\x03":
                real(files, sender, payload)

        monkeypatch.setattr(link_module, "file_channel", before_reasons)
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"n" * 9000)

    async def yes_once_changed(info: FileOfferInfo) -> bool:
        if change == "removed":
            src.unlink()
        else:
            src.write_bytes(b"n" * 4000)
        return True

    async def main() -> tuple[FileSent, object]:
        async with _pair(host_dir, viewer_dir, host_says=yes_once_changed) as (host, viewer):
            seen = _Seen(host.events())
            sent = await viewer.sender.send(src)
            told = await seen.first((FileReceived, FileRefused))
            await _in_order(viewer.chat, seen)
            return sent, told

    sent, told = run(main())
    words = {"removed": "no such file or directory", "cut short": "it became shorter than offered"}
    assert (sent.outcome, sent.why) == ("failed", f"could not be read here: {words[change]}")
    assert isinstance(told, FileRefused) and told.name == "notes.txt"
    assert told.why == (WITHDRAWN_UNREAD if receiver == "this" else WITHDRAWN)
    assert list(host_dir.iterdir()) == []


def test_an_offer_given_up_with_the_open_one_is_never_put_though_read_apart(
        tmp_path: Path) -> None:
    """Two files offered at once; the host's user has the first question
    open and does not answer; the viewer gives both up (its wait 0.5 s) and
    withdraws both. The second withdrawal is held until the host has dealt
    with the first and its question queue has moved on. Before, the second
    question was then put (and closed when its withdrawal came)."""
    host_dir, viewer_dir = _dirs(tmp_path)
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    for f in files:
        f.write_bytes(f.name.encode() * 100)
    put: list[str] = []

    async def never(info: FileOfferInfo) -> bool:
        put.append(info.name)
        await asyncio.Event().wait()
        return True

    async def main() -> tuple[list[FileSent], list[tuple[str, str]]]:
        async with _pair(host_dir, viewer_dir, host_says=never) as (host, viewer):
            seen = _Seen(host.events())
            send = viewer.sender._send
            release = asyncio.Event()

            async def second_held(msg: m.Message) -> None:
                if isinstance(msg, m.Extension) and msg.payload[:1] == b"\x02" \
                        and msg.payload[1:] == (2).to_bytes(4, "big"):
                    await release.wait()
                await send(msg)

            viewer.sender._send = second_held
            viewer.sender._timeout = 0.5
            sending = asyncio.gather(*(viewer.sender.send(f) for f in files))
            await seen.first((FileRefused,))  # a's question closed
            while "b.txt" not in put and len(seen.of(FileRefused)) < 2:
                await asyncio.sleep(0.01)  # b asked, or refused unasked
            release.set()
            sent = await sending
            await _late_answers(viewer.sender, 2)
            await _in_order(viewer.chat, seen)
            refused = [t for t in seen.events if isinstance(t, FileRefused)]
            return list(sent), [(t.name, t.why) for t in refused]

    sent, told = run(main())
    assert [s.outcome for s in sent] == ["declined", "declined"]
    assert put == ["a.txt"]
    assert told == [("a.txt", WITHDRAWN), ("b.txt", EXPIRED)]  # b: never shown, told
    assert list(host_dir.iterdir()) == []


def test_a_late_yes_to_a_sender_of_the_previous_version_leaves_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent's viewer is of the version before file results: it
    announces nothing, sends nothing on their channel (no withdrawal) and
    ignores an answer after it gave up (its wait 0.3 s). The host's user
    says yes after that. Before, the host created the file at the yes and
    kept it, empty, until the session ended."""
    monkeypatch.setattr(viewer_module, "FILE_RESULTS_CHANNEL", "not-known-then")
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"n" * 5000)
    late_yes = asyncio.Event()

    async def yes_later(info: FileOfferInfo) -> bool:
        await late_yes.wait()
        return True

    async def main() -> tuple[FileSent, list[Path]]:
        async with _pair(host_dir, viewer_dir, host_says=yes_later) as (host, viewer):
            send = viewer.sender._send

            async def old(msg: m.Message) -> None:
                if not (isinstance(msg, m.Extension) and msg.channel == FILE_RESULTS_CHANNEL):
                    await send(msg)

            viewer.sender._send = old
            viewer.sender._timeout = 0.3
            sent = await viewer.sender.send(src)
            late_yes.set()
            await _late_answers(viewer.sender, 1)
            await _alive(host, viewer)
            return sent, list(host_dir.iterdir())

    sent, during = run(main())
    assert (sent.outcome, sent.why) == ("declined", "no answer in time")
    assert during == []  # nothing while the session goes on
    assert list(host_dir.iterdir()) == []
