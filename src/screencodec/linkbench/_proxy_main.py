"""The proxy process of :class:`~.isolated.ProxyProcess`:
``python -m screencodec.linkbench._proxy_main SPEC``.

Not imported by the package, so that ``-m`` runs it exactly once. ``SPEC`` is
JSON: ``{"upstream": port, "link": Link fields, "kwargs": ShapingProxy options}``.
Prints the port as one line, then answers each command line on stdin
(``stats``, ``rate BYTES_PER_S``, ``upload``, ``no upload``, ``close``; end of
input counts as ``close``) with a 4-byte
big-endian length and a pickle of ``(down, up, connections, upload)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import sys
from typing import Any

from .isolated import LENGTH
from .shaper import Link, ShapingProxy

__all__ = ["main"]


async def main(spec: dict[str, Any]) -> None:
    proxy = ShapingProxy(spec["upstream"], Link(**spec["link"]), **spec["kwargs"])
    await proxy.start()
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    out = sys.stdout.buffer
    out.write(f"{proxy.port}\n".encode())
    out.flush()
    while True:
        cmd = (await stdin.readline()).strip()
        closing = cmd in (b"close", b"")  # EOF: the parent is gone
        if cmd.startswith(b"rate "):  # the link changes (linkbench.steps)
            proxy.set_rate(float(cmd[5:]))
        elif cmd == b"upload":  # someone else's upload starts ...
            await proxy.start_upload()
        elif cmd == b"no upload":  # ... and ends
            await proxy.stop_upload()
        if closing:
            await proxy.close()
        blob = pickle.dumps((proxy.down, proxy.up, proxy.connections, proxy.upload))
        with contextlib.suppress(OSError):
            out.write(LENGTH.pack(len(blob)) + blob)
            out.flush()
        if closing:
            return


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
