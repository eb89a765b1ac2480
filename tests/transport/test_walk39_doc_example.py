"""docs/transport.md's "The short way" block, run as written (walk39): a
customer and an agent service on loopback, the synthetic desktop, chat and a
file to the host asked about. Only the folders are made here, in a fresh
working directory, and the two sides started; nothing of the block is
swapped, so a doc that drifts from the API fails here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "transport.md"


def _block() -> str:
    section = DOC.read_text().split("## The short way: `share()` and `view()`", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_walk39_the_short_way_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "incoming").mkdir()
    (tmp_path / "received").mkdir()
    (tmp_path / "notes.txt").write_text("the agent's notes\n")
    scope: dict[str, Any] = {"asyncio": asyncio}
    exec(compile(_block(), str(DOC), "exec"), scope)

    async def main() -> None:
        ready: asyncio.Future[tuple[int, str, str]] = asyncio.get_running_loop().create_future()
        customer = asyncio.ensure_future(scope["customer"](ready))
        port, code, password = await asyncio.wait_for(ready, 20)
        await scope["agent"](port, code, password)
        await asyncio.wait_for(customer, 20)  # the agent left: wait_ended returned

    asyncio.run(asyncio.wait_for(main(), 60))
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Alice asks for view",
        "host says: hello",
        "viewer said bye: the agent left the session",
    ]
    assert (tmp_path / "incoming" / "notes.txt").read_text() == "the agent's notes\n"
    png = (tmp_path / "first.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[16:24] == (1280).to_bytes(4, "big") + (720).to_bytes(4, "big")  # IHDR: W, H
