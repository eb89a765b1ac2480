"""A request for control the host never answers, with ``view --web``: after
the bridge's ``ask_timeout`` the page and the terminal (``on_refused``) are
told once that the host did not answer; the session goes on (pictures keep
coming) and a later request can still be granted. A real Host, whose local
user's answer to the control prompt is held by the test; the bridge waits
1 s instead of ASK_TIMEOUT (60 s)."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.transport import CONTROL, Grant, HostConfig, Permission, Refusal
from screencodec.web import WebOptions
from screencodec.web.bridge import ASK_TIMEOUT, UNANSWERED

from .conftest import wait_page
from .harness import HeldControlQuestion, LiveSession


def _page(browser: Any, field: str) -> Any:
    return browser.execute_script(f"return window.screencodecPage.{field}")


def test_unanswered_request_is_told_once_and_the_session_goes_on(browser: Any) -> None:
    user = HeldControlQuestion()
    prompts = user.prompts

    # The host's own prompt timeout is far longer than the test: only the
    # bridge's wait can end the request.
    live = LiveSession(open_source("synthetic", width=320, height=200, scenario="typing"),
                       consent=user, config=HostConfig(adaptive=False, consent_timeout=600),
                       options=WebOptions(grace=5.0))  # fmt: skip
    try:
        bridge = live.web.bridge
        assert bridge is not None and bridge.ask_timeout == ASK_TIMEOUT == 60.0
        bridge.ask_timeout = 1.0
        refused: list[Refusal | None] = []
        bridge.on_refused = refused.append  # what `view --web` prints through
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1 and s["level"] is not None, what="view")
        viewer = live.web.viewer
        assert viewer is not None
        asked: list[tuple[float, bool | None]] = []  # the bridge's requests: (timeout, granted)
        request = viewer.request

        async def counted(level: Permission, timeout: float = 60.0) -> bool:
            asked.append((timeout, None))
            granted = await request(level, timeout)
            asked[-1] = (timeout, granted)
            return granted

        viewer.request = counted  # type: ignore[method-assign]

        browser.find_element(By.ID, "control").click()
        wait_page(browser, lambda s: _page(browser, "notice") == UNANSWERED,
                  what="the page told the host did not answer")  # fmt: skip
        assert browser.find_element(By.ID, "notice").text == UNANSWERED
        assert UNANSWERED in browser.find_element(By.ID, "chat-log").get_attribute("textContent")
        live.wait(lambda: bool(asked) and asked[0][1] is not None, what="the request's end")
        assert asked == [(1.0, False)]
        assert refused == [None]  # told once: "control not granted: the host did not answer"
        assert live.run(lambda: user.answer is not None and not user.answer.done())  # open
        assert [p.level for p in prompts if p.upgrade] == [CONTROL]

        # The session goes on: View only, pictures still come, asking again works.
        st = wait_page(browser, lambda s: s["level"] == {"view": True, "control": False},
                       what="view only")  # fmt: skip
        wait_page(browser, lambda s: s["applied"] > st["applied"] + 3, what="more pictures")
        control = browser.find_element(By.ID, "control")
        assert control.is_displayed() and control.is_enabled()
        control.click()
        live.wait(lambda: len(asked) == 2, what="the second request")

        async def yes() -> None:
            assert user.answer is not None
            user.answer.set_result(Grant(CONTROL))

        live.call(yes)  # the user answers at last
        wait_page(browser, lambda s: s["level"]["control"], what="control granted")
        live.wait(lambda: asked[1][1] is not None, what="the second request's end")
        assert asked[1] == (1.0, True)
        assert refused == [None]
        assert _page(browser, "notice") == UNANSWERED  # nothing more was said
    finally:
        live.close()
