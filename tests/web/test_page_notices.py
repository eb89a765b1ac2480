"""The host's notices in the page's bar: shown once (not in the status line
too), a moment's notice (the user is using their own mouse or keyboard) leaves the bar
once the agent's input goes through again or after a while, and a reason why
control cannot be had stays, and disables "Request control" with that reason
as its tooltip."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import HostConfig
from screencodec.transport.session import messages as m
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource


def _source() -> StillSource:
    return StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))


def _js(browser: Any, script: str) -> Any:
    return browser.execute_script(script)


_NOTICE = "const n = document.getElementById('notice'); return n.hidden ? null : n.textContent"
_STATUS = "return document.getElementById('status').textContent"
_MOVE = (
    "const c = document.getElementById('screen'); const r = c.getBoundingClientRect();"
    "c.dispatchEvent(new PointerEvent('pointermove', {bubbles: true,"
    " clientX: r.left + 5 + arguments[0], clientY: r.top + 5}));"
)


# Every state the notice area takes, in order (null: hidden). A notice that
# shows for a few hundred milliseconds can come and go between two polls of a
# loaded machine's WebDriver; its history cannot.
_RECORD = (
    "const n = document.getElementById('notice'); window.noticesShown = [];"
    "new MutationObserver(() => window.noticesShown.push(n.hidden ? null : n.textContent))"
    ".observe(n, {childList: true, characterData: true, subtree: true, attributes: true});"
)


def _shown(browser: Any) -> list[str | None]:
    return list(_js(browser, "return window.noticesShown"))


def _in_order(seen: list[str | None], *texts: str) -> bool:
    """Whether ``texts`` were shown in this order (others between)."""
    at = 0
    for text in texts:
        if text not in seen[at:]:
            return False
        at = seen.index(text, at) + 1
    return True


def _timings(browser: Any, ttl_ms: int, quiet_ms: int) -> None:
    _js(browser, f"const u = window.screencodecPage.ui; u.noticeTtlMs = {ttl_ms};"
                 f" u.noticeQuietMs = {quiet_ms};")  # fmt: skip


def test_local_user_notice_leaves_once_input_goes_through(browser: Any) -> None:
    live = LiveSession(
        _source(),
        config=HostConfig(adaptive=False, local_input_pause=0.3),
        options=WebOptions(control=True, grace=5.0),
    )
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: (s["level"] or {}).get("control", False), what="control")
        _timings(browser, ttl_ms=60_000, quiet_ms=300)  # only the input can clear it here
        _js(browser, _RECORD)
        # The local user moves their mouse just before each of the agent's
        # moves reaches the host, until the notice is seen: however late a
        # loaded browser sends them, they land in the pause (0.3 s after a
        # local move, a move sent by the test once could be injected instead).
        viewer = live.web.viewer
        assert viewer is not None
        local = [True]
        forward = viewer.pointer_move

        async def local_user_first(x: int, y: int) -> None:
            if local[0]:
                live.host.local_input_activity()
            await forward(x, y)

        live.run(lambda: setattr(viewer, "pointer_move", local_user_first))
        step = [0]

        def moved_until(cond: Any) -> bool:
            step[0] += 1
            _js(browser, _MOVE.replace("arguments[0]", str(step[0] % 50)))
            return bool(cond())

        # walk38: "the local user is using the input" (the host's jargon).
        text = ("the user is using their own mouse or keyboard: yours is ignored until"
                " they stop for 0.3 s")
        # Shown until 300 ms after an input the host took: seen in its history.
        wait_page(browser, lambda s: moved_until(lambda: text in _shown(browser)),
                  what="the local user's notice")  # fmt: skip
        # Once: in the notice area, not in the status line beside it as well.
        assert _js(browser, _STATUS) != text
        live.run(lambda: local.__setitem__(0, False))  # the local user lets go
        # The pause is over: the agent's input reaches the host again ...
        wait_page(browser, lambda s: moved_until(
            lambda: live.run(lambda: any(e[0] == "move" for e in live.injector.events))),
            what="input injected")  # fmt: skip
        # ... and the notice leaves the bar (the chat log keeps it).
        wait_page(browser, lambda s: moved_until(lambda: _js(browser, _NOTICE) is None),
                  what="the notice gone")  # fmt: skip
        assert text in _js(browser, "return document.getElementById('chat-log').textContent")
    finally:
        live.close()


def test_control_unavailable_disables_request_with_the_reason(browser: Any) -> None:
    reason = "the user shares this screen for viewing only"
    live = LiveSession(_source(), control_unavailable=reason)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        ask = browser.find_element(By.ID, "control")
        assert ask.is_enabled()
        _timings(browser, ttl_ms=200, quiet_ms=200)
        ask.click()
        wait_page(browser, lambda s: not ask.is_enabled(), what="Request control disabled")
        assert reason in (ask.get_attribute("title") or "")
        assert _js(browser, _NOTICE) == reason
        assert live.run(lambda: live.web.bridge.unavailable) == reason  # type: ignore[union-attr]

        # A moment's notice comes and goes; the reason is back in the bar.
        bridge = live.web.bridge
        assert bridge is not None
        _js(browser, _RECORD)
        live.run(lambda: bridge.send({"t": "notice", "text": "input ignored: no control grant",
                                      "code": m.Notice.INPUT_DROPPED}))  # fmt: skip
        # Shown for 200 ms, then the reason again.
        transient = "input ignored: no control grant"
        wait_page(browser, lambda s: _in_order(_shown(browser), transient, reason),
                  what="the transient notice, then the reason")  # fmt: skip
        assert _js(browser, _NOTICE) == reason
        # A reloaded tab gets the reason with the level.
        browser.refresh()
        wait_page(browser, lambda s: s["applied"] >= 1 and s["level"] is not None,
                  what="the reloaded page")  # fmt: skip
        ask = browser.find_element(By.ID, "control")
        assert not ask.is_enabled() and reason in (ask.get_attribute("title") or "")
    finally:
        live.close()
