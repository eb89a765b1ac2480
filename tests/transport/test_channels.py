"""Side channels: chat, file transfer with consent, extension channels, monitors."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ProtocolError
from screencodec.transport import ChatReceived, FileReceived, Host, HostConfig, allow
from screencodec.transport.session import messages as m
from screencodec.transport.session.resume import RESUME_CHANNEL, TICKET_SIZE
from screencodec.transport.session.sidechannels import (
    FILE_RESULTS_CHANNEL,
    FileOfferInfo,
    FileReceiver,
    safe_filename,
)

from .conftest import connected
from .helpers import OnMonitor, bgr_equal, run, until


def host_with_files(tmp: Path, answer: bool | None) -> tuple[Host, list[FileOfferInfo]]:
    asked: list[FileOfferInfo] = []

    async def file_consent(info: FileOfferInfo) -> bool:
        asked.append(info)
        if answer is None:
            await asyncio.sleep(3600)
        return bool(answer)

    host = Host(
        SyntheticDesktop(320, 240, scenario="idle"),
        consent=allow(),
        file_consent=file_consent,
        config=HostConfig(download_dir=tmp, consent_timeout=0.3),
    )
    return host, asked


@pytest.mark.parametrize("answer", [False, None], ids=["refused", "timeout"])
def test_file_refused_without_consent(tmp_path: Path, answer: bool | None) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"secret" * 100)
    dl = tmp_path / "dl"
    dl.mkdir()

    async def main() -> None:
        host, asked = host_with_files(dl, answer)
        async with connected(host) as (viewer, serve, _):
            assert await viewer.send_file(src) is False
            assert [a.name for a in asked] == ["in.bin"]
            assert list(dl.iterdir()) == []
            assert not serve.done()

    run(main())


def test_file_accepted_with_consent_bytes_equal(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    payload = os.urandom(700_000)  # several chunks
    src.write_bytes(payload)
    dl = tmp_path / "dl"
    dl.mkdir()

    async def main() -> None:
        host, asked = host_with_files(dl, True)
        events = host.events()
        async with connected(host) as (viewer, _, _):
            assert await viewer.send_file(src) is True
            ev = await asyncio.wait_for(_first(events, FileReceived), 5)
            assert Path(ev.path) == dl / "big.bin" and ev.size == len(payload)
            assert (dl / "big.bin").read_bytes() == payload
            # a second file with the same name does not overwrite the first
            assert await viewer.sender.send_file(src, name="../../big.bin") is True
            ev = await asyncio.wait_for(_first(events, FileReceived), 5)
            assert Path(ev.path) == dl / "big (1).bin"
        assert asked[1].name == "big.bin"  # the traversal was stripped before asking

    run(main())


def _answer_in_reverse(order: list[str], folder: Path):  # type: ignore[no-untyped-def]
    """A file consent that says yes to two offers, the second one first and
    the first once the second is saved in ``folder``: the files then arrive
    in another order than they were offered. (Answered back to back, both
    came at once, and either could be saved first.)"""
    asked: list[FileOfferInfo] = []
    gates = {name: asyncio.Event() for name in order}

    async def consent(info: FileOfferInfo) -> bool:
        asked.append(info)
        if len(asked) == len(order):
            gates[order[1]].set()
        await gates[info.name].wait()
        if info.name == order[1]:
            gates[order[0]].set()
        else:
            await until((folder / order[1]).exists, 10, f"{order[1]} saved")
        return True

    return consent, asked


@pytest.mark.parametrize("to", ["host", "viewer"])
def test_a_received_file_names_the_offer_it_answers(tmp_path: Path, to: str) -> None:
    # Two offers of the same size: only the transfer number ties each
    # FileReceived to the question (the web page's row, a dialog) it answers.
    # A viewer's questions may be answered in any order (here the second
    # first, so the files arrive in reverse); the host asks one at a time.
    files = {name: tmp_path / name for name in ("one.bin", "two.bin")}
    for i, path in enumerate(files.values()):
        path.write_bytes(bytes([i]) * 300_000)
    dl = tmp_path / "dl"
    dl.mkdir()

    async def main() -> None:
        desktop = SyntheticDesktop(320, 240, scenario="idle")
        viewer_kw: dict[str, object] = {}
        if to == "host":
            host, asked = host_with_files(dl, True)
        else:
            consent, asked = _answer_in_reverse(list(files), dl)
            host = Host(desktop, consent=allow())
            viewer_kw = {"download_dir": dl, "file_consent": consent}
        host_events = host.events()
        async with connected(host, **viewer_kw) as (viewer, _, _):
            if to == "host":
                got = host_events
                sends = [viewer.send_file(p) for p in files.values()]
            else:
                got = viewer.events()
                sends = [host.send_file(p, host.viewers[0]) for p in files.values()]
            assert await asyncio.gather(*sends) == [True, True]
            received = [await asyncio.wait_for(_first(got, FileReceived), 5) for _ in files]
        by_transfer = {info.transfer: info.name for info in asked}
        assert sorted(by_transfer.values()) == sorted(files)
        if to == "viewer":
            assert [by_transfer[ev.transfer] for ev in received] == ["two.bin", "one.bin"]
        for ev in received:
            assert Path(ev.path).read_bytes() == files[by_transfer[ev.transfer]].read_bytes()

    run(main())


async def _first(events, kind):  # type: ignore[no-untyped-def]
    async for ev in events:
        if isinstance(ev, kind):
            return ev
    raise AssertionError("no event")


def test_file_without_download_dir_is_refused_without_asking(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("x")
    asked: list[FileOfferInfo] = []

    async def yes(info: FileOfferInfo) -> bool:
        asked.append(info)
        return True

    async def main() -> None:
        host = Host(SyntheticDesktop(320, 240, scenario="idle"), consent=allow(), file_consent=yes)
        async with connected(host) as (viewer, _, _):
            assert await viewer.send_file(src) is False
        assert asked == []

    run(main())


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("/abs/path/x.txt", "x.txt"),
        ("..", "received-file"),
        (".bashrc", "bashrc"),
        ("a\x1b[31mb.txt", "a[31mb.txt"),
        ("C:evil?.txt", "Cevil.txt"),
        ("", "received-file"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_receiver_rejects_chunks_out_of_order_and_oversize(tmp_path: Path) -> None:
    async def main() -> None:
        async def yes(info: FileOfferInfo) -> bool:
            return True

        rec = FileReceiver(tmp_path, yes, max_file=100)
        assert (await rec.on_offer(m.FileOffer(1, "f", 200), "p")).accepted is False  # > cap
        assert (await rec.on_offer(m.FileOffer(2, "f", 10), "p")).accepted is True
        with pytest.raises(ProtocolError):
            await rec.on_offer(m.FileOffer(2, "g", 10), "p")  # offered twice
        with pytest.raises(ProtocolError):
            rec.on_chunk(m.FileChunk(9, 0, b"x"))  # never accepted
        with pytest.raises(ProtocolError):
            rec.on_chunk(m.FileChunk(2, 0, b"x" * 11))  # past the offered size
        assert list(tmp_path.iterdir()) == []  # the partial file was removed

    run(main())


def test_chat_round_trip_and_extension_channel() -> None:
    async def main() -> None:
        host = Host(SyntheticDesktop(320, 240, scenario="idle"), consent=allow())
        got: list[tuple[str, bytes]] = []

        async def echo(peer: str, payload: bytes) -> bytes | None:
            got.append((peer, payload))
            return payload[::-1]

        host.register_channel("clipboard", echo)
        hev = host.events()
        async with connected(host) as (viewer, _, _):
            vev = viewer.events()
            replies: list[bytes] = []

            async def on_reply(peer: str, payload: bytes) -> None:
                replies.append(payload)

            viewer.register_channel("clipboard", on_reply)
            await viewer.chat("hello from support")
            ev = await asyncio.wait_for(_first(hev, ChatReceived), 5)
            assert ev.text == "hello from support" and ev.peer == "memory:viewer"
            await host.send_chat("hi, thanks")
            ev2 = await asyncio.wait_for(_first(vev, ChatReceived), 5)
            assert ev2.text == "hi, thanks"
            await viewer.send_extension("clipboard", b"abc")
            await until(lambda: replies == [b"cba"])
            assert got == [("memory:viewer", b"abc")]
            # The package's own channels are not an application's to send
            # on either: a "ticket" from the host's application would be
            # kept by the viewer as the host's (review3).
            with pytest.raises(ValueError, match="reserved"):
                await host.send_extension(RESUME_CHANNEL, bytes(TICKET_SIZE))
            with pytest.raises(ValueError, match="reserved"):
                await viewer.send_extension(FILE_RESULTS_CHANNEL, b"\x05")
            await viewer.send_extension("clipboard", b"de")
            await until(lambda: replies == [b"cba", b"ed"])
        with pytest.raises(ValueError, match="already registered"):
            host.register_channel("clipboard", echo)

    run(main())


def test_monitor_switch_and_all_monitors() -> None:
    screens: dict[int, OnMonitor] = {}

    def factory(index: int) -> OnMonitor:
        screens[index] = OnMonitor(index)
        return screens[index]

    async def main() -> None:
        host = Host(factory, consent=allow())
        async with connected(host) as (viewer, _, _):
            await until(lambda: viewer.monitors != ())
            assert [x.index for x in viewer.monitors] == [0, 1, 2] and viewer.monitor == 1
            await until(lambda: viewer.framebuffer is not None)
            assert viewer.framebuffer is not None and viewer.framebuffer.shape[:2] == (240, 320)
            for index, shape in ((2, (160, 200)), (0, (240, 520)), (1, (240, 320))):
                await viewer.select_monitor(index)
                await until(lambda i=index: viewer.monitor == i)  # type: ignore[misc]
                scr = screens[index]
                scr.frozen = True
                await until(
                    lambda s=scr: bgr_equal(viewer.framebuffer, s.grab()),  # type: ignore[misc]
                    10,
                    f"monitor {index} bit-exact",
                )
                assert viewer.framebuffer is not None
                assert viewer.framebuffer.shape[:2] == shape
            # an unknown monitor is refused with a notice, the session goes on
            await viewer.select_monitor(7)
            await until(lambda: any(n.code == m.Notice.UNKNOWN_MONITOR for n in viewer.notices))
            assert viewer.decode_errors == 0
        assert all(s.closed for i, s in screens.items())  # every source released

    run(main())
