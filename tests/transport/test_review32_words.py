"""review32 of words32 (963ad66): the host's words for an agent's file cut
short. A link lost mid-file is not an ended session: the agent comes back
(its terminal says "send it again once back in the session"), yet the
host's terminal said "the session ended before all of it came". The real
``screencodec host`` and ``screencodec view`` on loopback, through the
proxy of test_words32_host_ends_transfer, cut mid-file."""

from __future__ import annotations

import re
from pathlib import Path

from .test_view_cli_ux import read_until
from .test_words32_host_ends_transfer import file_mid_way


def test_a_link_lost_mid_file_is_not_told_as_an_ended_session(tmp_path: Path) -> None:
    with file_mid_way(tmp_path) as (_, out, proxy, view, _dl):
        def cut() -> None:
            # In one step on the proxy's loop: the held bytes dropped and
            # holding ended only once the link is gone (ended first, a pump
            # passed on what came next without what was dropped before it:
            # the host read a frame length from the middle of a record).
            proxy.holding.cut()
            proxy.holding.held = None
            proxy.holding.kept.clear()

        proxy.on_loop(cut)  # the agent's link is lost; its terminal takes the session up again
        read_until(view, "send it again once back in the session")
        out.wait_for("is back")
        out.wait_for("not received from")
    told = [x for x in out.text.splitlines() if x.startswith("not received from")]
    assert len(told) == 1, out.text
    assert re.fullmatch(r"not received from 'support' \(\S+\): 'large\.bin' \(\d+\.\d kB of"
                        r" 8\.0 MB, the connection ended before all of it came\); nothing of"
                        r" it was kept", told[0]), told  # fmt: skip
    assert "the session ended" not in told[0]
