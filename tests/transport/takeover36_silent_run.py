"""takeover36's scenario in a network namespace of its own (root): an
agent's resumed link dropped without a reset before its first receipt, and
the agent's retry with the ticket it resumed with. Run by
test_takeover36_silent.py as ``ip netns exec NS python THIS_FILE``; the
namespace's ``lo`` is up and holds 10.36.2.1/32, which this script takes
away: the link to it then carries nothing either way, and no reset comes (a
dead path, as a Wi-Fi gone or a NAT mapping expired make it). Prints one
line of JSON: what the retry met, how long it took, how often the host's
user was asked, the host's events.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import time
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, Host, Viewer
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input.recording import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import SessionEnded, SessionResumed
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.transport.session.proof import link_key
from screencodec.transport.session.resume import RESUME_CHANNEL, Ticket

#: The address whose link is dropped.
DROPPED = "10.36.2.1"
_T = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


async def _until(cond: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def _reset(channel: SecureChannel) -> None:
    """Cut ``channel``'s connection with a reset (the first lost link)."""
    transport = channel._writer.transport
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def main() -> dict[str, Any]:
    creds = SessionCredentials()
    asked: list[ConsentRequest] = []

    async def consent(request: ConsentRequest) -> Grant:
        asked.append(request)
        return Grant(request.level) if len(asked) == 1 else Grant.deny()

    host = Host(SyntheticDesktop(160, 120, scenario="typing", seed=3), consent=consent,
                injector=RecordingInjector())  # fmt: skip
    events = host.events()
    seen: list[Any] = []

    async def note() -> None:
        async for ev in events:
            seen.append(ev)

    noting = asyncio.ensure_future(note())
    listener = await listen_direct("0.0.0.0", 0, creds, host.serve)
    port = listener.port

    async def connect(address: str) -> SecureChannel:
        return await connect_direct(address, port, creds.code, creds.password, timeouts=_T)

    first = Viewer(await connect("127.0.0.1"), who="Alice")
    await first.start(VIEW | CONTROL)
    running = asyncio.ensure_future(first.run())
    await _until(lambda: first.resume_ticket is not None and first.decoded >= 1, "ticket")
    ticket = first.resume_ticket
    assert ticket is not None
    assert isinstance(first.channel, SecureChannel)
    _reset(first.channel)  # lost, noticed: the session is away
    await asyncio.wait_for(running, 10)
    await _until(lambda: any(isinstance(e, SessionEnded) and e.resumable for e in seen), "away")

    # Taken up with the ticket on a link to DROPPED; its agent reads up to
    # the first update (the next ticket came before it) and answers nothing.
    resumed = await connect(DROPPED)
    for msg in (m.Capabilities.legacy(), m.Extension(RESUME_CHANNEL, ticket),
                m.PermissionRequest((VIEW | CONTROL).bits, "raw")):  # fmt: skip
        await resumed.send(m.encode(msg))
    while not isinstance(m.decode(await asyncio.wait_for(resumed.recv(), 10)), m.Update):
        pass
    await _until(lambda: any(isinstance(e, SessionResumed) for e in seen), "resumed")
    # What a Viewer keeps once granted on that link (session/proof.py): the
    # ticket it holds, and that link's key, to prove its retry with.
    held = Ticket(bytes(ticket), proof_key=link_key(resumed))
    subprocess.run(["ip", "addr", "del", f"{DROPPED}/32", "dev", "lo"], check=True)

    # The agent's retry, with the only ticket it holds (the next never read).
    began = time.monotonic()
    again = Viewer(await connect("127.0.0.1"), who="Alice", resume=held)
    try:
        level = await again.start(VIEW | CONTROL)
        outcome = "granted"
    except ConsentDeniedError as exc:
        level, outcome = None, f"refused: {exc}"
    took = time.monotonic() - began
    if level is not None:
        task = asyncio.ensure_future(again.run())
        await _until(lambda: again.decoded >= 1, "a picture")
        await again.bye()
        await asyncio.wait_for(task, 10)
    await asyncio.sleep(0.1)
    noting.cancel()
    said = [{"type": type(e).__name__, **{k: getattr(e, k) for k in
             ("peer", "reason", "moved", "resumable", "who", "was", "away") if hasattr(e, k)}}
            for e in seen if isinstance(e, SessionEnded | SessionResumed)]  # fmt: skip
    await resumed.close()
    await listener.close()
    await host.close()
    return {"outcome": outcome, "took": round(took, 3), "asked": len(asked),
            "level": None if level is None else str(level), "events": said}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
