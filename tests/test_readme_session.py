"""The README's "Sessions on real links" snippet, run as written (a few
literal values swapped for a free port, the session's own code and password
and a consent that says yes): the agent's ``viewer.request(CONTROL)``, which
the comment says asks the local user, gets control on a real X display.

Before, the snippet called ``share()`` without ``injector=``: a host that
cannot inject input shares for viewing only and refuses CONTROL without
asking anyone, so the request returned False (found by a first-time
walkthrough on Xvfb)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the README's snippet no longer holds {old!r}"
    return text.replace(old, new)


def _snippet() -> tuple[str, str, str]:
    """(imports, the customer's side, the agent's side) of the README's block."""
    section = README.read_text().split("## Sessions on real links", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    head, rest = block.split("# The customer's side", 1)
    customer, agent = rest.split("# The agent's side:", 1)
    return head, "# The customer's side" + customer, agent


def test_readme_session_snippet_gets_control(
    xvfb_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", xvfb_display)
    head, customer, agent = _snippet()
    customer = _swap(customer, "listen=7000", 'listen="127.0.0.1:0"')
    customer = _swap(customer, "consent=terminal_consent()", "consent=allow()")
    customer = _swap(customer, "print(session.code, session.password)", "ready.set_result(session)")
    agent = _swap(agent, '"192.0.2.7:7000"', "address")
    agent = _swap(agent, 'code="123 456 789"', "code=code")
    agent = _swap(agent, 'password="..."', "password=password")
    agent = _swap(agent, "await viewer.request(CONTROL)", "return await viewer.request(CONTROL)")
    source = (
        head + "from screencodec.transport import allow\n"
        "async def customer(ready):\n" + textwrap.indent(customer, "    ") + "\n"
        "async def agent(address, code, password):\n" + textwrap.indent(agent, "    ")
    )
    scope: dict[str, Any] = {}
    exec(compile(source, str(README), "exec"), scope)

    async def main() -> bool:
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        sharing = asyncio.ensure_future(scope["customer"](ready))
        session = await asyncio.wait_for(ready, 20)
        address = f"127.0.0.1:{session.address[1]}"
        granted = await scope["agent"](address, session.code, session.password)
        await asyncio.wait_for(sharing, 20)  # the agent left: the session ended
        return bool(granted)

    assert asyncio.run(asyncio.wait_for(main(), 60)) is True
