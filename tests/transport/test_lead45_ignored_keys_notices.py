"""words45's count of ignored keys (``Notice.KEYS_IGNORED``, one a press the
host ignores while its user uses their own mouse or keyboard) against the
viewer's list of notices (``Viewer.notices``, the last 100): a long /type
during the customer's input sent 150 counts, and the list then held
nothing else: the stretch's own notice (code 2, the words a person reads)
was pushed out by counts, which the viewer keeps as ``keys_ignored``.

Expected: the count is kept as the count, not as a notice; the stretch's
notice stays listed. A real Host and Viewer on loopback, the host's
recording injector."""

from __future__ import annotations

import asyncio

from screencodec.capture import open_source
from screencodec.transport import Host, HostConfig, allow
from screencodec.transport.input import RecordingInjector
from screencodec.transport.session import messages as m

from .secure_fixtures import controlled_host, run

PRESSES = 150


def test_a_flood_of_counts_leaves_the_notices_a_person_reads() -> None:
    async def main() -> tuple[int | None, list[int]]:
        host = Host(open_source("synthetic", width=160, height=120, scenario="idle"),
                    consent=allow(), injector=RecordingInjector(),
                    config=HostConfig(adaptive=False, local_input_pause=30.0))  # fmt: skip
        async with controlled_host(host) as (viewer, _):
            await asyncio.sleep(1.5)  # past the grant's in-flight window
            host.local_input_activity()  # the customer's own mouse: a 30 s stretch
            for _ in range(PRESSES):
                assert await viewer.key(0x78, True, "x")
                assert await viewer.key(0x78, False)
            for _ in range(200):
                if viewer.keys_ignored == PRESSES:
                    break
                await asyncio.sleep(0.05)
            return viewer.keys_ignored, [n.code for n in viewer.notices]

    ignored, codes = run(main(), timeout=60)
    assert ignored == PRESSES
    # Found: 100 code-9 counts, the stretch's notice gone from the list.
    assert m.Notice.LOCAL_USER_ACTIVE in codes and m.Notice.KEYS_IGNORED not in codes, codes
