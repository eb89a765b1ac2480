"""The page resumes on the picture it kept: after a lost link the bridge asks
the page for the keyed digest of its decoder's picture, and the resumed
session's first update is a delta of the tiles that differ, not a keyframe
(docs/web.md, "Resuming on the kept picture"). Real sockets on loopback
through a proxy the test cuts, the real page in headless Chromium, its
digest made in its worker (hash-wasm, docs/web.md). What the page answers
is changed, where a test says so, in the page itself (its socket's send)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from screencodec.capture import open_source
from screencodec.transport.session.link import ViewerLink
from screencodec.web import bridge as bridge_module

from .conftest import canvas_bgr, wait_page
from .harness import StillSource
from .test_page_resume import _LinkedSession

#: The page's kept answers go through this: ``change(m)`` edits the parsed
#: answer (returns false to send nothing); every answer is kept in
#: ``window.keptAnswers`` as sent.
_TAMPER = """
const change = new Function("m", arguments[0]);
window.keptAnswers = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string" && data.startsWith('{"t":"kept"')) {
    const m = JSON.parse(data);
    if (change(m) === false) return;
    data = JSON.stringify(m);
    window.keptAnswers.push(m);
  }
  return send.call(this, data);
};
"""


def _host_link(live: _LinkedSession) -> ViewerLink:
    serving = live.host._runtime.serving
    assert len(serving) == 1, serving
    link: ViewerLink = next(iter(serving))
    return link


@contextlib.contextmanager
def _resumed(browser: Any, first: tuple[int, int], change: str = "",
             meanwhile: Callable[[], None] = lambda: None,
             ) -> Iterator[tuple[_LinkedSession, dict[str, Any]]]:  # fmt: skip
    """A session on a typing screen (330x205: partial tiles), its link cut
    while the screen changes, then the screen frozen and the link up again.
    Checks that the resumed host link's first update is ``first``
    (continuations, keyframes) and that the page then shows the host's
    screen exactly; yields the live session and the page's state once
    resumed, and closes the session after. ``meanwhile`` runs while the
    link is down."""
    source = StillSource(open_source("synthetic", width=330, height=205, scenario="typing"))
    live = _LinkedSession(source)
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 5, what="5 updates applied")
        browser.execute_script(_TAMPER, change)
        live.run(lambda: setattr(live.proxy, "refusing", True))
        live.run(live.proxy.cut)
        time.sleep(0.5)  # the host's screen goes on changing: some tiles differ
        frame = source.freeze()
        meanwhile()
        live.run(lambda: setattr(live.proxy, "refusing", False))
        st = wait_page(browser, lambda s: s["banner"] == "Reconnected: the session goes on.",
                       what="the resumed banner")  # fmt: skip
        assert _first_update(live) == first
        _exact(browser, frame)
        yield live, st
    finally:
        live.close()


def _exact(browser: Any, frame: npt.NDArray[np.uint8]) -> None:
    frame = frame[..., :3]
    for _ in range(200):
        got = canvas_bgr(browser)
        if got.shape == frame.shape and np.array_equal(got, frame):
            return
        wait_page(browser, lambda s: True)
    raise AssertionError("the canvas never equalled the host's screen after the resume")


def _first_update(live: _LinkedSession) -> tuple[int, int]:
    """(continuations, keyframes) of the resumed host link, once it sent one."""
    live.wait(lambda: len(live.host._runtime.serving) == 1 and (
        _host_link(live).stream.continuations + _host_link(live).stream.keyframes_sent
    ) > 0, what="the resumed link's first update")  # fmt: skip
    stream = live.run(lambda: _host_link(live).stream)
    return stream.continuations, stream.keyframes_sent


def test_the_page_resumes_on_its_picture_with_a_delta_and_ends_exact(browser: Any) -> None:
    with _resumed(browser, (1, 0)) as (live, st):
        answers = browser.execute_script("return window.keptAnswers")
        assert [(a["w"], a["h"]) for a in answers] == [(330, 205)]
        assert browser.execute_script("return window.screencodecPage.keptMs") > 0
        assert live.run(lambda: live.web.bridge.protocol_errors) == 0  # type: ignore[union-attr]
        assert st["ended"] is None and len(live.asked) == 1


def test_a_page_whose_digest_is_wrong_in_a_tile_still_ends_exact(browser: Any) -> None:
    # The first tile's digest (its first 6 bytes) made wrong: the host sends
    # that tile again, though the page's picture there was right.
    with _resumed(browser, (1, 0), "m.tiles = (m.tiles[0] === 'A' ? 'B' : 'A') + m.tiles.slice(1)"):
        pass


@pytest.mark.parametrize(("change", "malformed"), [
    ("m.tiles = m.tiles.slice(12)", 1),  # not the digest of its size
    ("m.w = 400", 1),  # another size than its tiles'
    ("m.tiles = m.tiles.slice(0, -4) + '!!!!'", 1),  # not base64
    ("m.w = 331", 0),  # well-formed, but not the size of the host's screen
])  # fmt: skip
def test_a_malformed_digest_is_refused_and_the_resume_is_a_keyframe(
    browser: Any, change: str, malformed: int
) -> None:
    with _resumed(browser, (0, 1), change) as (live, st):
        errors = live.run(lambda: live.web.bridge.protocol_errors)  # type: ignore[union-attr]
        assert errors == malformed
        assert not st["closed"] and st["ended"] is None


def test_a_page_that_does_not_answer_is_resumed_with_a_keyframe(
    browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bridge_module, "KEPT_TIMEOUT", 0.2)
    with _resumed(browser, (0, 1), "return false"):
        pass


def test_a_page_reloaded_after_its_answer_is_resumed_with_a_keyframe(browser: Any) -> None:
    """The reloaded page's decoder holds no picture: the digest the page
    before it gave is not sent."""

    def reload() -> None:
        deadline = time.monotonic() + 10
        while not browser.execute_script("return window.keptAnswers.length"):
            assert time.monotonic() < deadline, "no kept answer"
            time.sleep(0.05)
        browser.refresh()
        wait_page(browser, lambda s: s["connected"], what="the reloaded page")

    with _resumed(browser, (0, 1), meanwhile=reload) as (live, _):
        assert live.run(lambda: live.web.bridge.protocol_errors) == 0  # type: ignore[union-attr]
