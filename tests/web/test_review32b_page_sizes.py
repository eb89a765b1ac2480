"""review32b: the page says a size and a limit as the terminals do (ui.js
``size``, ``limitSize`` against display.py ``amount``, ``limit_amount``),
checked in the real page (headless Chromium) over 0 .. 10**13 bytes.

Found: toFixed takes an exact tie up where Python's format takes it to the
even digit: a 1250-byte file read "1.3 kB" in the page and "1.2 kB" in the
host's terminal, 100 500 bytes "101 kB" beside "100 kB" (152 of the sizes
below differed); limitSize floored in floats ("1.12 kB" for 1130 bytes)."""

from __future__ import annotations

import random
from typing import Any

from screencodec.transport.channel.display import amount, limit_amount

from .test_page_shown_text_cut import _in_page

_IMPORT = """
const [base, cases, done] = arguments;
(async () => {
  const ui = await import(base + "app/ui.js");
  done({ out: cases.map((n) => [ui.size(n), ui.limitSize(n)]) });
})().catch((e) => done({ error: String(e && e.message || e) }));
"""


def _sizes() -> list[int]:
    edges = {k * 10**e + d for e in range(2, 13) for k in range(1, 1000, 7)
             for d in (-1, 0, 1, 5 * 10 ** (e - 3) if e >= 3 else 0)}  # fmt: skip
    rng = random.Random(3)
    picked = {*range(2100), *edges, *(rng.randrange(1, 10**13) for _ in range(5000))}
    return sorted(n for n in picked | {999, 1000, 1250, 99_999, 100_500, 2**30, 10**12} if n >= 0)


def test_the_page_says_sizes_and_limits_as_the_terminals_do(browser: Any) -> None:
    sizes = _sizes()
    got = _in_page(browser, _IMPORT, sizes)["out"]
    differ = [(n, tuple(js), (amount(n), limit_amount(n))) for n, js in zip(sizes, got, strict=True)
              if tuple(js) != (amount(n), limit_amount(n))]  # fmt: skip
    assert differ == [], f"{len(differ)} of {len(sizes)} differ: {differ[:10]}"
    said = dict(zip(sizes, got, strict=True))
    assert said[0] == ["0 bytes", "0 bytes"]
    assert said[999] == ["999 bytes", "999 bytes"]
    assert said[1000] == ["1.0 kB", "1 kB"]
    assert said[1250][0] == "1.2 kB"
    assert said[10**12] == ["1000 GB", "1000 GB"]
