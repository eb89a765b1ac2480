"""What the page says after three moments a first-time walkthrough met
(``screencodec host`` on Xvfb, ``view --web`` in headless Chromium):

- the host's user said yes after the page had been told "no answer" (or a
  refusal): the bar kept "The host did not answer the request for remote
  control." beside the Control badge; a grant now takes a refusal's notice
  out of the bar (the chat log keeps it);
- the viewer program was killed: the banner said it had gone, and the status
  beside it still read "Connected"; it now reads "Not connected";
- the host's user typed ``/end`` (or pressed Ctrl-C): the banner read "The
  session has ended: the host's user ended the session." where docs/web.md
  promises "The session has ended: the user ended the session.";
- the user said yes over a slow link (10 kbit/s: 9 s to the first picture):
  the empty screen said only "Connected" in its middle, as if nothing would
  come; it now says the first picture is on its way.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt
from selenium.webdriver.common.by import By

from screencodec.capture import open_source
from screencodec.capture.base import SourceWrapper
from screencodec.cli.host import ENDED_BY_USER
from screencodec.transport import CONTROL, Grant, HostConfig
from screencodec.transport.session.sidechannels import WITHDRAWN
from screencodec.web import WebOptions
from screencodec.web.bridge import UNANSWERED
from screencodec.web.run import _ended_text

from .conftest import wait_page
from .harness import HeldControlQuestion, LiveSession, StillSource

_NOTICE = "const n = document.getElementById('notice'); return n.hidden ? null : n.textContent"


def _text(browser: Any, element_id: str) -> str:
    return str(browser.execute_script(
        f"return document.getElementById('{element_id}').textContent"))  # fmt: skip


def test_a_grant_takes_the_refusal_notice_out_of_the_bar(browser: Any) -> None:
    user = HeldControlQuestion()
    live = LiveSession(open_source("synthetic", width=320, height=200, scenario="typing"),
                       consent=user, config=HostConfig(adaptive=False, consent_timeout=600),
                       options=WebOptions(grace=5.0))  # fmt: skip
    try:
        bridge = live.web.bridge
        assert bridge is not None
        bridge.ask_timeout = 1.0
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1 and s["level"] is not None, what="view")
        browser.find_element(By.ID, "control").click()
        wait_page(browser, lambda s: browser.execute_script(_NOTICE) == UNANSWERED,
                  what="the page told the host did not answer")  # fmt: skip
        live.wait(lambda: user.answer is not None, what="the question")

        async def yes() -> None:
            assert user.answer is not None
            user.answer.set_result(Grant(CONTROL))

        live.call(yes)  # the user answers at last: the agent has control
        wait_page(browser, lambda s: s["level"]["control"], what="control granted")
        assert _text(browser, "level") == "Control"
        assert browser.execute_script(_NOTICE) is None
        assert UNANSWERED in _text(browser, "chat-log")
    finally:
        live.close()


def test_a_page_whose_viewer_is_gone_is_not_connected(browser: Any) -> None:
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        assert _text(browser, "status") == "Connected"
        server = live.web.server
        assert server is not None
        live.call(server.close)  # as when `screencodec view` is killed
        wait_page(browser, lambda s: s["closed"], what="the socket closed")
        assert _text(browser, "status") == "Not connected"
        assert _text(browser, "level") == "Not connected"
    finally:
        live.close()


def test_the_host_commands_end_reads_the_user_ended_the_session() -> None:
    for layer in ("host said bye: ", "channel closed: closed by peer: "):
        assert _ended_text(layer + ENDED_BY_USER) == (
            "The session has ended: the user ended the session.")  # fmt: skip


class _HeldSource(SourceWrapper):
    """Grabs nothing until :attr:`go` is set (the host grabs in a worker
    thread): the first picture is as late as the test wants, like a slow
    link's."""

    def __init__(self) -> None:
        super().__init__(open_source("synthetic", width=320, height=200, scenario="idle"))
        self.go = threading.Event()

    def grab(self) -> npt.NDArray[np.uint8]:
        self.go.wait(30)
        return super().grab()


def test_the_empty_screen_says_the_first_picture_is_coming(browser: Any) -> None:
    source = _HeldSource()
    live = LiveSession(source, options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["level"] is not None, what="the user's yes")
        wait_page(browser, lambda s: _text(browser, "status") == "Connected", what="connected")
        assert _text(browser, "waiting") == "Connected: the first picture is on its way..."
        source.go.set()
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        assert browser.execute_script("return document.getElementById('waiting').hidden")
    finally:
        source.go.set()
        live.close()


def test_a_withdrawn_question_loses_its_buttons(browser: Any) -> None:
    # The bridge's messages for a host's offer withdrawn while the page asks
    # (web/files.PageFiles: file_failed names the question, offer).
    source = StillSource(open_source("synthetic", width=320, height=200, scenario="idle"))
    live = LiveSession(source, options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
        bridge = live.web.bridge
        assert bridge is not None

        async def offer() -> None:
            bridge.send({"t": "file_offer", "id": 1, "name": "notes.txt", "size": 5})

        async def withdrawn() -> None:
            bridge.send({"t": "file_failed", "id": 1, "name": "notes.txt", "size": 5,
                         "text": f"not saved: {WITHDRAWN}", "offer": 1})  # fmt: skip

        buttons = "return document.querySelectorAll('#file-list button').length"
        live.call(offer)
        wait_page(browser, lambda s: browser.execute_script(buttons) == 2, what="the question")
        live.call(withdrawn)
        wait_page(browser, lambda s: "not saved" in _text(browser, "file-list"), what="the end")
        assert browser.execute_script(buttons) == 0
        said = f"notes.txt 5 bytes from the user: not saved: {WITHDRAWN}"
        assert _text(browser, "file-list") == said
    finally:
        live.close()
