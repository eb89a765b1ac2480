/* motion: kernels for scroll and window-move detection over BGRX frames
 * (pure C, no Python API).
 *
 * Frames are laid out as in tilediff.h: `height` rows of `width` 4-byte
 * pixels B, G, R, X, row y at data + y * stride; the X byte is ignored by every
 * hash and comparison. A shift (dx, dy) means: the pixel at (x, y) of `cur`
 * came from (x - dx, y - dy) of `prev`, i.e. dst = src + (dx, dy).
 *
 * Callers (the Cython module) validate every rectangle against the frame
 * first; the kernels assume valid input and never allocate.
 *
 * Thread safety: sc_motion_init() once (it sets up the tilediff row
 * primitives these kernels are built on); after that every function is
 * reentrant and runs without the GIL.
 */
#ifndef SC_MOTION_H
#define SC_MOTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void sc_motion_init(void);

/* 64-bit hash of the B, G, R bytes of pixels [x, x + w) of each row
 * y .. y + h - 1; out[i] is row y + i. The hash is defined by
 * row_hashes_reference in src/screencodec/motion/reference.py: pixel pairs
 * read as little-endian 64-bit words with X masked out, word i fed into
 * lane i % 8 (acc = rotl(acc ^ word, 29) * P1), then the lanes merged with
 * the width and avalanched. w >= 1. */
void sc_row_hashes(const uint8_t *data, ptrdiff_t stride, int32_t x, int32_t w, int32_t y,
                   int32_t h, uint64_t *out);

/* Row hashes of n column strips (x xs[k], width ws[k] >= 1) over rows
 * [y, y + h), written strip-major: out[k * h + i] is strip k of row y + i.
 * The same hashes as sc_row_hashes per strip, in one pass over the rows. */
void sc_strip_hashes(const uint8_t *data, ptrdiff_t stride, const int32_t *xs, const int32_t *ws,
                     int32_t n, int32_t y, int32_t h, uint64_t *out);

/* Vertical shift votes of n strips of h rows each (row r of strip s at
 * [s * h + r]): a row y with changed[s * h + y] != 0 whose frame hash hc
 * occurs exactly once among the strip's reference hashes hp, at row r,
 * adds one vote to votes[s * 2h + (y - r) + h] when y != r. Repeated
 * reference rows (blank lines, stripes) would vote for every shift, so they
 * do not vote at all. `keys` / `rows` are scratch for a hash table of `cap`
 * entries, a power of two >= 2h; votes (n * 2h int32) must be zeroed. */
void sc_row_votes(const uint64_t *hp, const uint64_t *hc, const uint8_t *changed, int32_t n,
                  int32_t h, uint64_t *keys, int32_t *rows, int32_t cap, int32_t *votes);

/* Runs per row that sc_match_runs (most) and sc_screen_shifts report at most. */
#define SC_MAX_ROW_RUNS 16

/* For each row y in [y0, y1) of `cur`: the runs of columns in [x0, x1) whose
 * pixels equal `prev` shifted by (dx, dy), at least min_run >= 1 pixels
 * long. With most == 1, the longest (the leftmost of equally long runs);
 * with 1 < most <= SC_MAX_ROW_RUNS, every maximal run, or the `most`
 * longest of them (of equals, the leftmost), left to right: side-by-side
 * windows moved by the same shift each keep their run. Row y's runs are
 * starts[k] .. ends[k] (end exclusive) for k in [(y - y0) * most,
 * (y - y0 + 1) * most); unused slots hold start == end == x0. Columns or
 * rows whose source lies outside prev are never part of a run. When
 * row_mask is not NULL, rows with row_mask[y - y0] == 0 are skipped (no
 * run). Mismatching stretches are probed every min_run pixels (and every
 * longer stretch than the best run so far, with most == 1) and matching
 * ones compared with SIMD, so a wrong candidate costs little. */
void sc_match_runs(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                   ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0, int32_t x1,
                   int32_t y0, int32_t y1, int32_t dx, int32_t dy, int32_t min_run,
                   const uint8_t *row_mask, int32_t most, int32_t *starts, int32_t *ends);

/* Screening of n candidate shifts (dx, dy at shifts[2g], shifts[2g + 1]) in
 * one pass over the sampled rows y0 + row_step / 2, + row_step, ... below y1
 * (row_step >= 1) of columns [x0, x1): matched[g] is the total length of
 * the runs of at least min_run pixels equal to `prev` shifted by shift g,
 * over those rows (up to SC_MAX_ROW_RUNS runs a row, the longest). Each frame
 * row is read once for all shifts; a shift that does not hold costs about
 * (x1 - x0) / min_run probes a sampled row. */
void sc_screen_shifts(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                      ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0, int32_t x1,
                      int32_t y0, int32_t y1, int32_t row_step, const int32_t *shifts, int32_t n,
                      int32_t min_run, int64_t *matched);

/* Candidate shifts of any length: where in `prev` did content of `cur` come
 * from? (A moved window's old place is damage too, so the caller knows
 * where to look: the scan rect.)
 *
 * Anchors: every k-pixel segment of `cur` starting in [x0, x1 - k] on the
 * anchor rows that has at least min_detail neighbouring pixel pairs that
 * differ and is not at rest (its hash differs from prev's at the same place),
 * keyed by a rolling polynomial hash; an anchor whose hash occurs twice is
 * ambiguous and dropped. Anchor rows come in runs of `run` rows from each of
 * `starts` (in the caller's order, runs not overlapping, rows from y1 on
 * left out) until max_runs runs have given min_anchors anchors each: runs
 * over blank lines cost a pass and do not count. Then the segments of `prev`
 * at columns sx0, sx0 + k, ... of rows sy0, sy0 + row_step, ... of the scan
 * rect [sx0, sx1) x [sy0, sy1) are hashed and looked up: an anchor found at
 * 1 to 3 of them votes 6 / count for each shift (anchor - found), (0, 0)
 * excluded; anchors found more often (repeating content) do not vote. The
 * anchors are dense in x, so a rigid move of any (dx, dy) gets about one
 * vote per k columns of its content per anchor row y with y - dy - sy0 a
 * multiple of row_step (with run >= row_step, one row of each run).
 *
 * Writes up to max_out (dx, dy, votes) int32 triples to out, most votes
 * first, and returns how many. Scratch, kept by the caller between calls:
 * the anchors' hash index (2 * cap uint64, left all ones on return; a slot
 * counts only if the anchor it names points back at it, so whatever it holds
 * on entry is safe, and no call clears all of it), cap a power of two >= 2 * (max_runs
 * * run * (x1 - x0) + nstarts * (min_anchors - 1)), room for every anchor
 * (an unproductive run inserts fewer than min_anchors; anchors past 1/2 of
 * cap would be dropped); the anchors themselves, dense in insertion order,
 * in anchor (SC_ANCHOR_INTS * (cap / 2) int32); skeys (scap int64) and
 * svotes (scap int32) for the shifts, scap a power of two (shifts past 3/4
 * of it are dropped). k a
 * positive multiple of 4, x1 - x0 >= k, rows and both rects inside the
 * frames. Linear in the anchor rows tried, the anchors found and the scan
 * rect's area / row_step, not in cap. */
#define SC_ANCHOR_INTS 10
int32_t sc_segment_shifts(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                          ptrdiff_t cur_stride, int32_t x0, int32_t x1, int32_t y1,
                          const int32_t *starts, int32_t nstarts, int32_t run, int32_t max_runs,
                          int32_t min_anchors, int32_t sx0, int32_t sy0, int32_t sx1,
                          int32_t sy1, int32_t k, int32_t min_detail, int32_t row_step,
                          uint64_t *index, int32_t *anchor, int32_t cap, int64_t *skeys,
                          int32_t *svotes, int32_t scap, int32_t max_out, int32_t *out);

/* Moves the w x h pixels at (sx, sy) of buf by (dx, dy), inside the same
 * buffer; source and destination may overlap (rows are walked away from the
 * overlap, each with memmove). Both rects must lie inside the frame. */
void sc_move_rect(uint8_t *buf, ptrdiff_t stride, int32_t sx, int32_t sy, int32_t w, int32_t h,
                  int32_t dx, int32_t dy);

/* Applies n COPY ops to buf as a decoder does: every source is read from buf
 * as it was before any op wrote, then the destinations are written in op
 * order (where destinations overlap, the later op wins). ops holds 6 int32
 * per op: src_x, src_y, x, y, w, h; every rect lies inside the frame, w, h >= 1.
 * scratch holds the sum of w * h * 4 bytes over the ops (unused when n == 1:
 * one op moves in place). Linear in n and in the copied area: each source is
 * saved once and each destination written once, whatever the overlaps. */
void sc_apply_copies(uint8_t *buf, ptrdiff_t stride, const int32_t *ops, ptrdiff_t n,
                     uint8_t *scratch);

/* Changed tiles of the w x h rect at (x, y): tiles of `tile` px from the rect's
 * corner, in raster order, each trimmed to the bounding box of its pixels whose
 * B, G or R differ, written as (x, y, w, h) in frame coordinates to `out`
 * (room for 4 * ceil(w / tile) * ceil(h / tile) int32). Returns the count.
 * The same result as tilediff's sc_tile_diff on the rect alone, built on the
 * row primitives only, so it needs no scratch memory. */
ptrdiff_t sc_rect_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                       ptrdiff_t cur_stride, int32_t x, int32_t y, int32_t w, int32_t h,
                       int32_t tile, int32_t *out);

/* Change detection for a frame in which a scroll is expected: rows [y0, y1)
 * of the frame (y0 a multiple of `tile`; y1 one too, or the height), each
 * row read once (and `prev` at y - dy).
 *
 * In each row, the run [starts, ends) of columns of [x0, x1) equal to `prev`
 * dy rows up (rows y - dy inside the frame; B, G, R compared): the whole span
 * when it all matches, else the longest run of at least min_run pixels (the
 * leftmost of equals), else none (start == end == x0). A row with a run
 * moved: moved[y - y0] = 1, or 2 when the run equals `prev` at y as well (a
 * blank line onto a blank line), and only its columns outside the run are
 * compared with `prev` unshifted. Every other row (moved 0) is compared
 * whole. The changes found are reported as sc_tile_diff does (tiles of the
 * frame's grid, raster order, each trimmed to its changed pixels) into `out`
 * (4 ints a box, room for every tile of the rows); `bounds` is scratch of 4
 * ints per tile column. Returns the number of boxes. Once every moved row's
 * run is copied from dy above, the frame differs from `prev` only inside the
 * boxes. */
ptrdiff_t sc_scroll_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                         ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t y0,
                         int32_t y1, int32_t x0, int32_t x1, int32_t dy, int32_t min_run,
                         uint8_t *moved, int32_t *starts, int32_t *ends, int32_t tile,
                         int32_t *bounds, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* SC_MOTION_H */
