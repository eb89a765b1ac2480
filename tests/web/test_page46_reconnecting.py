"""page46: what the page says while the agent's link is being taken up again,
and what a reload keeps.

Found (walk46, headless Chromium): while the link was down the status read
"Reconnecting, for up to N s more: the peer closed the connection" (a
socket's words) and the level badge still said "Control" or "View only": a
person read the page as working, typed, and nothing said the keys went
nowhere. Expected: the badge claims no level ("Reconnecting"), a note on the
picture says it is frozen and that input is not sent, the attempt's words
are plain, a key typed meanwhile is said dropped; once back the note goes
and the badge says the level again.

Found: the host's notices in the chat log (why control cannot be had, input
it ignored) were gone after a reload, while chat lines came back. Expected:
they are replayed with the chat lines, in order.

Real sockets on loopback through a cuttable proxy (test_page_resume), a real
Host, the real page in headless Chromium."""

from __future__ import annotations

import time
from typing import Any

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from screencodec.capture import open_source

from .conftest import wait_page
from .harness import LiveSession, StillSource
from .test_newuser2_page_states import _text
from .test_page_resume import controlling

_NOTE = ("const n = document.getElementById('link-note');"
         " return n && !n.hidden ? n.textContent : null")  # fmt: skip
_NOTICE = "const n = document.getElementById('notice'); return n.hidden ? null : n.textContent"
_LOG = ("return [...document.querySelectorAll('#chat-log li')]"
        ".map((l) => [l.className, l.textContent])")  # fmt: skip


def _wait(cond: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_page_says_frozen_and_claims_no_level_while_reconnecting(browser: Any) -> None:
    with controlling(browser) as (live, _bridge, _first):
        browser.find_element(By.ID, "screen").click()  # the agent's keys go to the screen
        assert _text(browser, "level") == "Control"
        live.run(lambda: setattr(live.proxy, "refusing", True))  # down until the test says
        live.run(live.proxy.cut)
        # An attempt failed and was said (the proxy resets each new connection).
        _wait(lambda: "s more: " in _text(browser, "status"), "a failed attempt in the status")
        status = _text(browser, "status")
        assert "peer" not in status, status  # found: "...: the peer closed the connection"
        assert _text(browser, "level") == "Reconnecting"  # found: "Control"
        note = browser.execute_script(_NOTE)
        assert note == ("The picture is frozen: the connection to the user's computer is being"
                        " restored. Nothing you type or click is sent meanwhile.")  # fmt: skip
        assert not browser.find_element(By.ID, "control").is_enabled()
        # A key typed meanwhile is said dropped (found: nothing said).
        ActionChains(browser).send_keys("a").perform()
        _wait(lambda: browser.execute_script(_NOTICE) is not None, "the dropped-input notice")
        assert browser.execute_script(_NOTICE) == ("Not sent: what you typed or clicked while"
                                                   " reconnecting was dropped (it is not sent"
                                                   " later).")  # fmt: skip
        live.run(lambda: setattr(live.proxy, "refusing", False))
        wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                  what="the resumed banner")  # fmt: skip
        _wait(lambda: _text(browser, "level") == "Control", "the badge's level again")
        assert browser.execute_script(_NOTE) is None
        assert browser.execute_script(_NOTICE) is None
        assert live.run(lambda: ("key", 0x61, True, "a") not in live.injector.events)


def test_a_tab_reloaded_while_reconnecting_is_told_the_same(browser: Any) -> None:
    """Found (first fix): the page's going away gives control back, and that
    level, sent while the link was down, replaced the reconnecting one: the
    reloaded tab read "View only" over the frozen picture."""
    with controlling(browser) as (live, bridge, _first):
        live.run(lambda: setattr(live.proxy, "refusing", True))
        live.run(live.proxy.cut)
        _wait(lambda: _text(browser, "level") == "Reconnecting", "the badge while reconnecting")
        browser.refresh()
        wait_page(browser, lambda s: s["level"] is not None, what="the reloaded page's level")
        _wait(lambda: live.run(lambda: bridge.held_back), "control given back (the page went)")
        time.sleep(0.5)  # what the bridge sends the new page has come
        assert _text(browser, "level") == "Reconnecting"
        assert browser.execute_script(_NOTE) is not None
        live.run(lambda: setattr(live.proxy, "refusing", False))
        wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                  what="the resumed banner")  # fmt: skip
        # The control given back stays given back: the host's grant is View only now.
        _wait(lambda: _text(browser, "level") == "View only", "the badge's level again")
        assert browser.execute_script(_NOTE) is None


def test_the_hosts_notices_in_the_chat_log_come_back_after_a_reload(browser: Any) -> None:
    reason = "the user shares this screen for viewing only"
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, control_unavailable=reason)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        browser.find_element(By.ID, "control").click()  # the host's notice: why not
        _wait(lambda: reason in _text(browser, "chat-log"), "the notice in the chat log")
        before = browser.execute_script(_LOG)
        assert ["notice", reason] in before, before
        browser.refresh()
        wait_page(browser, lambda s: s["applied"] >= 1 and s["level"] is not None,
                  what="the reloaded page")  # fmt: skip
        _wait(lambda: browser.execute_script(_LOG) == before, f"the log as before: {before}", 5)
    finally:
        live.close()


def test_many_notices_do_not_push_the_chat_lines_out_of_a_reload(browser: Any) -> None:
    """The host says some notices again and again (input dropped, each pause
    of its user): they are bounded on their own, not with the chat lines
    (found with one bound for both: 100 notices and the user's line was not
    replayed)."""
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        bridge = live.web.bridge
        assert bridge is not None

        def say() -> None:
            bridge.send({"t": "chat", "from": "host", "text": "call me on 555-0100"})
            for i in range(150):
                bridge.send({"t": "notice", "text": f"input ignored: no control grant {i}",
                             "code": 1})  # fmt: skip

        live.run(say)
        _wait(lambda: "grant 149" in _text(browser, "chat-log"), "the last notice")
        browser.refresh()
        wait_page(browser, lambda s: s["level"] is not None, what="the reloaded page")
        _wait(lambda: "grant 149" in _text(browser, "chat-log"), "the replayed notices", 5)
        log = browser.execute_script(_LOG)
        assert ["host", "User: call me on 555-0100"] in log, log[:3]
        assert [c for c, _ in log].count("notice") == 100  # the last 100 of them
    finally:
        live.close()


def test_a_link_not_taken_up_again_leaves_no_reconnecting_badge(browser: Any) -> None:
    """Reconnecting gives up (3 s here): the session is over, so the badge
    says "Not connected" and the frozen note goes (nothing is being
    restored), as the end banner says. A guard of the new note: main's page
    said "Not connected" already (its socket's close)."""
    from screencodec.web import WebOptions

    from .test_page_resume import _LinkedSession

    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = _LinkedSession(source, options=WebOptions(control=True, grace=5.0, resume_within=3.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        live.run(lambda: setattr(live.proxy, "refusing", True))
        live.run(live.proxy.cut)
        _wait(lambda: _text(browser, "level") == "Reconnecting", "the badge while reconnecting")
        st = wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        assert "could not reconnect" in st["banner"], st
        assert _text(browser, "level") == "Not connected"
        assert browser.execute_script(_NOTE) is None
    finally:
        live.close()
