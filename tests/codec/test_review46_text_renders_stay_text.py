"""review46: strips46's photo rows (classify._photo_rows) attacked with real
text as Chromium renders it: a table with a coloured header row and striped
rows, syntax-highlighted code on a dark theme, a log in a 9 px font. None of
it may be cut off as a photo's strip (lossy): every block and part stays
text. (It held: no photo part in any; an xterm with a coloured prompt and
coloured backgrounds, at two font sizes and a bitmap font, held too.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_review46_blank_under_rests import CHROMIUM, render

from screencodec.quality.classify import split_pictures
from screencodec.quality.plan import cut_blocks


def table() -> str:
    rows = [
        "<tr style='background:#4472c4;color:#fff'><th>ID</th><th>Name</th><th>Status</th>"
        "<th>Amount</th><th>Date</th></tr>"
    ]
    for i in range(1, 41):
        bg = "#d9e1f2" if i % 2 == 0 else "#fff"
        rows.append(
            f"<tr style='background:{bg}'><td>{i}</td><td>Customer {i} Müller</td>"
            f"<td style='color:#c00'>overdue</td><td>{i * 137}.00 €</td>"
            f"<td>2026-0{i % 9 + 1}-1{i % 9}</td></tr>"
        )
    return (
        "<html><body style='margin:10px;font-family:sans-serif;font-size:12px'>"
        f"<table style='border-collapse:collapse;width:100%'>{''.join(rows)}</table></body></html>"
    )


def code() -> str:
    lines = [
        f"<span style='color:#569cd6'>def</span> <span style='color:#dcdcaa'>handler_{i}</span>("
        f"<span style='color:#9cdcfe'>request</span>, <span style='color:#9cdcfe'>ctx</span>):"
        f" <span style='color:#6a9955'># handle {i}</span>  <span style='color:#c586c0'>return"
        f"</span> <span style='color:#ce9178'>\"ok-{i}\"</span>"
        for i in range(1, 46)
    ]
    return (
        "<html><body style='margin:0;background:#1e1e1e;font-family:monospace;font-size:13px;"
        f"color:#d4d4d4'><pre style='margin:8px'>{chr(10).join(lines)}</pre></body></html>"
    )


def small_log() -> str:
    lines = [
        f"<div>log {i}: [info] worker-{i} finished batch in {i}3 ms; queue={i * 7} retries=0"
        f" host=node-{i}.example.internal</div>"
        for i in range(1, 61)
    ]
    return (
        "<html><body style='margin:6px;font-size:9px;font-family:sans-serif;background:#f4f6f8;"
        f"color:#556'>{''.join(lines)}</body></html>"
    )


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium")
@pytest.mark.parametrize("page", [table, code, small_log])
def test_real_text_renders_have_no_photo_part(page: object, tmp_path: Path) -> None:
    assert callable(page)
    f = render(page(), tmp_path)
    h, w = f.shape[:2]
    blocks, owner = cut_blocks(np.array([[0, 0, w, h]], np.int32))
    out, _, kind = split_pictures(f, blocks, owner)
    assert len(out) >= len(blocks) == 65
    assert not kind.any(), out[kind].tolist()
