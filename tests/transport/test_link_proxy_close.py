"""The tests' LinkProxy closes every connection it holds, whatever state it
is in: one left open when a test's loop closes is collected later, in
another test, whose run then fails on its ResourceWarnings (CI: "unclosed
transport" and "StreamWriter.__del__: loop is closed" in
test_walk4_page_limit.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from transport.helpers import LinkProxy, run, until


def test_link_proxy_close_ends_a_connection_still_being_joined_to_its_target() -> None:
    """A connection the proxy accepted while its own connection to the target
    is still opening (the target's backlog is full: its SYN gets no answer),
    as a viewer reconnecting when the test ends: close() resets it. It used
    to be left open (the pair was not made yet, so close() did not know it)."""

    async def main() -> None:
        with socket.socket() as full:
            full.bind(("127.0.0.1", 0))
            full.listen(0)
            with socket.create_connection(full.getsockname()):  # its one place taken
                proxy = LinkProxy(full.getsockname()[1])
                await proxy.start()
                before = len(asyncio.all_tasks())
                reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
                try:
                    await until(lambda: len(asyncio.all_tasks()) > before,
                                what="the proxy connecting to its target")  # fmt: skip
                    await proxy.close()
                    # Expected: the connection ends (an orderly end or a reset).
                    with contextlib.suppress(ConnectionError):
                        assert await asyncio.wait_for(reader.read(), 10) == b""
                finally:
                    writer.transport.abort()

    run(main())
