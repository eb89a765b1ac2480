"""A web viewer run cancelled while it is ending still cleans up.

``WebViewer.run`` ends in stages (the page's last messages, the server's close,
which waits up to its close timeout for the page's answer, then the download
folder). A cancellation that came during one of them (``view --web
--duration`` running out just as the host ended the session; the web test
harness cancelling a run that overran) skipped every stage after it: the
server's listening socket stayed open and the temporary download folder was
left to a later garbage collection (a ResourceWarning in some later test).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import tempfile
import warnings
from pathlib import Path

import pytest

from screencodec.web import WebOptions, WebViewer

from .test_server_close import _silent_page, server_frames


async def _until_close_frame(reader: asyncio.StreamReader) -> None:
    async for opcode, _ in server_frames(reader):
        if opcode == 0x8:
            return


def test_a_run_cancelled_in_its_server_close_still_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the download folder goes

    async def no_host() -> object:
        raise OSError("nothing listens there")

    async def main() -> tuple[bool, int]:
        web = WebViewer(no_host, WebOptions(open_browser=False))  # type: ignore[arg-type]
        run = asyncio.ensure_future(web.run())
        await asyncio.wait_for(web.listening.wait(), 10)
        assert web.server is not None
        port = web.server.port
        # A page that says hello and never answers the close: the run fails to
        # connect and waits in the server's close for the page's answer.
        reader, writer = await _silent_page(web.server)
        await asyncio.wait_for(_until_close_frame(reader), 10)
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(run, 10)
        writer.close()
        try:
            probe = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            listening = False
        else:
            probe[1].close()
            listening = True
        return listening, len(list(tmp_path.iterdir()))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listening, left = asyncio.run(asyncio.wait_for(main(), 60))
        gc.collect()
    # Expected: the server no longer listens, and the download folder was
    # removed by the run, not implicitly by a garbage collection.
    assert not listening
    assert left == 0
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
