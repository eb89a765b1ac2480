"""files41: a host that takes no files says so as the session is joined
(``Notice.TAKES_NO_FILES``), only to a viewer that declared
``Capabilities.FILE_NOTICES``: a viewer of the version before gets none
(its messages as before), nor does a viewer of a host that takes files.
A Viewer reads it as ``sender.peer_takes_none`` before any offer (files40:
only an offer's refusal told it). Its text is never acted on; a malformed
one is a protocol error (the session ends), never a crash. Real host and raw
channels on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from screencodec.capture import SyntheticDesktop
from screencodec.errors import ProtocolError
from screencodec.transport import HostConfig, allow, share, view
from screencodec.transport.connect import connect_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import VIEW
from screencodec.transport.session.refusal import TAKES_NO_FILES
from screencodec.transport.session.sidechannels import FileOfferInfo

from .secure_fixtures import FAST


async def _yes(info: FileOfferInfo) -> bool:
    return True


def _source(index: int) -> SyntheticDesktop:
    return SyntheticDesktop(160, 120, scenario="idle")


async def _notices(declared: bool, folder: Path | None) -> list[m.Notice]:
    """The notices a raw viewer gets up to its first picture."""
    kw = {} if folder is None else {"config": HostConfig(download_dir=folder),
                                    "file_consent": _yes}  # fmt: skip
    async with share(_source, consent=allow(), listen="127.0.0.1:0", timeouts=FAST, **kw) as s:
        ch = await connect_direct("127.0.0.1", s.address[1], s.code, s.password, timeouts=FAST)
        caps = m.Capabilities.full()
        flags = caps.flags | (m.Capabilities.FILE_NOTICES if declared else 0)
        await ch.send(m.encode(m.Capabilities(caps.ops, caps.video, flags, caps.max_cache)))
        await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "Alice")))
        got: list[m.Notice] = []
        while True:
            msg = m.decode(await ch.recv())
            if isinstance(msg, m.Notice):
                got.append(msg)
            if isinstance(msg, m.Update | m.CompactUpdate | m.CompactUpdateRefs):
                break
        await ch.close()
        return got


@pytest.mark.parametrize("declared", [False, True])
def test_files41_only_a_viewer_that_declared_it_is_told(declared: bool) -> None:
    got = asyncio.run(asyncio.wait_for(_notices(declared, None), 60))
    told = [m.Notice(m.Notice.TAKES_NO_FILES, TAKES_NO_FILES)]
    assert got == (told if declared else [])


def test_files41_a_host_that_takes_files_says_nothing(tmp_path: Path) -> None:
    assert asyncio.run(asyncio.wait_for(_notices(True, tmp_path), 60)) == []


def test_files41_a_viewer_knows_before_any_offer() -> None:
    async def main() -> tuple[bool, list[int]]:
        async with (
            share(_source, consent=allow(), listen="127.0.0.1:0", timeouts=FAST) as s,
            view(f"127.0.0.1:{s.address[1]}", code=s.code, password=s.password,
                 timeouts=FAST) as viewer,  # fmt: skip
        ):
            # Up to 30 s (was 200 sleeps of 0.02 s: 4 s, short on a loaded machine).
            give_up = asyncio.get_running_loop().time() + 30
            while not viewer.sender.peer_takes_none and asyncio.get_running_loop().time() < give_up:
                await asyncio.sleep(0.02)
            return viewer.sender.peer_takes_none, [n.code for n in viewer.notices]

    takes_none, codes = asyncio.run(asyncio.wait_for(main(), 60))
    assert takes_none
    assert codes == [m.Notice.TAKES_NO_FILES]


def test_files41_the_notice_on_the_wire_is_checked() -> None:
    # Any text within the bound is taken (shown sanitised, never acted on)...
    odd = m.Notice(m.Notice.TAKES_NO_FILES, "\x1b[2J\u202e" + "x" * 1000)
    assert m.decode(m.encode(odd)) == odd
    # ... one cut short, or too long, is a protocol error (the session ends).
    raw = m.encode(odd)
    with pytest.raises(ProtocolError):
        m.decode(raw[:-3])
    with pytest.raises((ProtocolError, ValueError)):
        m.encode(m.Notice(m.Notice.TAKES_NO_FILES, "x" * 1025))
    # A viewer of the version before drops the bit; this one keeps it.
    caps = m.Capabilities.full()
    wide = m.decode(m.encode(m.Capabilities(caps.ops, caps.video, 0xFFFF, caps.max_cache)))
    assert isinstance(wide, m.Capabilities)
    assert wide.flags & m.Capabilities.FILE_NOTICES
    assert wide.flags == m.Capabilities.KNOWN_FLAGS
