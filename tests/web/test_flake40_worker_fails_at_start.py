"""flake40: the page's decoder worker failing before it was ready (found as
a playback's server closed while a CPU-throttled page reloaded: the
worker's script could not be fetched) threw "Uncaught ReferenceError:
Cannot access 'send' before initialization": the failure's handler asked
for a keyframe on the page's socket, not made yet. Expected: the page says
it could not start its decoder, and nothing throws. Headless Chromium, the
page's first worker failing at once (its 'error' event, as a script that
cannot be fetched gives it)."""

from __future__ import annotations

from typing import Any

from screencodec.capture import open_source

from .conftest import wait_page
from .harness import LiveSession

_FAILING_WORKER = """
const RealWorker = window.Worker;
window.Worker = class extends RealWorker {
  constructor(...args) {
    super(...args);
    setTimeout(() => this.dispatchEvent(new ErrorEvent("error", { message: "not fetched" })));
  }
};
"""
_SHOWN = "const e = document.getElementById('boot-error'); return e.hidden ? '' : e.textContent;"


def test_a_worker_that_fails_before_it_is_ready_throws_nothing(browser: Any) -> None:
    live = LiveSession(open_source("synthetic", width=320, height=200, scenario="idle"))
    browser.get_log("browser")  # what earlier tests left
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": _FAILING_WORKER})  # fmt: skip
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: bool(browser.execute_script(_SHOWN)), what="the boot error")
        assert browser.execute_script(_SHOWN) == (
            "This browser could not start the viewer's decoder: reload the page."
        )
        logs = [e["message"] for e in browser.get_log("browser")]
        assert not [line for line in logs if "Uncaught" in line], logs
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": added["identifier"]})  # fmt: skip
        live.run(live.web.leave)  # no page joined: the agent leaves, as by Ctrl-C
        live.close()
