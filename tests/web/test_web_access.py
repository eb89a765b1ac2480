"""Who gets an answer from the web viewer: the one-time token, the derived
static key, loopback only, Host and Origin checks, one page at a time."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import time
from typing import Any

import aiohttp
import pytest

from free_port import free_port
from loop_thread import LoopThread
from screencodec.web import PageAccess, WebServer
from screencodec.web.access import IN_USE, SPENT, USED, static_key_of

from .conftest import wait_page


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


class Served:
    """A WebServer whose page handler records hellos and echoes until closed."""

    def __init__(self) -> None:
        self.hellos: list[dict[str, Any]] = []
        self.server = WebServer(self.on_page)

    async def on_page(self, ws: Any, hello: dict[str, Any]) -> None:
        self.hellos.append(hello)
        await ws.send_str('{"t":"status","text":"hi"}')
        async for _ in ws:
            pass


def _hello(key: str) -> dict[str, Any]:
    return {"t": "hello", "key": key, "h264_444": False, "h264_420": False, "zstream": True}


async def _ws(session: aiohttp.ClientSession, port: int, origin: str | None = None) -> Any:
    headers = {"Origin": origin or f"http://127.0.0.1:{port}"}
    return await session.ws_connect(f"http://127.0.0.1:{port}/ws", headers=headers)


async def _nothing_then_closed(ws: Any) -> bool:
    msg = await ws.receive()
    return msg.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.CLOSING,
    )


def test_static_files_need_the_key() -> None:
    async def main() -> None:
        s = Served()
        await s.server.start()
        port, key = s.server.port, s.server.access.static_key
        try:
            async with aiohttp.ClientSession() as http:
                base = f"http://127.0.0.1:{port}"
                r = await http.get(base + "/")
                body = await r.text()
                assert r.status == 200 and s.server.access.token not in body
                assert "default-src 'none'" in r.headers["Content-Security-Policy"]
                assert (await http.get(base + "/boot.js")).status == 200
                token = s.server.access.token
                bad = [f"/s/{'0' * 64}/app/main.js", "/app/main.js", "/static/app/main.js",
                       f"/s/{key}/../server.py", f"/s/{key}/%2e%2e/server.py",
                       f"/s/{token}/app/main.js", f"/s/{key}/files/1"]  # fmt: skip
                for path in bad:
                    r = await http.get(base + path)
                    assert r.status == 404 and await r.read() in (b"", b"404: Not Found"), path
                r = await http.get(f"{base}/s/{key}/app/main.js")
                assert r.status == 200 and r.content_type == "text/javascript"
                # Another name for this address (DNS rebinding): refused.
                r = await http.get(base + "/", headers={"Host": f"evil.example:{port}"})
                assert r.status == 404
        finally:
            await s.server.close()

    run(main())


def test_socket_needs_the_token_once() -> None:
    async def main() -> None:
        s = Served()
        await s.server.start()
        port, token = s.server.port, s.server.access.token
        try:
            async with aiohttp.ClientSession() as http:
                # Another origin, or none: not even upgraded.
                with pytest.raises(aiohttp.WSServerHandshakeError):
                    await _ws(http, port, origin="http://evil.example")
                # Wrong key, malformed hello, binary first: closed, nothing sent.
                for first in (_hello("x" * 43), _hello(token[:-1]), {"t": "hello", "key": token}):
                    ws = await _ws(http, port)
                    await ws.send_json(first)
                    assert await _nothing_then_closed(ws) and ws.close_code == 1000  # no why
                ws = await _ws(http, port)
                await ws.send_bytes(token.encode())
                assert await _nothing_then_closed(ws)
                assert s.hellos == [] and s.server.access.refused == 4
                # The token: admitted, with a resume key.
                page = await _ws(http, port)
                await page.send_json(_hello(token))
                assert (await page.receive_json())["t"] == "status"
                resume = s.hellos[0]["resume"]
                # A second tab, even with the token or the resume key, while it
                # lives: nothing but the close, whose code says why (web39:
                # a right key, told nothing, read "reload" on its page).
                for key in (token, resume):
                    ws = await _ws(http, port)
                    await ws.send_json(_hello(key))
                    assert await _nothing_then_closed(ws) and ws.close_code == IN_USE
                await page.close()
                await asyncio.sleep(0)  # lets the server see the close
                while s.server.access.live:
                    await asyncio.sleep(0.01)
                # The token was used up; the tab's resume key brings it back (a reload).
                ws = await _ws(http, port)
                await ws.send_json(_hello(token))
                assert await _nothing_then_closed(ws) and ws.close_code == SPENT
                ws = await _ws(http, port)
                await ws.send_json(_hello(resume))
                assert (await ws.receive_json())["t"] == "status"
                assert len(s.hellos) == 2 and s.hellos[1]["resume"] != resume
                await ws.close()
        finally:
            await s.server.close()

    run(main())


def test_a_spent_resume_key_is_told_used_and_a_random_one_nothing() -> None:
    """webtail39: a resume key this server issued and a later admission
    spent (a copy of the tab whose original reloaded) is told so (USED);
    a key it never issued still nothing; a lone surrogate in the key (JSON
    allows one) is refused, not the handler's exception."""
    access = PageAccess()
    first = access.admit(access.token)
    assert first is not None
    access.release()
    second = access.admit(first)  # the tab reloaded
    assert second is not None and second != first
    assert access.admit(first) is None and access.refusal == USED  # live: still "used"
    access.release()
    assert access.admit(first) is None and access.refusal == USED
    for other in ("x" * 43, first[:-1], "\ud800" + first[1:]):
        assert access.admit(other) is None and access.refusal is None, other
    assert access.admit(second) is not None  # the key the tab holds still admits it
    assert access.refused == 5

    async def main() -> None:
        s = Served()
        await s.server.start()
        try:
            async with aiohttp.ClientSession() as http:
                keys = []
                for key in (s.server.access.token, None, None):
                    page = await _ws(http, s.server.port)
                    await page.send_json(_hello(key or keys[-1]))
                    assert (await page.receive_json())["t"] == "status"
                    keys.append(s.hellos[-1]["resume"])
                    await page.close()
                    while s.server.access.live:
                        await asyncio.sleep(0.01)
                for key, code in ((keys[0], USED), (keys[1], USED), ("\ud800" * 8, 1000)):
                    ws = await _ws(http, s.server.port)
                    await ws.send_str(json.dumps(_hello(key)))
                    assert await _nothing_then_closed(ws) and ws.close_code == code, key
        finally:
            await s.server.close()

    run(main())


def _other_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        try:
            u.connect(("10.255.255.255", 1))
            addr = u.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def test_listens_on_loopback_only() -> None:
    async def main() -> None:
        s = Served()
        await s.server.start()
        try:
            runner = s.server._runner
            assert runner is not None
            bound = {site.name for site in runner.sites}
            assert bound == {f"http://127.0.0.1:{s.server.port}"}
            other = _other_address()
            if other is not None:
                with pytest.raises(ConnectionRefusedError):
                    await asyncio.open_connection(other, s.server.port)
        finally:
            await s.server.close()

    run(main())


def test_a_fixed_port_serves_again_right_after_a_session() -> None:
    # The server closes the page's connections first, so they linger in
    # TIME_WAIT on its port; the next session on the same --web-port must
    # still start (and one still listening there must still refuse it).
    async def main() -> None:
        first = Served()
        await first.server.start()
        port = first.server.port
        async with aiohttp.ClientSession() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/")).status == 200
            page = await _ws(http, port)
            await page.send_json(_hello(first.server.access.token))
            assert (await page.receive_json())["t"] == "status"
            await first.server.close()
            assert await _nothing_then_closed(page)
        second = Served()
        second.server = WebServer(second.on_page, port=port)
        await second.server.start()
        try:
            third = WebServer(second.on_page, port=port)
            with pytest.raises(OSError, match="in use") as exc:
                await third.start()
            assert exc.value.errno == errno.EADDRINUSE
            await third.close()
        finally:
            await second.server.close()

    run(main())


def test_static_key_is_derived_from_the_token() -> None:
    # The browser test below proves boot.js derives the same key (it loads the app).
    acc = PageAccess("t" * 43)
    assert acc.static_key == static_key_of("t" * 43) != static_key_of("u" * 43)
    assert acc.static_ok(static_key_of("t" * 43)) and not acc.static_ok("0" * 64)
    assert acc.token not in acc.static_key


def test_second_tab_cannot_take_over(browser: Any) -> None:
    from screencodec.capture import open_source

    from .harness import LiveSession, StillSource

    live = LiveSession(
        StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    )
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="first page")
        first = browser.current_window_handle
        browser.switch_to.new_window("tab")
        browser.get(live.url)
        # Refused: its socket is closed (the page says so) and no picture reached it.
        st = wait_page(browser, lambda s: s["closed"], what="second tab refused")
        assert st["applied"] == 0 and not st["connected"]
        # It says why on its own (web39: the banner said "reload", which was refused too).
        assert browser.execute_script(
            "const e = document.getElementById('boot-error');"
            "return !e.hidden && e.textContent === window.screencodecPage.refusal"
            " && e.textContent.startsWith('This session is open in another tab')"
        )
        browser.close()
        browser.switch_to.window(first)
        before = wait_page(browser, lambda s: True)["applied"]
        assert wait_page(browser, lambda s: s["connected"])["applied"] >= before
        # The first page reloads: its resume key brings it back with a fresh picture.
        browser.refresh()
        wait_page(browser, lambda s: s["connected"] and s["applied"] >= 1, what="reloaded page")
    finally:
        live.close()


class _Welcoming(Served):
    """Served that also sends the welcome, as the bridge does: the page then
    keeps this session's resume key in its tab's sessionStorage."""

    async def on_page(self, ws: Any, hello: dict[str, Any]) -> None:
        await ws.send_str(json.dumps({"t": "welcome", "resume": hello["resume"], "who": "t"}))
        await super().on_page(ws, hello)


def test_next_link_in_the_same_tab_opens_the_next_session(browser: Any) -> None:
    # With a fixed --web-port, the next session's link differs from the last
    # one only in its fragment: pasted into the old tab, it is a same-document
    # navigation (hashchange), which must still open the new session.
    def wait(cond: Any, what: str) -> None:
        deadline = time.monotonic() + 20
        while not cond():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    port = free_port()
    first, second = _Welcoming(), _Welcoming()
    first.server = WebServer(first.on_page, port=port)
    second.server = WebServer(second.on_page, port=port)
    with LoopThread(timeout=20) as loop:
        try:
            loop.call(first.server.start())
            browser.get(first.server.url)
            wait_page(browser, lambda s: s["connected"], what="the first session")
            loop.call(first.server.close())
            wait_page(browser, lambda s: s["closed"], what="the first session's end")
            loop.call(second.server.start())
            assert second.server.url.split("#")[0] == first.server.url.split("#")[0]
            browser.get(second.server.url)
            wait(lambda: second.hellos, "a hello at the second server")
            # The new token, not the old tab's resume key from sessionStorage.
            assert second.hellos[0]["key"] == second.server.access.token
            assert [h["key"] for h in first.hellos] == [first.server.access.token]
            wait_page(browser, lambda s: s["connected"], what="the second session")
            assert "#" not in browser.current_url
            # A plain reload of that tab still resumes, now with the second session's key.
            browser.refresh()
            wait(lambda: len(second.hellos) == 2, "the reloaded tab's hello")
            assert second.hellos[1]["key"] == second.hellos[0]["resume"]
        finally:
            loop.call(first.server.close())
            loop.call(second.server.close())
