"""review39c: the terminal's line for a page refused with a spent resume key
(webtail39's USED, 4003). ``telling_refusals`` chose its line by ``code ==
IN_USE``, "whether a page holds it", and USED is not IN_USE: a copy of the
tab refused while the session's tab is open made the terminal say "(the
link opens one page, once): the session's own tab gets back in with a
reload", telling the agent to reload the tab that has the session. Found on
a real WebServer on loopback: the page holding it, the line was False's.
Expected: the line of a page holding the session while one does, the
other's when none does."""

from __future__ import annotations

import asyncio

import aiohttp

from screencodec.web.run import REFUSED_LINES, telling_refusals
from screencodec.web.server import WebServer

from .test_web_access import Served, _hello, _nothing_then_closed, _ws, run


async def _admitted(http: aiohttp.ClientSession, s: Served, key: str) -> tuple[object, str]:
    page = await _ws(http, s.server.port)
    await page.send_json(_hello(key))
    assert (await page.receive_json())["t"] == "status"
    return page, s.hellos[-1]["resume"]


async def _refused(http: aiohttp.ClientSession, s: Served, key: str) -> int:
    copy = await _ws(http, s.server.port)
    await copy.send_json(_hello(key))
    assert await _nothing_then_closed(copy)
    return int(copy.close_code)


def test_review39c_a_copy_with_a_spent_key_gets_the_line_of_a_held_session() -> None:
    said: list[str] = []

    async def main() -> list[int]:
        s = Served()
        s.server = WebServer(s.on_page, on_refused=telling_refusals(said.append))
        await s.server.start()
        codes = []
        try:
            async with aiohttp.ClientSession() as http:
                page, first = await _admitted(http, s, s.server.access.token)
                await page.close()  # type: ignore[attr-defined]  # the tab reloads
                while s.server.access.live:
                    await asyncio.sleep(0.01)
                page, _ = await _admitted(http, s, first)  # its key spent
                codes.append(await _refused(http, s, first))  # the copy, while held
        finally:
            await s.server.close()
        return codes

    assert run(main()) == [4003]
    assert said == [REFUSED_LINES[True]], said
