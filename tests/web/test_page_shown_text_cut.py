"""The page cuts what it shows as Python's ``safe_text`` does (ui.js
``shownText(text, { cut })``): at most ``cut`` code points, a longer one
ending in ``...``, an input over 8 x ``cut`` cut before it is cleaned; never
splitting a surrogate pair. Checked in the real page (headless Chromium)
against ``safe_text`` on the same inputs, around the cut: long strings,
astral characters and combining marks at the cut's edge. And the page's
panels use it: a file's name, the host's notice and chat line, a recording's
event row are shown cut; the agent's own chat line is not."""

from __future__ import annotations

import random
from typing import Any

from screencodec.capture import open_source
from screencodec.transport.channel.display import MAX_SHOWN, safe_text
from screencodec.web import WebOptions

from .conftest import wait_page
from .harness import LiveSession, StillSource

_IMPORT = """
const [base, cases, done] = arguments;
(async () => {
  const ui = await import(base + "app/ui.js");
  done({ max: ui.MAX_SHOWN, out: cases.map(([t, cut]) => ui.shownText(t, { cut })) });
})().catch((e) => done({ error: String(e && e.message || e) }));
"""

# Old blocks only: Python's unicodedata and Chromium's ICU know different
# Unicode versions (unassigned characters become "?").
ASTRAL = ["\U0001f600", "\U0001d4b3", "\U00010400"]  # emoji, math script X, Deseret
COMBINING = ["e\u0301", "a\u0308\u0323", "\u0915\u094d"]  # é, ä with dot below, Devanagari
_PIECES = ["a", " ", "  ", "\t", "ж", "中", "\x1b[8m", "\x1b]0;t\x07", "\u202e", "\u200b", *ASTRAL,
           *COMBINING]  # fmt: skip


def _cases() -> list[tuple[str, int]]:
    cases: list[tuple[str, int]] = []
    for cut in (0, 1, 3, 4, 32, 100, MAX_SHOWN, 1000):
        for n in range(max(0, cut - 4), cut + 3):
            cases.append(("a" * n, cut))
            for odd in ASTRAL + COMBINING:
                # The odd piece on each side of where the cut falls.
                for at in range(max(0, cut - 5), cut + 1):
                    cases.append(("b" * at + odd + "c" * max(0, n - at - 1), cut))
            cases.append(("\U0001f600" * n, cut))
            cases.append(("e\u0301" * n, cut))
    # Over 8 x cut: cut before cleaning (spaces that would have gone, an
    # escape sequence that the pre-cut opens but does not close).
    cases += [("x" * 5000, MAX_SHOWN), ("\U0001f600" * 3000, MAX_SHOWN),
              (" " * 1000 + "y" * 200, MAX_SHOWN), ("z" * 955 + "\x1b]0;title\x07tail", MAX_SHOWN),
              ("\U0001f600" * 959 + "e\u0301" * 10, MAX_SHOWN), ("w" * 9000, 1000)]  # fmt: skip
    rng = random.Random(11)
    for _ in range(1500):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 200)))
        cases.append((text, rng.choice((8, 32, MAX_SHOWN))))
    return cases


def _in_page(browser: Any, script: str, arg: Any) -> Any:
    """``script``'s answer in a live page (given the page's static base and ``arg``)."""
    source = StillSource(open_source("synthetic", width=64, height=64, scenario="idle"))
    source.freeze()
    live = LiveSession(source, options=WebOptions(grace=5.0))
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="page up")
        assert live.web.server is not None
        got = browser.execute_async_script(script, f"/s/{live.web.server.access.static_key}/", arg)
    finally:
        live.close()
    assert "error" not in got, got
    return got


def test_shown_text_cuts_as_safe_text_does(browser: Any) -> None:
    cases = _cases()
    got = _in_page(browser, _IMPORT, cases)
    out = got["out"]
    assert len(out) == len(cases)
    wrong = [(t, cut, js, safe_text(t, cut)) for (t, cut), js in zip(cases, out, strict=True)
             if js != safe_text(t, cut)]  # fmt: skip
    assert not wrong, (len(wrong), wrong[:3])
    for js in out:
        js.encode("utf-8")  # no half of a surrogate pair
    # The cut did happen (the old shownText cut nothing).
    assert out[cases.index(("x" * 5000, MAX_SHOWN))] == "x" * (MAX_SHOWN - 3) + "..."
    assert max(len(o) for o in out) <= 1000
    assert got["max"] == MAX_SHOWN


_PANELS = """
const [base, long, done] = arguments;
(async () => {
  const { Timeline } = await import(base + "app/timeline.js");
  const ui = window.screencodecPage.ui;
  const text = (sel) => document.querySelector(sel).textContent;
  ui.fileRow("cut-test", long.name, "");
  ui.notice(long.notice);
  ui.chatLine("host", long.chat);
  ui.chatLine("me", long.mine);
  new Timeline(() => {}).event({ us: 0, kind: long.kind, text: long.row });
  const chat = [...document.querySelectorAll("#chat-log li span")].map((s) => s.textContent);
  done({
    name: text("#file-list li:last-child .name"), notice: text("#notice"),
    chat: chat.slice(-2), kind: text("#event-log li:last-child b"),
    row: text("#event-log li:last-child span"),
  });
})().catch((e) => done({ error: String(e && e.message || e) }));
"""


def test_the_pages_panels_show_peer_and_file_strings_cut(browser: Any) -> None:
    long = {
        "name": "report-" + "\U0001f600" * 300 + ".pdf",
        "notice": "n" * 998 + "e\u0301" * 5,
        "chat": "h\u202e" * 2500,
        "mine": "my own words, " * 150,
        "kind": "k" * 40,
        "row": "who=" + "\U0001d4b3" * 1200,
    }
    got = _in_page(browser, _PANELS, long)
    assert got["name"] == safe_text(long["name"], 100)
    assert got["notice"] == safe_text(long["notice"], 1000)
    assert got["chat"][0] == safe_text(long["chat"], 4000)
    assert got["chat"][1] == long["mine"].strip(), "the agent's own line is not cut"
    assert got["kind"] == safe_text(long["kind"], 32)
    assert got["row"] == safe_text(long["row"], 1000)
    assert all(v.endswith("...") for v in (got["name"], got["notice"], got["chat"][0],
                                             got["kind"], got["row"]))  # fmt: skip
