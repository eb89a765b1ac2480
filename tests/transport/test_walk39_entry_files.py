"""A file each way through ``share()`` and ``view()``, asked about (walk39).

An embedder writing a small service from the README and docs/transport.md
found no way to take the agent's file with ``share()``: it made its ``Host``
without ``file_consent``, so every offer was refused unasked even with
``HostConfig(download_dir=...)``, and ``view()`` took no download folder
either. ``FileOfferInfo``, the type the callback is given, and
``safe_filename`` were not in ``screencodec.transport``. Real sockets on
loopback, the synthetic desktop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec import transport
from screencodec.capture import SyntheticDesktop
from screencodec.transport import FileOfferInfo, HostConfig, allow, first_picture, share, view

from .secure_fixtures import FAST


def test_walk39_the_file_names_are_exported() -> None:
    # ... and the types of events() and register_channel's handler.
    for name in (
        "FileOfferInfo",
        "FileConsent",
        "safe_filename",
        "Subscription",
        "ExtensionHandler",
    ):
        assert name in transport.__all__, name
    assert transport.safe_filename("../a\x1bb.txt") == "ab.txt"


def test_walk39_share_and_view_take_a_file_each_way_after_asking(tmp_path: Path) -> None:
    host_dir, agent_dir = tmp_path / "host", tmp_path / "agent"
    host_dir.mkdir()
    agent_dir.mkdir()
    asked: list[tuple[str, str, int]] = []

    async def host_says_yes(offer: FileOfferInfo) -> bool:
        asked.append(("host", offer.name, offer.size))
        return True

    async def agent_says_yes(offer: FileOfferInfo) -> bool:
        asked.append(("agent", offer.name, offer.size))
        return True

    to_host, to_agent = tmp_path / "log.txt", tmp_path / "fix.sh"
    to_host.write_bytes(b"the customer's log\n" * 100)
    to_agent.write_bytes(b"echo fixed\n")

    async def main() -> tuple[bool, bool]:
        async with (
            share(
                SyntheticDesktop(320, 240, scenario="idle"),
                consent=allow(),
                listen="127.0.0.1:0",
                config=HostConfig(download_dir=host_dir),
                file_consent=host_says_yes,
                timeouts=FAST,
            ) as session,
            view(
                f"127.0.0.1:{session.address[1]}",
                code=session.code,
                password=session.password,
                name="Alice",
                download_dir=agent_dir,
                file_consent=agent_says_yes,
                timeouts=FAST,
            ) as viewer,
        ):
            await first_picture(viewer)
            up = await viewer.send_file(to_host)
            peer = next(iter(session.host.viewers))
            down = await session.host.send_file(to_agent, peer)
            return up, down

    up, down = asyncio.run(asyncio.wait_for(main(), 60))
    assert (up, down) == (True, True)
    assert asked == [("host", "log.txt", 1900), ("agent", "fix.sh", 11)]
    assert (host_dir / "log.txt").read_bytes() == to_host.read_bytes()
    assert (agent_dir / "fix.sh").read_bytes() == to_agent.read_bytes()
