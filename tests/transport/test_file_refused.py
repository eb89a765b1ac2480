"""A file the host refuses without asking its user is an event that says
why (so its user interface can tell them), the name made harmless: a host
that takes no files, and a file over its size limit. Real host and viewer
over sealed channels on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import (
    VIEW,
    ConsentRequest,
    FileRefused,
    Grant,
    Host,
    HostConfig,
    Viewer,
)
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct

from .secure_fixtures import run


def _refused(config: HostConfig, sent: Path) -> list[FileRefused]:
    asked: list[object] = []

    async def consent(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def file_consent(info: object) -> bool:
        asked.append(info)
        return True

    async def main() -> list[FileRefused]:
        host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent,
                    file_consent=file_consent, config=config)  # fmt: skip
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            events = host.events()
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password), who="Alice")  # fmt: skip
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            assert await viewer.send_file(sent) is False
            got = []
            async for ev in events:
                if isinstance(ev, FileRefused):
                    got.append(ev)
                    break
            await viewer.bye("done")
            await task
        assert asked == []  # never put to the user
        return got

    return run(main())


def test_a_host_without_a_download_directory_says_it_takes_no_files(tmp_path: Path) -> None:
    sent = tmp_path / "report\x1b[2J\u202etxt.exe"
    sent.write_bytes(b"x" * 100)
    (ev,) = _refused(HostConfig(), sent)
    assert ev.why == "this host takes no files" and ev.size == 100
    assert "\x1b" not in ev.name and "\u202e" not in ev.name


def test_a_file_over_the_limit_is_refused_unasked_and_says_so(tmp_path: Path) -> None:
    sent = tmp_path / "big.bin"
    sent.write_bytes(b"x" * 5000)
    (ev,) = _refused(HostConfig(download_dir=tmp_path / "in", max_file=4096), sent)
    assert ev.why == "larger than this host takes (4.09 kB)"
    assert ev.name == "big.bin" and ev.size == 5000


def test_a_file_the_agent_declines_is_not_reported_as_refused_unasked(tmp_path: Path) -> None:
    """Two offers to a viewer: one waits on the agent's answer while the
    other is refused unasked (too large). The one the agent then declines
    is the agent's own answer: the viewer emits FileRefused for the other
    only (the reason of one offer must not be read for another)."""
    small, big = tmp_path / "small.txt", tmp_path / "big.bin"
    small.write_bytes(b"s" * 100)
    big.write_bytes(b"b" * 5000)
    asked = asyncio.Event()
    answer = asyncio.Event()

    async def consent(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    async def agent_answers(info: object) -> bool:
        asked.set()
        await answer.wait()
        return False  # the agent declines

    async def main() -> list[FileRefused]:
        host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password), who="Alice",
                            download_dir=tmp_path / "in", file_consent=agent_answers)  # fmt: skip
            viewer.files.max_file = 1000
            events = viewer.events()
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            (peer,) = host.viewers
            first = asyncio.ensure_future(host.send_file(small, peer))
            await asyncio.wait_for(asked.wait(), 10)
            assert await host.send_file(big, peer) is False  # refused unasked
            answer.set()
            assert await first is False  # declined by the agent
            await viewer.bye("done")
            await task
            return [ev async for ev in events if isinstance(ev, FileRefused)]

    got = run(main())
    assert [(ev.name, ev.why) for ev in got] == [
        ("big.bin", "larger than this viewer takes (1 kB)")]
