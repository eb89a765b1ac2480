/* The photo row measure of quality/classify.py (``_photo_rows``): whether one
 * row of a block, sampled at n columns spread over it, looks like a row of a
 * photo. Pure C, no Python API: the caller (src/screencodec/quality/
 * _photorows.pyx) checks every block, row and stride against the frame first.
 *
 * Sample i of a row of the block (x, w) is column x + w * (2i + 1) / (2n)
 * (integer division), its left neighbour the column before it (the sample
 * itself at the block's first column). Over the n samples, B, G, R only:
 *   flat     samples equal to their left neighbour,
 *   edges    samples stepping by `edge` or more in one of B, G, R from it,
 *   mode     the count of the most common colour,
 *   distinct the count of distinct colours.
 * The row is a photo's when flat < max_flat, edges <= max_edges,
 * mode < max_mode and distinct >= min_distinct (the limits as doubles, so
 * the comparisons are NumPy's: an integer count against a float64). */
#ifndef SCREENCODEC_PHOTOROWS_H
#define SCREENCODEC_PHOTOROWS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int n;             /* samples a row, >= 1 */
    int edge;          /* a step this large in B, G or R is an edge */
    double max_flat;   /* flat < max_flat */
    double max_edges;  /* edges <= max_edges */
    double max_mode;   /* mode < max_mode */
    double distinct;   /* distinct >= distinct * min(w, n) */
} sc_photo_limits;

/* Scratch a caller gives sc_photo_rows and sc_photo_runs: keys and counts of
 * this many entries for n samples (a power of two at least 2n), and cols of
 * 3n entries. */
size_t sc_photo_table_size(int n);

/* For each of m rows: the row ys[k] of block (xs[k], ws[k]) (pixel stride 4
 * bytes, rows `stride` bytes apart from `fb`, the frame's first pixel):
 * out[k] = 1 when it is a photo's row, else 0. keys/counts: scratch of
 * sc_photo_table_size(n) entries each, cols: 3n. */
void sc_photo_rows(const uint8_t *fb, ptrdiff_t stride, const int64_t *xs, const int64_t *ws,
                   const int64_t *ys, ptrdiff_t m, const sc_photo_limits *lim, uint32_t *keys,
                   uint16_t *counts, int64_t *cols, uint8_t *out);

/* For each of m blocks (x, y, w, h) (blocks: m * 4 int64, h >= 2): lead[k],
 * the photo rows (by lim) at its top before its first other row (h when all
 * are), and trail[k], those at its bottom after its last other row (0 when
 * all are). Only the rows up to the first other row from each end are
 * measured. With a probe, only the blocks whose second or second-to-last row
 * is a photo's by it are (the others: 0, 0). cols: 3 * the larger n. */
void sc_photo_runs(const uint8_t *fb, ptrdiff_t stride, const int64_t *blocks, ptrdiff_t m,
                   const sc_photo_limits *probe, const sc_photo_limits *lim, uint32_t *keys,
                   uint16_t *counts, int64_t *cols, int64_t *lead, int64_t *trail);

#endif
