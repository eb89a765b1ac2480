"""walk34: ``Host.send`` raised SessionClosedError when the session ended
while the file's bytes were being sent, where its docstring, docs/api.md
and docs/transport.md said it returns a FileSent. Decided (consistency):
the viewer's ``viewer.sender.send`` does the same (one FileSender serves
both sides), and each caller (the host's /send, the view's /send, the
page's bridge) words it, knowing whether the link was lost: so both raise,
and the docs say so. Tested here on both sides: the other side ends the
session after the first chunk went; the send raises SessionClosedError,
and the receiver keeps nothing of the file.

Real Host and Viewer over sealed channels on loopback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from screencodec.errors import SessionClosedError

from .helpers import until
from .secure_fixtures import run
from .test_fileresult_session import _pair


@pytest.mark.parametrize("side", ["host", "viewer"])
def test_walk34_a_session_ended_mid_file_raises_on_either_side(
    tmp_path: Path, side: str
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    host_dir, viewer_dir = tmp_path / "host-in", tmp_path / "viewer-in"
    host_dir.mkdir()
    viewer_dir.mkdir()
    receiving = viewer_dir if side == "host" else host_dir

    async def main() -> None:
        async with _pair(host_dir, viewer_dir) as (host, viewer):
            ending: list[asyncio.Future[None]] = []
            went: list[int] = []

            def sending(sent: int, size: int) -> None:
                went.append(sent)
                if sent and not ending:  # the first chunk went: the other side ends it
                    ending.append(asyncio.ensure_future(
                        viewer.bye("the agent left") if side == "host"
                        else host.disconnect(reason="the host's user ended the session")))

            sent = (host.send(big, host.viewers[0], on_sending=sending) if side == "host"
                    else viewer.sender.send(big, on_sending=sending))  # fmt: skip
            with pytest.raises(SessionClosedError):
                await sent
            await asyncio.gather(*ending)
            assert 0 < went[-1] < big.stat().st_size, went  # mid-file, for sure
            await until(lambda: not any(receiving.iterdir()), 10, "the receiver's part gone")

    run(main(), timeout=60)
