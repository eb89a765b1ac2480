"""attack36: an on-path attacker who holds a copy of the ticket an agent
just took its session up with, and can drop the agent's packets for a
moment. Run by test_attack36_blip.py as ``ip netns exec NS python -m
tests.transport.attack36_blip_run``; the namespace's ``lo`` is up and holds
10.36.4.1/32.

The agent's session, taken up with the ticket on a link to 10.36.4.1, reads
on (its channel answers probes) but its answer to the first update does not
reach the host (dropped: it sends none here); then its path carries nothing
for BLIP seconds (the address taken away, then given back: no reset), and
meanwhile the attacker presents the copy. Prints one line of JSON: what the
attacker met, how long it took, how often the host's user was asked, and
how the agent's link ended once its path was back.

What the copy comes with (pop36, session/proof.py), the first argument:
``copy`` its bytes alone (no proof), ``other link`` a proof made with the
key of another link of that session (Alice's first, lost), ``replayed`` a
proof made with the agent's own link's key but for another connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from typing import Any

from screencodec.errors import ConsentDeniedError, ScreencodecError
from screencodec.transport import CONTROL, VIEW, Viewer
from screencodec.transport.session import link as link_module
from screencodec.transport.session import messages as m
from screencodec.transport.session import viewer as viewer_module
from screencodec.transport.session.proof import link_key, prove
from screencodec.transport.session.resume import Ticket

from .helpers import taking_up, until
from .takeover_host import host_for_takeover

AGENT = "10.36.4.1"
#: How long the agent's path carries nothing.
BLIP = 1.5
#: How long a ticket's presenter waits for the live link to settle (5 s in the
#: product, link._SETTLE_WAIT): twice BLIP, so the path still comes back
#: within the wait, and 2 s less of it in each case (as replay_direct's 2.5).
SETTLE_WAIT = 3.0


async def main(mode: str) -> dict[str, Any]:
    link_module._SETTLE_WAIT = SETTLE_WAIT
    setup = await host_for_takeover()
    ticket = await setup.first_agent_away()

    agent = await setup.connect(AGENT)
    for msg in taking_up(ticket, agent, (VIEW | CONTROL).bits):
        await agent.send(m.encode(msg))
    while not isinstance(m.decode(await asyncio.wait_for(agent.recv(), 10)), m.Update):
        pass
    agent_end: list[str] = []

    async def read_on() -> None:  # the agent is there: its channel answers probes
        try:
            while True:
                await agent.recv()
        except ScreencodecError as exc:
            agent_end.append(str(exc))

    reading = asyncio.ensure_future(read_on())
    await asyncio.sleep(0.3)
    subprocess.run(["ip", "addr", "del", f"{AGENT}/32", "dev", "lo"], check=True)
    cut_at = time.monotonic()

    async def give_back() -> None:
        await asyncio.sleep(BLIP)
        subprocess.run(["ip", "addr", "add", f"{AGENT}/32", "dev", "lo"], check=True)

    giving = asyncio.ensure_future(give_back())
    copy: bytes = bytes(ticket)
    if mode == "other link":  # the key a Viewer kept from Alice's first link
        assert ticket.proof_key is not None and ticket.proof_key != link_key(agent)
        copy = ticket
    elif mode == "replayed":  # the agent's own proof, made for another connection
        spare = await setup.connect()
        key = link_key(agent)
        assert key is not None
        replayed = prove(key, ticket, spare)
        await spare.close()
        copy = Ticket(bytes(ticket), proof_key=key)
        viewer_module.prove = lambda *_: replayed  # type: ignore[assignment]
    else:
        assert mode == "copy", mode
    began = time.monotonic()
    mallory = Viewer(await setup.connect(), who="Mallory", resume=copy)
    try:
        level = await mallory.start(VIEW | CONTROL)
        outcome = "granted"
    except ConsentDeniedError as exc:
        level, outcome = None, f"refused: {exc}"
    took = time.monotonic() - began
    await giving
    with contextlib.suppress(AssertionError):  # still live (the replay refused)
        await until(lambda: bool(agent_end), 8, "the agent's link ended")
    agent_ended_after = time.monotonic() - cut_at if agent_end else None
    if level is not None:
        task = asyncio.ensure_future(mallory.run())
        await until(lambda: mallory.decoded >= 1, 10, "a picture")
        await mallory.bye()
        await asyncio.wait_for(task, 10)
    reading.cancel()
    await agent.close()
    await setup.close()
    after = None if agent_ended_after is None else round(agent_ended_after, 3)
    return {"outcome": outcome, "took": round(took, 3), "asked": len(setup.asked),
            "level": None if level is None else str(level),
            "agent_end": agent_end[0] if agent_end else None, "agent_ended_after": after,
            "settle_wait": SETTLE_WAIT}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "copy"))))
