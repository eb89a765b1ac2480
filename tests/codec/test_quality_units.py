"""The parts of rate control on their own: blocks, the photo test, the lossy
map, the size model, the error measure."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screencodec.encoder import _blocks
from screencodec.geometry import Rect
from screencodec.quality import LossyMap, LossyOptions, RateModel, photo_like, psnr, sse
from screencodec.quality.lossymap import detail
from screencodec.quality.plan import cut_blocks

Frame = npt.NDArray[np.uint8]


def film(w: int, h: int, seed: int) -> Frame:
    """Photo-like: smooth gradients under fresh grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((h, w, 4), np.uint8)
    base = 128 + 60 * np.sin(xx / 31)[..., None] * np.cos(yy[..., None] / 17 + np.arange(3))
    out[..., :3] = np.clip(base + rng.integers(-6, 7, (h, w, 3)), 0, 255)
    return out


def text_desktop(w: int, h: int) -> Frame:
    """Text-like: dark strokes on a flat light background."""
    rng = np.random.default_rng(1)
    f = np.full((h, w, 4), 235, np.uint8)
    strokes = rng.random((h, w)) < 0.12
    strokes[np.arange(h) % 14 > 9] = False
    f[strokes, :3] = (30, 20, 10)
    return f


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 900), st.integers(0, 500),
                          st.integers(1, 1100), st.integers(1, 600)), max_size=6))  # fmt: skip
def test_cut_blocks_are_the_encoders_blocks(rects: list[tuple[int, int, int, int]]) -> None:
    arr = np.array(rects, np.int32).reshape(-1, 4)
    blocks, owner = cut_blocks(arr)
    expect = [(b, i) for i, r in enumerate(rects) for b in _blocks(Rect(*r))]
    assert [Rect(*b) for b in blocks.tolist()] == [b for b, _ in expect]
    assert owner.tolist() == [i for _, i in expect]


def test_photo_like_tells_film_from_text() -> None:
    f = text_desktop(512, 256)
    f[:, 256:] = film(256, 256, 3)
    blocks = [(x, y, 128, 64) for y in range(0, 256, 64) for x in range(0, 512, 128)]
    photo = photo_like(f, blocks)
    assert photo.tolist() == [x >= 256 for x, _, _, _ in blocks]
    # Row-strided views, thin blocks and blocks too narrow to test.
    view = np.zeros((256, 600, 4), np.uint8)[:, :512]
    view[...] = f
    assert photo_like(view, blocks).tolist() == photo.tolist()
    assert photo_like(f, [(300, 0, 40, 256), (300, 0, 1, 256), (0, 0, 40, 256)]).tolist() == [
        True, False, False,
    ]  # fmt: skip
    assert photo_like(f, np.zeros((0, 4), np.int32)).shape == (0,)


def test_lossy_map_marks_moves_and_clears_cells() -> None:
    m = LossyMap(64, 256, 128)
    assert m.cell == 16 and not m
    m.mark([Rect(10, 0, 20, 16)], 1)  # touches cells (0, 0) and (0, 1)
    assert m.cells == 2 and m.area == 2 * 16 * 16
    # A COPY of those cells 40 px right and 20 down: they land across six
    # cells (rows 1-2, columns 2-4); the source stays lossy too.
    m.move([(Rect(0, 0, 32, 16), Rect(40, 20, 32, 16))], 2)
    landed = sorted((int(y), int(x)) for y, x in zip(*np.nonzero(m.age == 2), strict=True))
    assert landed == [(1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4)]
    # An exact COPY over them: the cells it covers whole are exact again.
    m.move([(Rect(128, 64, 64, 48), Rect(32, 16, 64, 48))], 3)
    assert m.age[1:3, 2:6].max() < 0 and m.cells == 2
    m.clear_covered(np.array([[0, 0, 20, 16], [16, 0, 16, 16]], np.int32))  # overlapping
    assert not m
    m.mark([Rect(0, 0, 256, 128)], 4)
    m.clear_covered(np.array([[0, 0, 256, 127]], np.int32))  # one row short
    assert m.cells == 16 and (m.age[-1] == 4).all()
    m.clear_inside([Rect(0, 100, 256, 28)])  # to the frame's edge
    assert not m
    m.mark([Rect(0, 0, 10, 10)], 5)
    m.reset(256, 128)
    assert not m


def test_lossy_map_tells_whether_every_lossy_cell_is_one_rects_touch() -> None:
    """The refinement skips its price check only when every lossy cell is a
    stopped film's: one cell elsewhere keeps the check."""
    m = LossyMap(64, 256, 128)
    film = Rect(33, 21, 101, 51)  # off the grid: cell rows 1-4, columns 2-8
    assert m.only_in([film])  # nothing lossy
    m.mark([film], 1)
    assert m.only_in([film]) and m.only_in([Rect(0, 0, 256, 128)])
    assert not m.only_in([Rect(33, 21, 95, 51)])  # to column 7: one short
    m.mark([Rect(200, 100, 1, 1)], 2)
    assert not m.only_in([film])
    assert m.only_in([film, Rect(192, 96, 16, 16)])


def test_lossy_map_picks_tiles_oldest_first_then_cells() -> None:
    m = LossyMap(64, 256, 128)
    m.mark([Rect(128, 64, 128, 64)], 1)  # the oldest: two tiles at the bottom right
    m.mark([Rect(0, 0, 256, 64)], 2)
    m.mark([Rect(0, 64, 16, 16)], 3)  # one cell, newest
    rects, mask = m.pick(3 * 64 * 64, 4)
    assert rects.tolist() == [[0, 0, 64, 64], [128, 64, 128, 64]]
    assert mask.sum() == 3 * 16
    m.drop(mask)
    assert m.pick(10**9, 3)[0].tolist() == [[64, 0, 192, 64]]  # stamp 3 not yet
    # The next-oldest tile whole, and one cell of the next: a budget smaller
    # than a tile still refines.
    rects, mask = m.pick(64 * 64 + 256, 4)
    assert mask.sum() == 17 and mask[:4, 4:8].all() and mask[0, 8]
    assert sorted(rects.tolist()) == [[64, 0, 80, 16], [64, 16, 64, 48]]
    assert m.pick(0, 4)[0].tolist() == []


def test_rate_model_learns_sizes_and_guards_quality() -> None:
    m = RateModel(LossyOptions(), chroma420=False)
    qps = [m.choose_qp(100_000, target) for target in (1e3, 1e4, 3e4, 1e5)]
    assert qps == sorted(qps, reverse=True) and qps[0] == m.qp_cap
    before = m.still_bytes(30, 100_000)
    m.observe_still(30, 100_000, int(before / 4), psnr=40.0)
    assert m.still_bytes(30, 100_000) < before / 2  # learnt: this content is cheap
    assert m.still_bytes(12, 100_000) >= m.still_bytes(12, 1) * 100_000 * 0.99
    cap = m.qp_cap
    m.observe_still(cap, 100_000, 10_000, psnr=30.5)  # too close to the floor
    assert m.qp_cap == cap - 2
    m.observe_lossless(100_000, 50_000)
    assert m.lossless_bytes(1000) < 1000 * 0.75
    assert m.lossless_bytes(1000, thin=1000) == 3000
    with pytest.raises(ValueError, match="qp"):
        LossyOptions(qp_min=40, qp_max=30)


def test_sse_and_psnr() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (300, 200, 4), dtype=np.uint8)
    b = a.copy()
    b[..., :3] ^= rng.integers(0, 4, (300, 200, 3), dtype=np.uint8)
    b[..., 3] = 7  # padding is not compared
    d = a[..., :3].astype(np.int64) - b[..., :3]
    err, n = sse(a, b)
    assert (err, n) == (float((d * d).sum()), 300 * 200)
    hole = Rect(10, 20, 50, 30)
    mask = np.ones((300, 200), bool)
    mask[hole.slices()] = False
    err, n = sse(a, b, holes=[hole, Rect(10, 20, 5, 5)])
    assert (err, n) == (float((d * d)[mask].sum()), int(mask.sum()))
    err, n = sse(a, b, max_pixels=20_000)  # every 3rd row
    assert n == 100 * 200
    assert psnr(0.0, 10) == 99.0 and psnr(1.0, 0) is None
    assert psnr(3 * 255.0**2, 1) == pytest.approx(0.0)


def test_refinement_cost_is_believed_at_once_when_dearer_and_learnt_slowly_when_cheaper() -> None:
    """An underestimate sends a refinement that holds the link for several
    frames, so a dearer observation replaces the estimate; a cheaper one only
    moves it a step."""
    model = RateModel(LossyOptions(), chroma420=False)
    model.observe_refine(10_000, 60_000)
    assert model.refine_per_pixel == 6.0
    model.observe_refine(10_000, 10_000)
    assert 1.0 < model.refine_per_pixel < 6.0
    model.observe_refine(100, 100_000)  # too small a sample to learn from
    assert model.refine_per_pixel < 6.0


def test_cells_are_weighed_by_their_detail() -> None:
    """A cell's weight is the share of its pixels that differ from their left
    neighbour (B, G, R; the padding byte ignored), plus 0.02; the frame's
    first column has no left neighbour and counts as equal."""
    f = np.zeros((40, 48, 4), np.uint8)
    f[..., 3] = np.arange(48, dtype=np.uint8)  # padding differs everywhere: ignored
    f[:16, 16:32, 1] = np.arange(16, dtype=np.uint8) % 2 * 200  # stripes
    f[:16, 32:48, 2] = (np.arange(16) % 4 == 3) * 90  # every 4th column
    f[16:, :16, 0] = np.arange(16, dtype=np.uint8)  # a ramp from column 0
    w = detail(f, Rect(0, 0, 48, 40), 16)
    assert w.shape == (3, 3) and w.dtype == np.float32
    expected = [
        # flat; stripes from a flat neighbour (the first column equals it);
        # every 4th column set, and the one after it (8 of 16 with column 32,
        # after the stripes' last)
        [0.02, 15 / 16 + 0.02, 8 / 16 + 0.02],
        # the ramp: columns 1-15 differ; at column 16 it falls back to 0
        [15 * 16 / 256 + 0.02, 16 / 256 + 0.02, 0.02],
        # the last row of cells is 8 px high (40 = 2 * 16 + 8)
        [15 / 16 + 0.02, 1 / 16 + 0.02, 0.02],
    ]
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    wide = np.zeros((40, 96, 4), np.uint8)
    wide[:, 48:] = f  # a view with rows 96 px apart
    assert np.array_equal(detail(wide[:, 48:], Rect(0, 0, 48, 40), 16), w)
    assert np.array_equal(detail(f[:, ::-1][:, ::-1], Rect(0, 0, 48, 40), 16), w)
    m = LossyMap(16, 48, 40)
    m.mark([Rect(0, 0, 48, 40)], 1, f)
    np.testing.assert_allclose(m.weight, expected, rtol=1e-6)
    m.mark([Rect(0, 0, 5, 5)], 2)  # no frame: weighed as a photo
    assert m.weight[0, 0] == 1.0


def test_lossy_map_picks_by_weight_and_moves_weights_with_pixels() -> None:
    m = LossyMap(64, 256, 128)
    flat = np.zeros((128, 256, 4), np.uint8)
    m.mark([Rect(0, 0, 64, 64)], 1, flat)  # 16 cells of weight 0.02
    m.mark([Rect(64, 0, 64, 64)], 1)  # 16 cells of weight 1
    assert m.weighted(m.age >= 0) == pytest.approx(64 * 64 * 1.02)
    # By weight, the flat tile costs a fiftieth: both fit in 1.1 tiles' weight.
    assert m.pick(1.1 * 64 * 64, 2, weighed=True)[0].tolist() == [[0, 0, 128, 64]]
    # Unweighed, the first tile and one cell of the second.
    assert m.pick(1.1 * 64 * 64, 2)[1].sum() == 17
    # One cell alone when it costs at most twice the budget, else nothing.
    assert m.pick(0.6 * 256, 2)[1].sum() == 1
    assert m.pick(0.4 * 256, 2)[1].sum() == 0
    # The flat cells moved onto exact ones keep their weight; the heaviest
    # lossy source cell sets it where several land.
    m.move([(Rect(0, 0, 32, 16), Rect(0, 64, 32, 16))], 3)
    assert m.weight[4, :2].tolist() == pytest.approx([0.02, 0.02])
    m.move([(Rect(48, 0, 32, 16), Rect(0, 96, 32, 16))], 4)
    assert m.weight[6, :2].tolist() == [1.0, 1.0]
    # Light pixels landing on part of heavy lossy cells: each keeps the
    # weight of its photo columns the copy does not cover.
    m.move([(Rect(0, 64, 16, 16), Rect(100, 0, 16, 16))], 5)
    assert m.weight[0, 6:8].tolist() == [1.0, 1.0]
    # A cell covered whole takes the light weight; a later copy of the same
    # update reads what was there before any copy, pixels and weights alike.
    light, heavy = Rect(0, 64, 16, 16), Rect(96, 0, 16, 16)
    m.move([(light, heavy), (heavy, Rect(0, 112, 16, 16))], 6)
    assert m.weight[0, 6] == pytest.approx(0.02) and m.weight[7, 0] == 1.0
    # Waiting: cells flagged before the stamp only.
    n = LossyMap(64, 256, 128)
    n.mark([Rect(0, 0, 8, 8)], 5)
    assert not n.waiting(5) and n.waiting(6)


def test_refinement_prices_new_content_by_its_weight_not_the_last_cheap_one() -> None:
    """Cheap refinements (content the history stream had seen) teach a low
    price; the photo refined after them is priced no lower than the floor,
    and weighted pixels are what the price is learnt in."""
    model = RateModel(LossyOptions(), chroma420=False)
    for _ in range(30):
        model.observe_refine(100_000, 500, weighted=100_000)
    assert model.refine_per_pixel < 0.01
    model.observe_refine(10_000, 5_000, weighted=2_000)  # 2.5 per weighted pixel
    assert model.refine_per_pixel == 2.5


def test_clear_exact_keeps_exactly_the_cells_that_differ() -> None:
    """Flagged cells the viewer's picture shows exactly lose their flag; one
    differing pixel (B, G or R, not the padding byte) keeps its cell's; cells
    that were never flagged stay exact, even where the pictures differ."""
    w, h = 100, 70  # cells cut by both edges
    frame = np.random.default_rng(1).integers(0, 256, (h, w, 4), dtype=np.uint8)
    ref = frame.copy()
    ref[..., 3] ^= 0xFF  # padding differs everywhere: not a difference
    m = LossyMap(16, w, h)
    m.mark([Rect(16, 16, 40, 20), Rect(96, 64, 4, 6)], 1)  # cells (1..2, 1..3) and (4, 6)
    ref[20, 40, 1] ^= 1  # cell (1, 2)
    ref[69, 99, 2] ^= 1  # the corner cell (4, 6), cut by both edges
    ref[0, 0, 0] ^= 1  # cell (0, 0): never flagged
    m.clear_exact(ref, frame)
    assert sorted(zip(*np.nonzero(m.age >= 0), strict=True)) == [(1, 2), (4, 6)]
    m.clear_exact(frame, frame)
    assert not m


def smooth_photo(w: int, h: int) -> Frame:
    """A photo's smooth stretch (sky, water): a gentle gradient, so runs of
    equal neighbours everywhere, and no two neighbours more than 1 apart."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((h, w, 4), np.uint8)
    level = (60 + 0.3 * xx + 0.2 * yy).astype(np.uint8)
    out[..., :3] = level[..., None] + np.arange(3, dtype=np.uint8)
    return out


def test_ui_inside_a_still_is_its_edges_not_a_photos_smooth_stretches() -> None:
    from screencodec.quality.plan import _text_cells

    frame = smooth_photo(256, 128)
    still = Rect(0, 0, 256, 128)
    none = np.zeros((0, 4), np.int64)
    # Runs of equal pixels alone took every cell of such a gradient for UI
    # (each then its own lossless op): there is no edge in it.
    assert len(_text_cells(frame, still, none)) == 0
    # A one-pixel dark line (a window's edge, an underline) over it is UI: the
    # rects returned cover every pixel of it.
    frame[70, 40:200, :3] = (20, 20, 20)
    ui = _text_cells(frame, still, none)
    covered = np.zeros((128, 256), np.bool_)
    for x, y, w, h in ui.tolist():
        covered[y : y + h, x : x + w] = True
    assert covered[70, 40:200].all()
    # ... and nothing but the line's own cells, not the gradient around them.
    rows = np.flatnonzero(covered.any(axis=1))
    assert rows.min() >= 60 and rows.max() < 80
    # A patch of one solid colour (a window's background reaching into the
    # still) is UI too: a still would smear the photo's colours into it.
    frame[100:120, 16:48, :3] = (28, 24, 24)
    ui = _text_cells(frame, still, none)
    covered[:] = False
    for x, y, w, h in ui.tolist():
        covered[y : y + h, x : x + w] = True
    assert covered[104:112, 24:40].all()


def blurred_picture(w: int, h: int, seed: int) -> Frame:
    """A smooth photo (a sky, a blurred background): colour blobs 128x32
    pixels apart, blended, so each of B, G, R rises or falls by under a
    level a pixel. Most pixels equal their left neighbour (the flat test
    alone took it for text), yet a block holds hundreds of colours and no
    edge."""
    rng = np.random.default_rng(seed)
    small = rng.integers(80, 176, (h // 32 + 2, w // 128 + 2, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fy, fx = yy / 32, xx / 128
    y0, x0 = fy.astype(int), fx.astype(int)
    ty, tx = (fy - y0)[..., None], (fx - x0)[..., None]
    blend = (small[y0, x0] * (1 - ty) * (1 - tx) + small[y0 + 1, x0] * ty * (1 - tx)
             + small[y0, x0 + 1] * (1 - ty) * tx + small[y0 + 1, x0 + 1] * ty * tx)  # fmt: skip
    out = np.zeros((h, w, 4), np.uint8)
    out[..., :3] = blend.astype(np.uint8)
    return out


def test_a_smooth_picture_is_photo_like_however_flat() -> None:
    pic = blurred_picture(256, 64, 5)
    words = pic.view(np.uint32)[..., 0]
    assert (words[:, 1:] == words[:, :-1]).mean() >= 0.4  # flat by the first test
    assert len(np.unique(words)) > 500
    assert photo_like(pic, [(0, 0, 256, 64)]).tolist() == [True]
    # Beside a plain area with no edge between them (a pale window's margin
    # on a pale sky): a picture while the plain part is short ...
    f = pic.copy()
    f[:, 224:] = pic[:, 223:224]
    assert photo_like(f, [(0, 0, 256, 64)]).tolist() == [True]
    # ... and plain once it spans a quarter of each sampled row.
    f[:, 192:] = pic[:, 191:192]
    assert photo_like(f, [(0, 0, 256, 64)]).tolist() == [False]
    # A block with an edge anywhere stays text: a photo's last rows above
    # its caption go lossless (the caption must).
    f = text_desktop(256, 64)
    f[:32] = pic[:32]
    assert photo_like(f, [(0, 0, 256, 64)]).tolist() == [False]


def test_text_in_many_colours_stays_text() -> None:
    """Anti-aliased text: strokes in 200 shades (many colours, flat page):
    every sampled row through the lines has edges, and the blank rows
    between lines have no steps at all."""
    f = text_desktop(512, 128)
    rng = np.random.default_rng(2)
    ink = np.all(f[..., :3] == (30, 20, 10), axis=-1)
    f[ink, :3] = rng.integers(10, 210, (int(ink.sum()), 1)).astype(np.uint8)
    blocks = [(x, y, 256, 64) for y in (0, 64) for x in (0, 256)]
    words = f.view(np.uint32)[..., 0]
    assert len(np.unique(words[:64, :256])) > 128
    assert photo_like(f, blocks).tolist() == [False] * 4


def test_a_pictures_edge_above_or_below_text_is_cut_from_it() -> None:
    """A photo's last rows above its caption (one block: text by the tests,
    for the caption's edges), and a picture's first rows below text, are cut
    at their sampled rows: the picture's part is photo-like, the text's part
    text and whole. Blocks of text alone, and a picture between lines of
    text, are left as they are; every rect's blocks stay together."""
    from screencodec.quality.classify import split_pictures

    f = text_desktop(512, 192)
    pic = blurred_picture(512, 192, 3)
    f[:24] = pic[:24]  # ends above the text of the block (0, 0)
    f[104:128, 256:] = pic[104:128, 256:]  # starts below the text of (256, 64)
    f[152:168] = pic[152:168]  # between lines of text
    blocks = np.array([[0, 0, 256, 64], [256, 0, 256, 64], [0, 64, 256, 64],
                       [256, 64, 256, 64], [0, 128, 256, 64]], np.int32)  # fmt: skip
    out, owner, photo = split_pictures(f, blocks, np.array([0, 0, 1, 1, 2]))
    # Sampled rows are 4 apart (2, 6, ..., 62 of a block): the cut follows
    # the last smooth one (22) or is at the first (42), and the rows between
    # it and the text's sampled rows go with the text.
    assert out.tolist() == [
        [0, 0, 256, 23], [0, 23, 256, 41],
        [256, 0, 256, 23], [256, 23, 256, 41],
        [0, 64, 256, 64],
        [256, 64, 256, 42], [256, 106, 256, 22],
        [0, 128, 256, 64],
    ]  # fmt: skip
    assert owner.tolist() == [0, 0, 0, 0, 1, 1, 1, 2]
    assert photo.tolist() == [True, False, True, False, False, False, True, False]
    # No cut: the same as photo_like, the same arrays.
    plain = text_desktop(512, 64)
    same, same_owner, kind = split_pictures(plain, blocks[:2], np.array([0, 0]))
    assert same.tolist() == blocks[:2].tolist() and same_owner.tolist() == [0, 0]
    assert kind.tolist() == photo_like(plain, blocks[:2]).tolist() == [False, False]
