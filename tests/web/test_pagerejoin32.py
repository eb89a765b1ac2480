"""walk32: after a lost link, the page says whether the host took the
session up or began a new one (its user had ended the session while the
agent was away, and let it in again). It said "Reconnected: the session goes
on." of both. The words come from the host's chat hello (Viewer.resumed, a
SessionRejoined event): the banner, and the run's terminal line.

Real host and web viewer over a sealed channel on loopback, through a proxy
the test cuts and keeps refusing while the host's user ends the session; the
real page in headless Chromium."""

from __future__ import annotations

from typing import Any

from screencodec.capture import open_source
from screencodec.web import WebOptions
from screencodec.web.run import REJOINED_TEXT

from .conftest import wait_page
from .harness import StillSource
from .test_page_resume import _LinkedSession


def _banner_text(browser: Any) -> str:
    return str(browser.execute_script(
        "return document.getElementById('banner-text').textContent"))  # fmt: skip


def _away_and_back(browser: Any, *, end_while_away: bool) -> tuple[_LinkedSession, list[str]]:
    steps: list[str] = []
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="typing"))
    live = _LinkedSession(source, options=WebOptions(grace=5.0, on_step=steps.append))
    browser.get(live.url)
    wait_page(browser, lambda s: s["applied"] >= 1, what="the first picture")
    live.wait(lambda: live.web.viewer is not None and live.web.viewer.resume_ticket
              is not None, what="a resume ticket")  # fmt: skip

    def cut() -> None:
        live.proxy.refusing = True
        live.proxy.cut()

    live.run(cut)
    wait_page(browser, lambda s: s["banner"] is not None and "lost" in s["banner"],
              what="the lost banner")  # fmt: skip
    if end_while_away:
        live.wait(lambda: not live.host.viewers, what="the host saw the link go")
        live.call(live.host.disconnect)  # its user typed /end while the agent was away
    live.run(lambda: setattr(live.proxy, "refusing", False))
    return live, steps


def test_a_session_ended_while_away_is_said_new_on_the_page(browser: Any) -> None:
    live, steps = _away_and_back(browser, end_while_away=True)
    try:
        st = wait_page(browser, lambda s: s["banner"] == REJOINED_TEXT[False],
                       what="the new-session banner")  # fmt: skip
        assert st["connected"] and st["ended"] is None, st
        assert _banner_text(browser) == REJOINED_TEXT[False]
        assert "ended the session while you were away" in REJOINED_TEXT[False]
        assert len(live.asked) == 2  # its user was asked again
        live.wait(lambda: any("granted" in s for s in steps[2:]), what=f"the line: {steps}")
        joined = [s for s in steps if "granted" in s]
        assert len(joined) == 2 and joined[1].startswith(
            "the host's user had ended the session while you were away"), steps
        assert not any("back in the session" in s for s in steps), steps
    finally:
        live.close()


def test_a_resumed_session_is_said_to_go_on_on_the_page(browser: Any) -> None:
    live, steps = _away_and_back(browser, end_while_away=False)
    try:
        wait_page(browser, lambda s: s["banner"] == REJOINED_TEXT[True],
                  what="the resumed banner")  # fmt: skip
        assert _banner_text(browser) == "Reconnected: the session goes on."
        assert len(live.asked) == 1
        live.wait(lambda: steps[-1].startswith("back"), what=f"the line: {steps}")
        assert steps[-1] == "back in the session, granted: view", steps
    finally:
        live.close()
