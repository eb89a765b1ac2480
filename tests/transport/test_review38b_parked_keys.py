"""review38b: a parked ticket's kept link secret (resume.Resumable._keys,
parked38) is zeroed when its window passes, not only on the next look at
the tickets.

resume.py says the host keeps the lost link's secret with the ticket "in
memory only, zeroed when the ticket is spent, expires or is forgotten".
The tickets drop expired entries (and zero their keys) only when something
looks at them (ResumeTickets._prune: issue, park, parked, claim): a host
that nobody comes back to kept the secret of the lost link in memory for
as long as it ran on. Real sockets: a direct listener, a viewer whose
link is cut by a proxy.
"""

from __future__ import annotations

import asyncio

from screencodec.transport import VIEW
from screencodec.transport.session.events import SessionEnded

from .helpers import ended_lost, run, until
from .test_resume import _Setup


def test_a_parked_tickets_kept_key_is_zeroed_when_its_window_passes() -> None:
    async def scenario() -> None:
        async with _Setup(resume_window=0.6) as s:
            viewer, running = await s.join(VIEW)
            await until(lambda: viewer.resume_ticket is not None and viewer.decoded >= 1,
                        10, "ticket")  # fmt: skip
            s.proxy.cut()
            await ended_lost(viewer, running)
            ended = await s.event(SessionEnded)
            assert isinstance(ended, SessionEnded) and ended.resumable
            held = list(s.host._runtime.tickets._held)  # not parked(): it would prune
            assert len(held) == 1 and held[0].holder is None
            keys = held[0]._keys
            assert keys and all(any(k) for k in keys)  # the lost link's secret, kept
            await asyncio.sleep(1.2)  # the window (0.6 s) passes; nobody looks
            assert all(not any(k) for k in keys), "the expired ticket's link secret is kept"
            assert not s.host._runtime.tickets._held

    run(scenario())
