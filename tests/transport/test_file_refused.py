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
    assert ev.why == "larger than this host takes (4096 bytes)"
    assert ev.name == "big.bin" and ev.size == 5000
