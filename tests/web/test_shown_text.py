"""The page's own text cleaner (ui.js ``shownText``) does what Python's
``safe_text`` does to a peer's string, escape sequences included, so what the
agent sees of its own chat line or file name is what the customer's terminal
shows (minus safe_text's length cut: the page's layout bounds its own text)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from screencodec.transport.channel.display import safe_text

ROOT = Path(__file__).resolve().parent.parent.parent
NODE = shutil.which("node")
_SCRIPT = """
import { shownText } from './src/screencodec/web/static/app/ui.js';
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => console.log(JSON.stringify(JSON.parse(input).map(shownText))));
"""
# Pieces a hostile or careless string is made of. Letters from old Unicode
# blocks only: Python 3.11 and node know different Unicode versions.
_PIECES = [
    "a", "Z", "7", " ", "  ", "\t", "\n", "\r\n", "é", "ж", "中", "[", "]", ";", "m", "\\",
    "\x1b[8m", "\x1b[31;1m", "\x1b[", "\x1b]0;title\x07", "\x1b]8;;http://x\x1b\\", "\x1bP+q\x9c",
    "\x1bc", "\x1b(B", "\x1b", "\x9b2J", "\x9d0;t\x07", "\x07", "\x00", "\x7f", "\x85",
    "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u2028", "\u2029", "\ue000",
]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_pages_cleaner_agrees_with_safe_text() -> None:
    rng = random.Random(5)
    texts = ["a\x1b[8mhidden", "x\x1b]0;retitled\x07y", "re\u202eport.exe", "p\x1bcq", "\x9b31mred"]
    texts += ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", _SCRIPT], input=json.dumps(texts),
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    shown = json.loads(done.stdout)
    wrong = [(t, js, safe_text(t, 10**6)) for t, js in zip(texts, shown, strict=True)
             if js != safe_text(t, 10**6)]  # fmt: skip
    assert not wrong, wrong[:5]
    assert shown[:5] == ["a?hidden", "x?y", "re?port.exe", "p?q", "?red"]
