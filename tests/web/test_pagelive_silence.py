"""The page says at once when the link goes quiet, and takes it back when
traffic returns (web/bridge.py, the sealed channel's probe). Real host and
web viewer over sealed channels on loopback through the shaping proxy
(linkbench/shaper.py, 40 ms round trip), whose sockets the test stops
reading: what either side sends is held (a Wi-Fi gone: TCP keeps it until
the line is back), nothing is reset. Headless Chromium shows the page."""

from __future__ import annotations

import asyncio
import subprocess
import time
import types
from pathlib import Path
from typing import Any

import pytest

from screencodec.capture import open_source
from screencodec.linkbench.shaper import Link, ShapingProxy
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import listen_direct
from screencodec.web.bridge import PROBED_SILENT_AFTER, SILENT_AFTER

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_newuser2_page_states import _text
from .test_page_resume import _LinkedSession

_ROOT = Path(__file__).resolve().parents[2]


class _ShapedSession(_LinkedSession):
    """A live session through the shaping proxy (unlimited rate, 40 ms
    round trip); the host's user agrees through ``consent`` (at once if None)."""

    proxy: Any

    async def _make_host(self, consent: Any, config: Any, kw: dict[str, Any]) -> Any:
        self.asked = []
        host = await LiveSession._make_host(self, consent, config, kw)
        self.creds = SessionCredentials()
        self.listener = await listen_direct("127.0.0.1", 0, self.creds, host.serve)
        self.proxy = ShapingProxy(self.listener.port, Link.symmetric(None, 0.04))
        await self.proxy.start()
        return host

    def hold(self, on: bool) -> None:
        """Stop (or go on) reading both sides' sockets at the proxy: each
        side's sending waits in TCP, as over a link that went away."""
        for writer in self.proxy._writers:
            transport = writer.transport
            if not transport.is_closing():
                (transport.pause_reading if on else transport.resume_reading)()


def _still() -> StillSource:
    return StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))


def _status(browser: Any) -> str:
    return _text(browser, "status")


def _quiet_session(browser: Any, live: _ShapedSession) -> None:
    """The page open with its first picture, then the host's screen frozen:
    nothing changes, so the host sends no update from then on."""
    browser.get(live.url)
    wait_page(browser, lambda s: s["applied"] >= 1 and _status(browser) == "Connected",
              what="the first picture")  # fmt: skip
    live.run(live.source.freeze)


@pytest.mark.slow
def test_page_says_a_held_link_is_silent_within_seconds_and_connected_when_it_is_back(
    browser: Any,
) -> None:
    """A still screen keeps the page 'Connected' (the channel's probes make
    the host answer); a link that holds everything, held just after an
    update, is said within a few seconds, well before a host's 10 s Stats
    could be overdue (the old page waited SILENT_AFTER, 12 s, after the
    host's last word); 'Connected' again once it flows, the session never
    ended. Fails on the old bridge and channel (the silence said 12 s after
    the hold)."""
    live = _ShapedSession(_still())
    try:
        _quiet_session(browser, live)
        # A quiet host is not a silent one: 2 probe periods and more of a
        # still screen, watched every 50 ms, never leave "Connected".
        until = time.monotonic() + 2 * PROBED_SILENT_AFTER
        while time.monotonic() < until:
            assert _status(browser) == "Connected"
            time.sleep(0.05)
        channel = live.run(lambda: live.web.viewer.channel)  # type: ignore[union-attr]
        assert live.run(lambda: channel.answers_probes)
        # The screen changes again (its caret blinks): updates flow up to the hold.
        before = wait_page(browser, lambda s: True)["applied"]
        live.run(lambda: setattr(live.source, "frozen", None))
        wait_page(browser, lambda s: s["applied"] > before + 1, what="the caret's updates")
        live.run(lambda: live.hold(True))
        try:
            # Within 9 s: the old page said it 12 s after the host's last
            # word (its Stats period + 2), here an update just before the hold.
            assert SILENT_AFTER > 9
            st = wait_page(browser, lambda s: _status(browser).startswith(
                "No word from the user's computer for"), timeout=9,
                what="the silence said")  # fmt: skip
            assert st["ended"] is None
        finally:
            live.run(lambda: live.hold(False))
        st = wait_page(browser, lambda s: _status(browser) == "Connected", timeout=10,
                       what="'Connected' once the link flows again")  # fmt: skip
        assert st["ended"] is None and st["banner"] is None
        # The session goes on: the host's screen still reaches the page.
        before = st["applied"]
        wait_page(browser, lambda s: s["applied"] > before, what="a picture after the hold")
    finally:
        live.close()


def _previous_sealed() -> types.ModuleType:
    """channel/sealed.py as it was before probes (bbd343c), loaded as a module."""
    try:
        text = subprocess.run(
            ["git", "-C", str(_ROOT), "show",
             "bbd343c:src/screencodec/transport/channel/sealed.py"],
            check=True, capture_output=True, text=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the repository's history (git) is needed for the previous channel")
    module = types.ModuleType("previous_sealed")
    exec(compile(text, "previous_sealed.py", "exec"), module.__dict__)
    return module


@pytest.mark.slow
def test_a_host_of_the_previous_version_ignores_probes_and_the_page_waits_its_stats(
    browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host whose sealed channel is the previous version's reads each probe
    as a keepalive: the session goes on (it is not ended), the viewer sees no
    answer, and the page does not take the host's quiet for silence after
    3 s: it waits for the host's Stats (SILENT_AFTER)."""
    from screencodec.transport.connect import accept

    monkeypatch.setattr(accept, "SecureChannel", _previous_sealed().SecureChannel)
    live = _ShapedSession(_still())
    try:
        _quiet_session(browser, live)
        host_channel = live.run(lambda: next(iter(live.listener.channels)))
        assert type(host_channel).__module__ == "previous_sealed"
        channel = live.run(lambda: live.web.viewer.channel)  # type: ignore[union-attr]
        # Three probe periods and more of a still screen: probes went (at the
        # open and after each 2 s without a word), none was answered, the
        # page still says "Connected", the session goes on.
        until = time.monotonic() + 3 * PROBED_SILENT_AFTER
        while time.monotonic() < until:
            assert _status(browser) == "Connected"
            time.sleep(0.05)
        assert not live.run(lambda: channel.answers_probes)
        assert live.run(lambda: host_channel in live.listener.channels)  # open
        before = wait_page(browser, lambda s: True)["applied"]
        live.run(lambda: setattr(live.source, "frozen", None))
        wait_page(browser, lambda s: s["applied"] > before, what="a picture after the probes")
        assert wait_page(browser, lambda s: True)["ended"] is None
    finally:
        live.close()


def test_the_channel_probes_an_idle_host_that_answers_at_once() -> None:
    """Over real sockets: a viewer's channel that reads and hears nothing
    asks (at its opening, then after each ``probe`` s without a byte); the
    host's channel answers while its caller only reads, and delivers none of
    it. The viewer's last_heard moves on with each answer."""
    from screencodec.transport.channel.limits import Timeouts
    from screencodec.transport.connect import connect_direct

    async def main() -> None:
        creds = SessionCredentials()
        accepted: asyncio.Queue[Any] = asyncio.Queue()
        quick = Timeouts(handshake=5.0, idle=None, keepalive=None, probe=0.2)
        listener = await listen_direct("127.0.0.1", 0, creds, accepted.put_nowait, timeouts=quick)
        try:
            viewer = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password,
                                          timeouts=quick)  # fmt: skip
            host = await asyncio.wait_for(accepted.get(), 5)
            host_got: list[bytes] = []
            viewer_got: list[bytes] = []

            async def read(channel: Any, into: list[bytes]) -> None:
                while True:
                    into.append(await channel.recv())

            readers = [asyncio.ensure_future(read(host, host_got)),
                       asyncio.ensure_future(read(viewer, viewer_got))]  # fmt: skip
            opened = viewer.last_heard
            await asyncio.sleep(1.5)
            assert viewer.answers_probes
            assert viewer.last_heard > opened + 0.5  # answers kept coming
            assert not host.answers_probes  # a host does not probe
            assert host_got == [] and viewer_got == []  # nothing delivered
            await viewer.send(b"still a channel")
            while not host_got:
                await asyncio.sleep(0.01)
            assert host_got == [b"still a channel"]
            for r in readers:
                r.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            await asyncio.gather(viewer.close(), host.close())
        finally:
            await listener.close()

    asyncio.run(asyncio.wait_for(main(), 20))
