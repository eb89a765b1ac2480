"""smallleft35: ``screencodec view`` said no "granted" line when the link
dropped between the host's grant and its chat hello on a resumed link: the
"back in the session, granted: ..." line comes from the hello (the
Viewer's SessionRejoined), and the link that got the grant lost it.
Expected: the agent still learns what was granted once the link is back
(or the end line says so). A real ``screencodec host`` and ``screencodec
view``, a proxy on loopback that resets the resumed link right after the
frame that carries the grant (the first sealed data frame the host sends
on it: a resumed link is not asked about)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import struct
import threading

import pytest

from .helpers import LinkProxy
from .test_cli import answer_when_asked, start_host, stop
from .test_resume_cli import _ProxyThread
from .test_view_cli_ux import read_until, viewer
from .test_view_cli_ux import stop as stop_view

_HEADER = struct.Struct(">IB")  # channel/framing.py: length (type + body), type
_RECORD_DATA = 0x10


class _GrantCutProxy(LinkProxy):
    """Once armed, the next connection's host side is passed on frame by
    frame, and every link is reset right after its first data frame."""

    armed = False

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter,
                    sender: str) -> None:  # fmt: skip
        if sender != "host" or not self.armed:
            await super()._pump(r, w, sender)
            return
        self.armed = False
        with contextlib.suppress(OSError, ConnectionError, asyncio.IncompleteReadError):
            while True:
                header = await r.readexactly(_HEADER.size)
                length, ftype = _HEADER.unpack(header)
                w.write(header + await r.readexactly(length - 1))
                await w.drain()
                if ftype == _RECORD_DATA:
                    self.cut()
                    return


class _Proxy(_ProxyThread):
    def __init__(self, target: int) -> None:  # as _ProxyThread, with the proxy above
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = _GrantCutProxy(target)
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)
        self.port = self.proxy.port

    def arm(self) -> None:
        self.loop.call_soon_threadsafe(setattr, self.proxy, "armed", True)


@pytest.mark.xfail(strict=True, reason=(
    "found (smallleft35, in a script run and here): the resumed link's grant came, its "
    "chat hello and new ticket did not; the view reconnects with its old ticket, "
    "which the host spent on the cut link, and the host, though it said \"'support' "
    "may reconnect within 60 s ... without being asked\", asks its user again "
    "(Question 2) while the view says only 'reconnected; waiting for the host': no "
    "granted line. Expected: back in the session unasked, 'back in the session, "
    "granted: view' (or an end line that says what was granted). A host-side resume "
    "fix (transport/session/resume.py, link.py _issue_ticket after the hello), not "
    "only the view's words"))
def test_view_says_what_was_granted_after_a_link_cut_between_grant_and_hello() -> None:
    host, code, password, port = start_host()
    proxy = _Proxy(port)
    try:
        view = viewer(f"127.0.0.1:{proxy.port}", "--code", code, "--password", password)
        try:
            answer_when_asked(host)
            read_until(view, "[view] 320x240 decoded")
            proxy.arm()  # the resumed link is cut right after its grant
            proxy.cut()
            seen = read_until(view, "granted: view", timeout=30)
            assert "reconnecting for up to 60 s" in seen
            view.send_signal(signal.SIGINT)
            view.communicate(timeout=30)
        finally:
            stop_view(view)
    finally:
        proxy.close()
        stop(host)
