"""takeover36's scenario in a network namespace of its own (root): an
agent's resumed link dropped without a reset before its first receipt, and
the agent's retry with the ticket it resumed with. Run by
test_takeover36_silent.py as ``ip netns exec NS python -m
tests.transport.takeover36_silent_run``; the
namespace's ``lo`` is up and holds 10.36.2.1/32, which this script takes
away: the link to it then carries nothing either way, and no reset comes (a
dead path, as a Wi-Fi gone or a NAT mapping expired make it). Prints one
line of JSON: what the retry met, how long it took, how often the host's
user was asked, the host's events.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.proof import link_key
from screencodec.transport.session.resume import Ticket

from .helpers import taking_up, until
from .takeover_host import host_for_takeover

#: The address whose link is dropped.
DROPPED = "10.36.2.1"


async def main() -> dict[str, Any]:
    setup = await host_for_takeover()
    ticket = await setup.first_agent_away()

    # Taken up with the ticket on a link to DROPPED; its agent reads up to
    # the first update (the next ticket came before it) and answers nothing.
    resumed = await setup.connect(DROPPED)
    for msg in taking_up(ticket, resumed, (VIEW | CONTROL).bits):
        await resumed.send(m.encode(msg))
    read: list[str] = []
    try:
        while not isinstance(msg := m.decode(await asyncio.wait_for(resumed.recv(), 10)),
                             m.Update):  # fmt: skip
            read.append(type(msg).__name__)
    except Exception as exc:
        # Say what the link read and what the host told (found once at load:
        # 'closed by peer: closed locally' here, and nothing more to go on).
        raise AssertionError(f"{exc!r}; read {read}; asked {len(setup.asked)};"
                             f" host events {setup.seen}") from exc
    await until(lambda: any(isinstance(e, SessionResumed) for e in setup.seen), 10, "resumed")
    # What a Viewer keeps once granted on that link (session/proof.py): the
    # ticket it holds, and that link's key, to prove its retry with.
    held = Ticket(bytes(ticket), proof_key=link_key(resumed))
    subprocess.run(["ip", "addr", "del", f"{DROPPED}/32", "dev", "lo"], check=True)

    # The agent's retry, with the only ticket it holds (the next never read).
    began = time.monotonic()
    again = Viewer(await setup.connect(), who="Alice", resume=held)
    try:
        level = await again.start(VIEW | CONTROL)
        outcome = "granted"
    except ConsentDeniedError as exc:
        level, outcome = None, f"refused: {exc}"
    took = time.monotonic() - began
    if level is not None:
        task = asyncio.ensure_future(again.run())
        await until(lambda: again.decoded >= 1, 10, "a picture")
        await again.bye()
        await asyncio.wait_for(task, 10)
    await asyncio.sleep(0.1)
    said = [{"type": type(e).__name__, **{k: getattr(e, k) for k in
             ("peer", "reason", "moved", "resumable", "who", "was", "away") if hasattr(e, k)}}
            for e in setup.seen if isinstance(e, SessionEnded | SessionResumed)]  # fmt: skip
    await resumed.close()
    await setup.close()
    return {"outcome": outcome, "took": round(took, 3), "asked": len(setup.asked),
            "level": None if level is None else str(level), "events": said}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
