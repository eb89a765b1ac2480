"""strips46: a photo's edge strips cut off text blocks by ``split_pictures``.

A Chromium Page Down at 1 Mbit/s (corpus browser-scroll) exposed a photo's
last rows and its caption in the same 256x64 blocks, cut by a block edge:
8-11 rows of photo above the caption (or a whole block of a dark, smooth
photo whose samples hold few colours), text by the sampled tests, sent
exact at 0.5-0.9 bytes a pixel (4.2-9 kB a block standalone). Each row of a
text block's edge is now measured in full: a photo's row has no colour
over a quarter of it, under 0.4 of it flat and many colours; text on a
plain background has its background over a third of every row."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont
from test_quality_units import film

from screencodec.capture.recording import Recording
from screencodec.linkbench.workloads import corpus_dir
from screencodec.quality import classify
from screencodec.quality.classify import _photo_rows, photo_like, split_pictures
from screencodec.quality.plan import cut_blocks

Frame = npt.NDArray[np.uint8]
PAGE = (238, 243, 245)  # B, G, R: Chromium's article background in the corpus
WORDS = "Harbour pixel careful light latency old, restart bright small customer a support."


def corpus_frame(name: str, i: int) -> Frame:
    path = corpus_dir() / name
    if not (path / "frames.bin").exists():
        pytest.skip(f"corpus clip {name} not present")
    with Recording.open(path) as rec:
        return np.array(rec.frame(i))


def text(f: Frame, x: int, y: int, size: int, fill: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
    """Draw WORDS (Pillow's anti-aliased default font) on ``f`` at (x, y)
    over what is there; the mask of the pixels it changed."""
    im = Image.fromarray(np.ascontiguousarray(f[..., 2::-1]))
    ImageDraw.Draw(im).text((x, y), WORDS, font=ImageFont.load_default(size=size), fill=fill)
    out = np.asarray(im)[..., ::-1]
    ink = (out != f[..., :3]).any(axis=2)
    f[..., :3] = out
    return ink


# (frame, the damage's blocks as the encoder cut them) -> split_pictures'
# parts and kinds, on main and now.
_PAGE_DOWN = {
    21: [[312, 1037, 256, 42], [568, 1037, 256, 42], [824, 1037, 256, 42], [1080, 1037, 72, 42]],
    172: [[312, 1001, 256, 64], [568, 1001, 256, 64], [824, 1001, 256, 64], [1080, 1001, 72, 64],
          [312, 1065, 256, 14], [568, 1065, 256, 14], [824, 1065, 256, 14], [1080, 1065, 72, 14]],
}  # fmt: skip


def test_a_page_downs_photo_edge_strips_are_pictures_its_caption_text() -> None:
    """Frame 21 of browser-scroll: a photo's last 9 rows above its caption,
    in 4 blocks of 42 rows (main: all text, 22.8 kB as standalone zstd).
    Frame 172: a dark photo's last 78 rows (main: 4 of its 8 blocks text,
    17.7 kB). Cut now: the caption's rows stay text, whole."""
    f = corpus_frame("browser-scroll", 21)
    blocks = np.array(_PAGE_DOWN[21], np.int32)
    out, owner, kind = split_pictures(f, blocks, np.arange(4))
    parts = [[x, 1037, w, 9] for x, _, w, _ in _PAGE_DOWN[21]]
    rest = [[x, 1046, w, 33] for x, _, w, _ in _PAGE_DOWN[21]]
    assert out.tolist() == [r for pair in zip(parts, rest, strict=True) for r in pair]
    assert kind.tolist() == [True, False] * 4 and owner.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    # The caption's rows: its ink and the page, no photo's pixel.
    for x, y, w, h in rest:
        assert (f[y : y + h, x : x + w, :3] == f[1046, 312, :3]).all(axis=2).mean() > 0.85
    g = corpus_frame("browser-scroll", 172)
    blocks = np.array(_PAGE_DOWN[172], np.int32)
    out, owner, kind = split_pictures(g, blocks, np.arange(8))
    # The narrow block keeps one row of its 64 (a row 0.25 one colour) exact.
    assert out.tolist() == [*_PAGE_DOWN[172][:3], [1080, 1001, 72, 42], [1080, 1043, 72, 1],
                            [1080, 1044, 72, 21], *_PAGE_DOWN[172][4:]]  # fmt: skip
    assert kind.tolist() == [True] * 4 + [False] + [True] * 5


def test_a_page_downs_text_blocks_stay_text_whole() -> None:
    """Frame 63's body text under the caption, frame 129's lines: text, uncut."""
    lines = {
        63: [[311, 996, 256, 64], [567, 996, 256, 64], [823, 996, 256, 64]],
        129: [[311, 917, 256, 64], [567, 981, 256, 64], [823, 1045, 256, 34]],
    }
    for i, blocks in lines.items():
        f = corpus_frame("browser-scroll", i)
        b = np.array(blocks, np.int32)
        out, _, kind = split_pictures(f, b, np.arange(3))
        assert out.tolist() == blocks and not kind.any()


def test_a_photo_beside_text_loses_its_strips_and_no_glyph() -> None:
    """A grainy photo (rows 0-74 of columns 0-767) over a caption and two
    lines of text, and another photo's first rows (180-191) under them: the
    damage (rows 64-191) in blocks of 256x64. The photo's rows of each block
    are cut off it, photo-like; the text's rows (anti-aliased, grey and
    black) are one text part, whole; the text-only column is untouched."""
    f = np.zeros((192, 960, 4), np.uint8)
    f[..., :3] = PAGE
    f[:75, :768] = film(768, 75, 7)
    f[180:, :768] = film(768, 12, 8)
    ink = text(f, 4, 80, 13, (90, 90, 90)) | text(f, 4, 104, 16, (20, 20, 20))
    ink |= text(f, 4, 128, 16, (20, 20, 20)) | text(f, 500, 150, 16, (20, 20, 20))
    blocks, owner = cut_blocks(np.array([[0, 64, 960, 128]], np.int32))
    out, own, kind = split_pictures(f, blocks, owner)
    expect = []
    for x in (0, 256, 512):
        expect += [([x, 64, 256, 11], True), ([x, 75, 256, 53], False)]
    expect += [([768, 64, 192, 64], False)]
    for x in (0, 256, 512):
        expect += [([x, 128, 256, 52], False), ([x, 180, 256, 12], True)]
    expect += [([768, 128, 192, 64], False)]
    assert [(r, bool(k)) for r, k in zip(out.tolist(), kind.tolist(), strict=True)] == expect
    assert (own == 0).all()
    for x, y, w, h in out[kind].tolist():
        assert not ink[y : y + h, x : x + w].any()
    # On main the photo's rows went with the text: every block text.
    assert not photo_like(f, blocks).any()


@pytest.mark.parametrize("size", [9, 11, 13, 16, 20])
def test_no_row_of_anti_aliased_text_is_a_photos_row(size: int) -> None:
    """Lines of text in five colours on four backgrounds (the page, white, a
    dark theme's, a mid grey), in blocks 64-640 wide: no block loses a
    strip, and no row of a line that stands out from its background (by
    ``EDGE``) is a photo's. (Found: rows of the font's x-height top and
    baseline, ink in every glyph, hold under a quarter of the background
    even 256 wide; 145-205 of their 256 samples step by EDGE, a photo's rows
    0-3.)"""
    fills = [(0, 0, 0), (90, 90, 90), (200, 60, 20), (20, 120, 250), (250, 250, 250)]
    for back in (PAGE, (255, 255, 255), (40, 34, 30), (128, 128, 128)):
        f = np.zeros((5 * (size + 8), 640, 4), np.uint8)
        f[..., :3] = back
        rows = np.zeros(f.shape[0], np.bool_)
        for k, fill in enumerate(fills):
            line = text(f, 2 - k, k * (size + 8) + 2, size, fill).any(axis=1)
            if max(abs(a - b) for a, b in zip(fill, back, strict=True)) >= classify.EDGE:
                rows |= line
        for w in (64, 72, 256, 640):
            b = np.array([[3, 0, w - 3, f.shape[0]]] * f.shape[0], np.int64)
            assert not (_photo_rows(f, b, np.arange(f.shape[0]), 256) & rows).any(), (back, w)
            blocks, owner = cut_blocks(np.array([[3, 0, w - 3, f.shape[0]]], np.int32))
            out, _, kind = split_pictures(f, blocks, owner)
            assert out.tolist() == blocks.tolist() and not kind.any()


@pytest.mark.parametrize("name", ["browser-docs", "terminal-log", "vim-typing"])
def test_text_clips_give_no_strip(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every 6th frame of the text clips, the whole screen in blocks:
    split_pictures' parts are those it gives with no strip cut at all."""
    path = corpus_dir() / name
    if not (path / "frames.bin").exists():
        pytest.skip(f"corpus clip {name} not present")
    with Recording.open(path) as rec:
        frames = [np.array(rec.frame(i)) for i in range(0, len(rec.times), 6)]
    blocks, owner = cut_blocks(np.array([[0, 0, frames[0].shape[1], frames[0].shape[0]]]))
    got = [split_pictures(f, blocks, owner) for f in frames]
    monkeypatch.setattr(classify, "STRIP_ROWS", 1 << 20)
    for f, (out, _, kind) in zip(frames, got, strict=True):
        ref = split_pictures(f, blocks, owner)
        assert np.array_equal(out, ref[0]) and np.array_equal(kind, ref[2])
