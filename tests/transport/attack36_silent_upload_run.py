"""attack36: takeover36's silent take-over of a link that was mid-upload.
Run by test_attack36_silent_upload.py as ``ip netns exec NS python THIS_FILE
DIR``; the namespace's ``lo`` is up and holds 10.36.3.1/32 (as
takeover36_silent_run.py).

The agent's session, taken up with its ticket on a link to 10.36.3.1, sends
the host a 4 MB file there (offered, accepted, 1 MB of it written in the
host's download folder DIR) and has not answered an update; then that
address is taken away (a dead path: no reset), and a connection presents
the ticket the session was taken up with (the agent's retry, or a copy of
it). Prints one line of JSON: what it met, how long it took, how often the
host's user was asked, and what DIR holds after the session ended.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from screencodec.errors import ConsentDeniedError
from screencodec.transport import CONTROL, VIEW, HostConfig, Viewer
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import FileRefused, SessionResumed
from screencodec.transport.session.proof import link_key
from screencodec.transport.session.resume import Ticket
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import taking_up, until
from .takeover_host import host_for_takeover

DROPPED = "10.36.3.1"
_SIZE = 4 << 20
_SENT = 1 << 20
_CHUNK = 64 << 10


async def main(folder: Path) -> dict[str, Any]:
    async def take_files(info: FileOfferInfo) -> bool:
        return True

    setup = await host_for_takeover(file_consent=take_files,
                                    config=HostConfig(download_dir=folder))  # fmt: skip
    ticket = await setup.first_agent_away()

    resumed = await setup.connect(DROPPED)
    for msg in (*taking_up(ticket, resumed, (VIEW | CONTROL).bits),
                m.FileOffer(1, "big.bin", _SIZE)):  # fmt: skip
        await resumed.send(m.encode(msg))
    accepted = False
    while not accepted:
        got = m.decode(await asyncio.wait_for(resumed.recv(), 10))
        accepted = isinstance(got, m.FileAccept) and got.transfer == 1 and got.accepted
    for offset in range(0, _SENT, _CHUNK):
        await resumed.send(m.encode(m.FileChunk(1, offset, bytes(_CHUNK))))

    def written() -> int:
        return sum(p.stat().st_size for p in folder.iterdir())

    await until(lambda: written() >= _SENT, 10, "1 MB of it on the disk")
    before = sorted(p.name for p in folder.iterdir())
    # The agent's: the ticket and its link's key (session/proof.py: pop36).
    held = Ticket(bytes(ticket), proof_key=link_key(resumed))
    subprocess.run(["ip", "addr", "del", f"{DROPPED}/32", "dev", "lo"], check=True)

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
    await until(lambda: any(isinstance(e, FileRefused) for e in setup.seen), 10,
                "the upload told")  # fmt: skip
    await resumed.close()
    await setup.close()
    refused = [e for e in setup.seen if isinstance(e, FileRefused)]
    return {"outcome": outcome, "took": round(took, 3), "asked": len(setup.asked),
            "resumed": sum(isinstance(e, SessionResumed) for e in setup.seen),
            "before": before, "after": sorted(p.name for p in folder.iterdir()),
            "told": [(e.name, e.why) for e in refused]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1])))))
