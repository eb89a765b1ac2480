"""nofiles35: a viewer that refuses every file offer (no download folder, or
no one to ask) says so up front, in its Capabilities (flag bit NO_FILES), so
that the host need not offer it one to learn it. Before: the bit was not
there, and the host's ``/send`` told the user each agent was asked, then at
once that the terminal viewer "did not accept big.bin: it takes no files".

The bit round-trips, is not part of ``Capabilities.full()``, and a host of
the version before (which knew only the four bits below it) drops it without
failing; over real loopback sockets the host sees it exactly for a viewer
without a download folder or consent, and a viewer of the version before
(no bit) is taken to take files, as before."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.transport import Host, HostConfig, Viewer, allow
from screencodec.transport.session import messages as m

from .helpers import run, tcp_pair

__all__: list[str] = []

#: The flag bits of the version before this one (what its parser kept).
BEFORE = (m.Capabilities.RECEIPTS | m.Capabilities.ZSTD_MED | m.Capabilities.COMPACT
          | m.Capabilities.COMPACT_RECTS)  # fmt: skip


def test_the_no_files_bit_round_trips_and_is_not_in_full() -> None:
    assert m.Capabilities.NO_FILES == 16
    assert not m.Capabilities.NO_FILES & BEFORE
    assert not m.Capabilities.full().flags & m.Capabilities.NO_FILES
    assert not m.Capabilities.full(compact=False).flags & m.Capabilities.NO_FILES
    assert not m.Capabilities.legacy().flags & m.Capabilities.NO_FILES
    full = m.Capabilities.full()
    none = dataclasses.replace(full, flags=full.flags | m.Capabilities.NO_FILES)
    for caps in (full, none):
        assert m.decode(m.encode(caps)) == caps


def test_a_host_of_the_version_before_drops_the_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its parser masks the flags with the bits it knows: the bit is
    dropped, nothing fails, and the viewer is taken to take files."""
    full = m.Capabilities.full()
    data = m.encode(dataclasses.replace(full, flags=full.flags | m.Capabilities.NO_FILES))
    monkeypatch.setattr(m.Capabilities, "KNOWN_FLAGS", BEFORE)
    assert m.decode(data) == full


async def _declared(tmp_path: Path, *, before: bool = False, **viewer_kw: object) -> bool:
    """Whether a real Host says the viewer made with ``viewer_kw`` takes
    files (``before``: it declares as the version before did, no bit)."""
    host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3), consent=allow(),
                config=HostConfig(local_input_pause=0.01))  # fmt: skip
    host_ch, viewer_ch, server = await tcp_pair()
    serve = asyncio.ensure_future(host.serve(host_ch))
    viewer = Viewer(viewer_ch, **viewer_kw)  # type: ignore[arg-type]
    if before:
        viewer.capabilities = m.Capabilities.full()
    try:
        await viewer.start()
        (peer,) = host.viewers
        # What the viewer says it declared is what the host read.
        declared = not viewer.capabilities.flags & m.Capabilities.NO_FILES
        assert host.takes_files(peer) is declared
        return declared
    finally:
        await viewer.bye()
        await asyncio.gather(serve, return_exceptions=True)
        await host.close()
        server.close()
        await server.wait_closed()


async def _yes(_: object) -> bool:
    return True


def test_the_host_sees_the_bit_exactly_when_the_viewer_takes_no_files(tmp_path: Path) -> None:
    async def main() -> None:
        assert await _declared(tmp_path, download_dir=tmp_path, file_consent=_yes) is True
        assert await _declared(tmp_path) is False
        assert await _declared(tmp_path, download_dir=tmp_path) is False  # no one to ask
        assert await _declared(tmp_path, file_consent=_yes) is False  # nowhere to save
        assert await _declared(tmp_path, before=True) is True  # as today

    run(main(), 20)


def test_a_host_says_a_viewer_not_sharing_takes_no_files() -> None:
    """Nothing can be sent to a peer not sharing (as ``send`` raises)."""
    async def main() -> None:
        host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3), consent=allow())
        assert host.takes_files("nobody") is False
        await host.close()

    run(main(), 5)
