"""Attacks on the local web server of ``view --web`` that the access tests do
not try: WebSocket origins that are near misses (another port of this
address, a sandboxed page's "null", https, a look-alike name), Host headers
that are near misses, a flood of sockets that never say hello holding the
server while the real page arrives, and an oversized first frame. Real
server on loopback, real aiohttp client. Expected outcome: every near miss
is refused before anything is served or upgraded, and the real page is
admitted whatever waits beside it."""

from __future__ import annotations

import aiohttp
import pytest

from .test_web_access import Served, _hello, _nothing_then_closed, run


def test_near_miss_origins_and_hosts_are_refused() -> None:
    async def main() -> None:
        s = Served()
        await s.server.start()
        port, key = s.server.port, s.server.access.static_key
        origins = ["null", f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}",
                   f"http://127.0.0.1.evil.example:{port}", f"http://localhost.:{port}",
                   f"http://[::1]:{port}", "http://127.0.0.1"]  # fmt: skip
        hosts = [f"127.0.0.1:{port + 1}", "127.0.0.1", "localhost", f"127.0.0.1.:{port}",
                 f"[::1]:{port}", f"evil.example:{port}", f"127.0.0.1:{port}.evil.example"]
        try:
            async with aiohttp.ClientSession() as http:
                ws_url = f"http://127.0.0.1:{port}/ws"
                for origin in origins:
                    with pytest.raises(aiohttp.WSServerHandshakeError):
                        await http.ws_connect(ws_url, headers={"Origin": origin})
                for host in hosts:
                    for path in ("/", "/boot.js", f"/s/{key}/app/main.js", "/ws"):
                        r = await http.get(f"http://127.0.0.1:{port}{path}",
                                           headers={"Host": host, "Origin": f"http://{host}"})
                        assert r.status == 404, (host, path)
                # A form posted from anywhere (CSRF) has nothing to reach.
                r = await http.post(f"http://127.0.0.1:{port}/ws", data={"t": "bye"})
                assert r.status in (404, 405)
            assert s.hellos == []
        finally:
            await s.server.close()

    run(main())


def test_silent_sockets_and_an_oversized_hello_do_not_keep_the_page_out() -> None:
    """100 sockets that never send their hello, and one whose first frame is
    512 KiB of text: the real page, arriving among them, is admitted at once;
    the silent ones are closed without a byte, none of them admitted."""

    async def main() -> None:
        s = Served()
        await s.server.start()
        port, token = s.server.port, s.server.access.token
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        try:
            # No client-side cap (aiohttp's default is 100 connections).
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                url = f"http://127.0.0.1:{port}/ws"
                silent = [await http.ws_connect(url, headers=origin) for _ in range(100)]
                big = await http.ws_connect(url, headers=origin)
                await big.send_str('{"t":"hello","key":"' + "k" * (512 * 1024 - 40) + '"}')
                assert await _nothing_then_closed(big)
                page = await http.ws_connect(url, headers=origin)
                await page.send_json(_hello(token))
                assert (await page.receive_json())["t"] == "status"
                assert len(s.hellos) == 1
                for ws in silent:
                    assert await _nothing_then_closed(ws)
                assert len(s.hellos) == 1
                await page.close()
        finally:
            await s.server.close()

    run(main())
