"""say38: the host's user writes to the agent while asked whether to let
them in ("one moment, I close my mail first"), and the page shows the line
as it waits for the answer; the yes still lets the agent in. A refused
agent's page showed that line and nothing of the screen. Real host and web
viewer over sealed channels on loopback (through the shaping proxy),
headless Chromium."""

from __future__ import annotations

from typing import Any

from screencodec.transport.session.permissions import VIEW, Grant
from test_walk3_page import _log

from .conftest import wait_page
from .test_newuser2_page_states import _text
from .test_pagelive_chat import _Asked, _asking, _refused
from .test_pagelive_silence import _ShapedSession, _still

LINE = "one moment, I close my mail first"


def _say(live: _ShapedSession, text: str) -> tuple[tuple[str, str], ...]:
    async def say() -> tuple[tuple[str, str], ...]:
        return await live.host.say_to_asking(text)

    return live.call(say)


def _answer(live: _ShapedSession, asked: _Asked, grant: Grant) -> None:
    async def answer() -> None:
        assert asked.pending is not None
        asked.pending.set_result(grant)

    live.call(answer)


def test_the_page_shows_the_users_line_while_waiting_and_the_yes_lets_the_agent_in(
    browser: Any,
) -> None:
    asked = _Asked()
    live = _ShapedSession(_still(), consent=asked)
    try:
        _asking(browser, live, asked)
        # Found: () (the host had nobody to send it to).
        assert len(_say(live, LINE + "\u202e")) == 1
        wait_page(browser, lambda s: f"User: {LINE}" in _log(browser), what="the line")
        assert _text(browser, "status") == "Waiting for the user to accept..."
        assert "\u202e" not in _log(browser)
        assert browser.find_element("id", "chat").is_displayed()
        _answer(live, asked, Grant(VIEW))
        wait_page(browser, lambda s: s["applied"] >= 1 and _text(browser, "status") == "Connected",
                  what="the picture")  # fmt: skip
        assert _log(browser).count("User: ") == 1
    finally:
        live.close()


def test_a_page_refused_after_the_line_shows_it_and_no_picture(browser: Any) -> None:
    asked = _Asked()
    live = _ShapedSession(_still(), consent=asked)
    try:
        _asking(browser, live, asked)
        assert len(_say(live, "who are you?")) == 1
        wait_page(browser, lambda s: "User: who are you?" in _log(browser), what="the line")
        _refused(browser, live, asked)
        wait_page(browser, lambda s: s["applied"] == 0, what="no picture")
        assert "User: who are you?" in _log(browser)
    finally:
        live.close()
