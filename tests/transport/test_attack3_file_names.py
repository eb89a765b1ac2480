"""Attacks on the receiving side of file transfer through file names: a name
that fills the wire's 255 bytes with 3-byte characters, offered twice (the
second copy's " (1)" pushes it past the file system's 255-byte limit), a name
that is nothing but an extension, and a name whose file appears between the
check and the create. Real sockets on loopback; the viewer is hand-written.
Each test names the expected outcome: the file is saved under a name that fits
(or refused), and the session goes on."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from screencodec.transport import HostConfig
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import allow
from screencodec.transport.session.events import FileRefused
from screencodec.transport.session.sidechannels import FileOfferInfo, FileReceiver

from .secure_fixtures import run
from .test_attack_caps import _granted, _session

_NAME_MAX = 255


async def _yes(info: FileOfferInfo) -> bool:
    return True


async def _send_file(ch: SecureChannel, transfer: int, name: str, data: bytes) -> bool:
    """Offer ``data`` as ``name``; stream it if accepted. Returns the answer."""
    await ch.send(m.encode(m.FileOffer(transfer, name, len(data))))
    while True:
        msg = m.decode(await ch.recv())
        if isinstance(msg, m.FileAccept) and msg.transfer == transfer:
            break
    if msg.accepted:
        await ch.send(m.encode(m.FileChunk(transfer, 0, data)))
        await ch.send(m.encode(m.FileEnd(transfer, hashlib.sha256(data).digest())))
    return msg.accepted


async def _still_answered(ch: SecureChannel) -> None:
    """The session is alive: a request for VIEW, which it holds, is granted."""
    await ch.send(m.encode(m.PermissionRequest(1, "agent")))  # answered: VIEW is held
    while True:
        msg = m.decode(await ch.recv())
        if isinstance(msg, m.PermissionGrant):
            return


def test_a_full_length_name_offered_twice_saves_both_and_the_session_goes_on(
        tmp_path: Path) -> None:
    """85 three-byte characters (255 bytes, the most the wire allows), sent
    twice and accepted twice: both files are saved, each name within 255
    bytes, and the session goes on (before: the second copy's name, with
    " (1)", was 259 bytes, os.open raised ENAMETOOLONG and the session ended
    right after the user said yes)."""
    name = "文" * 85
    assert len(name.encode()) == _NAME_MAX

    async def main() -> None:
        cfg = HostConfig(download_dir=tmp_path)
        async with _session(allow(), file_consent=_yes, config=cfg) as (_host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            assert await _send_file(ch, 1, name, b"one")
            assert await _send_file(ch, 2, name, b"two")
            await _still_answered(ch)

    run(main())
    saved = sorted(p.read_bytes() for p in tmp_path.iterdir())
    assert saved == [b"one", b"two"]
    assert all(len(p.name.encode()) <= _NAME_MAX for p in tmp_path.iterdir())


def test_a_name_of_one_long_extension_offered_twice_fits_too(tmp_path: Path) -> None:
    """'a.' and 252 bytes of extension (63 emoji), three times: all saved under names of at
    most 255 bytes, none of them hidden (no leading dot)."""
    name = "a." + "\U0001f600" * 63

    async def main() -> None:
        cfg = HostConfig(download_dir=tmp_path)
        async with _session(allow(), file_consent=_yes, config=cfg) as (_host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            for t in range(1, 4):
                assert await _send_file(ch, t, name, b"x%d" % t)
            await _still_answered(ch)

    run(main())
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 3
    assert all(len(n.encode()) <= _NAME_MAX and not n.startswith(".") for n in names)


def test_a_file_that_appears_after_the_check_is_not_overwritten_nor_fatal(
        tmp_path: Path) -> None:
    """The name's file is created by someone else between the receiver's
    look and its taking the name (once the file is whole): the receiver
    takes the next free name (a hard link fails on a name that is there),
    the other file keeps its bytes."""

    async def main() -> None:
        rec = FileReceiver(tmp_path, _yes)
        real_exists = Path.exists

        def racing_exists(self: Path, **kw: bool) -> bool:
            if self.name == "report.txt" and not real_exists(self):
                self.write_bytes(b"theirs")  # appears right after the look
                return False
            return real_exists(self, **kw)

        Path.exists = racing_exists  # type: ignore[method-assign]
        try:
            offer = m.FileOffer(1, "report.txt", 4)
            info = rec.admit(offer, "peer")
            assert info is not None
            answer = await rec.decide(offer, info)
            assert answer.accepted
            rec.on_chunk(m.FileChunk(1, 0, b"mine"))
            # Named when whole, at its end.
            path, _ = rec.on_end(m.FileEnd(1, hashlib.sha256(b"mine").digest()))
        finally:
            Path.exists = real_exists  # type: ignore[method-assign]
        assert path.name == "report (1).txt"
        assert (tmp_path / "report.txt").read_bytes() == b"theirs"

    asyncio.run(main())


def test_a_download_directory_that_cannot_be_written_refuses_the_file_not_the_session(
        tmp_path: Path) -> None:
    """The directory went away after the host started: the accepted offer is
    answered no (the space is given back) and the session goes on."""
    gone = tmp_path / "gone"
    gone.mkdir()

    async def yes_then_gone(info: FileOfferInfo) -> bool:
        gone.rmdir()
        return True

    async def main() -> None:
        cfg = HostConfig(download_dir=gone)
        async with _session(allow(), file_consent=yes_then_gone, config=cfg) as (host, ch):
            events = host.events()
            assert isinstance(await _granted(ch), m.PermissionGrant)
            assert not await _send_file(ch, 1, "a.txt", b"data")
            await _still_answered(ch)
            async for ev in events:  # the local user who said yes is told
                if isinstance(ev, FileRefused):
                    assert ev.name == "a.txt" and ev.why.startswith("could not be saved")
                    break
            runtime = host._runtime
            assert runtime.files_for(next(iter(runtime.links))).reserved == 0

    run(main())
