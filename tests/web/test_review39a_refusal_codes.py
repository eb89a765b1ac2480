"""review39a: web39's close codes (4001 another page holds the session,
4002 the link's token spent) go only to a socket that presented a right
key: one without the secret learns nothing from them, neither whether a
page holds the session nor whether the link was used. Checked on a real
server on loopback: a wrong key (and a near miss, the token less its last
character) gets the plain close, 1000, before any page came, while one is
connected, and once the token is spent with no page there."""

from __future__ import annotations

import asyncio

import aiohttp

from .test_web_access import Served, _hello, _nothing_then_closed, _ws, run


async def _wrong_keys(http: aiohttp.ClientSession, port: int, token: str) -> list[int]:
    codes = []
    for key in ("x" * 43, token[:-1], token + "A"):
        ws = await _ws(http, port)
        await ws.send_json(_hello(key))
        assert await _nothing_then_closed(ws)
        codes.append(ws.close_code)
    return codes


def test_a_wrong_key_learns_nothing_from_the_close() -> None:
    async def main() -> dict[str, list[int]]:
        s = Served()
        await s.server.start()
        port, token = s.server.port, s.server.access.token
        seen: dict[str, list[int]] = {}
        try:
            async with aiohttp.ClientSession() as http:
                seen["before any page"] = await _wrong_keys(http, port, token)
                page = await _ws(http, port)
                await page.send_json(_hello(token))
                assert (await page.receive_json())["t"] == "status"
                seen["a page connected"] = await _wrong_keys(http, port, token)
                await page.close()
                while s.server.access.live:
                    await asyncio.sleep(0.01)
                seen["token spent, no page"] = await _wrong_keys(http, port, token)
        finally:
            await s.server.close()
        return seen

    seen = run(main())
    assert seen == {k: [1000, 1000, 1000] for k in seen} and len(seen) == 3, seen
