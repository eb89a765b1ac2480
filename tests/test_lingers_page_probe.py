"""The page's silence bound for a current host (web/bridge.py): 3 s
(PROBED_SILENT_AFTER) once the host has answered the viewer's probe, 12 s
(SILENT_AFTER) for a host that answers none. walk3's stalled-link test saw
12 s from a current host: the viewer's channel sent its first probe at the
watchdog's next once-a-second check after its first read, not at once, so
the host's answer came after the session's first picture; a link that
stalled then (here: right after the first picture, as a link that stalls
again just after a resume) kept its answer back, and the page took the
host for an earlier version. Now the first probe goes with the first read.
A real host and viewer on loopback through a proxy that holds back what
the host sends, the page in headless Chromium."""

from __future__ import annotations

import re
from typing import Any

from screencodec.web import bridge
from test_walk3_page import _source, _watching, browser  # noqa: F401 - a fixture
from web.conftest import wait_page
from web.test_newuser2_page_states import _text
from web.test_page_resume import _LinkedSession


def test_a_link_stalled_right_after_the_first_picture_is_said_on_a_current_hosts_bound(
    browser: Any,  # noqa: F811
) -> None:
    def stall(on: bool) -> None:
        for _, host_side in live.proxy._pairs:
            (host_side.transport.pause_reading if on else host_side.transport.resume_reading)()

    with _watching(browser, _LinkedSession(_source())) as live:
        live.run(lambda: stall(True))  # what the host sends from now on is held back
        try:
            wait_page(browser, lambda s: _text(browser, "status").startswith("No word from"),
                      timeout=30, what="the silence said")  # fmt: skip
            said = re.match(r"No word from the user's computer for (\d+) s",
                            _text(browser, "status"))  # fmt: skip
            assert said is not None, _text(browser, "status")
            # Said on the probed bound (3 s), not the 12 s of an earlier host.
            assert int(said.group(1)) < bridge.SILENT_AFTER, said.group(0)
            # For the host's answer to the first probe had arrived (before: not yet).
            assert live.run(lambda: live.web.viewer.channel.answers_probes)
        finally:
            live.run(lambda: stall(False))
        st = wait_page(browser, lambda s: _text(browser, "status") == "Connected", timeout=30,
                       what="'Connected' once the host is heard from")  # fmt: skip
        assert st["ended"] is None
