/* damage_merge: merge dirty boxes into few rectangles by a cost model
 * (pure C, no Python API). See sc_merge_rects. */
#ifndef SC_DAMAGE_MERGE_H
#define SC_DAMAGE_MERGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Half-open rectangle [x0, x1) x [y0, y1) plus a scratch flag. */
typedef struct sc_merge_rect {
    int32_t x0, y0, x1, y1;
    int32_t used;
} sc_merge_rect;

/* Merges n boxes (x, y, w, h rows, sorted by y then x, each non-empty) into
 * rectangles written to `out` as (x, y, w, h) rows; returns their number (<= n).
 * A rectangle costs rect_cost + its area; two are merged when their bounding box
 * costs no more than the two apart, so the total never grows.
 *   1. Bands: boxes whose row ranges chain-overlap form a band (with tile_diff
 *      output, a band never leaves its tile row).
 *   2. In a band, boxes sorted by x are merged greedily left to right.
 *   3. Each band's rects are merged with the x-overlapping open rect of the band
 *      above, unless the union would cut into a neighbour.
 * O(n log n) for the per-band sorts, O(n) otherwise.
 * `work` holds 3 * n entries. */
ptrdiff_t sc_merge_rects(const int32_t *boxes, ptrdiff_t n, int64_t rect_cost,
                         sc_merge_rect *work, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* SC_DAMAGE_MERGE_H */
