/* damage_merge: see damage_merge.h. The Python twin of this algorithm is
 * screencodec.damage.reference.merge_rects_reference; keep them in step. */
#include "damage_merge.h"

#include <stdlib.h>

static inline int64_t cost(const sc_merge_rect *r, int64_t rect_cost) {
    return rect_cost + (int64_t)(r->x1 - r->x0) * (int64_t)(r->y1 - r->y0);
}

static inline sc_merge_rect bound(const sc_merge_rect *a, const sc_merge_rect *b) {
    sc_merge_rect u;
    u.x0 = a->x0 < b->x0 ? a->x0 : b->x0;
    u.y0 = a->y0 < b->y0 ? a->y0 : b->y0;
    u.x1 = a->x1 > b->x1 ? a->x1 : b->x1;
    u.y1 = a->y1 > b->y1 ? a->y1 : b->y1;
    u.used = 0;
    return u;
}

static inline int cheaper_merged(const sc_merge_rect *a, const sc_merge_rect *b,
                                 const sc_merge_rect *u, int64_t rect_cost) {
    return cost(u, rect_cost) <= cost(a, rect_cost) + cost(b, rect_cost);
}

/* Full key so that the order (and thus the result) is deterministic. */
static int by_x(const void *pa, const void *pb) {
    const sc_merge_rect *a = pa, *b = pb;
    if (a->x0 != b->x0)
        return a->x0 < b->x0 ? -1 : 1;
    if (a->y0 != b->y0)
        return a->y0 < b->y0 ? -1 : 1;
    if (a->x1 != b->x1)
        return a->x1 < b->x1 ? -1 : 1;
    if (a->y1 != b->y1)
        return a->y1 < b->y1 ? -1 : 1;
    return 0;
}

/* tile_diff's boxes come in raster order, so a band is usually sorted already. */
static int sorted_by_x(const sc_merge_rect *r, ptrdiff_t m) {
    for (ptrdiff_t j = 1; j < m; j++)
        if (by_x(&r[j - 1], &r[j]) > 0)
            return 0;
    return 1;
}

static void emit(int32_t *out, ptrdiff_t *n, const sc_merge_rect *r) {
    int32_t *o = out + 4 * *n;
    o[0] = r->x0;
    o[1] = r->y0;
    o[2] = r->x1 - r->x0;
    o[3] = r->y1 - r->y0;
    (*n)++;
}

ptrdiff_t sc_merge_rects(const int32_t *boxes, ptrdiff_t n, int64_t rect_cost,
                         sc_merge_rect *work, int32_t *out) {
    sc_merge_rect *cur = work, *prev = work + n, *next = work + 2 * n;
    ptrdiff_t n_prev = 0, n_out = 0;
    int32_t prev_band_y0 = 0;

    ptrdiff_t i = 0;
    while (i < n) {
        /* 1. The band: boxes (sorted by y) whose row ranges chain-overlap. */
        const int32_t band_y0 = boxes[4 * i + 1];
        int32_t band_y1 = band_y0 + boxes[4 * i + 3];
        ptrdiff_t m = 0;
        for (; i < n && boxes[4 * i + 1] < band_y1; i++, m++) {
            const int32_t *b = boxes + 4 * i;
            cur[m] = (sc_merge_rect){b[0], b[1], b[0] + b[2], b[1] + b[3], 0};
            if (cur[m].y1 > band_y1)
                band_y1 = cur[m].y1;
        }

        /* 2. Horizontal: greedy left to right. */
        if (!sorted_by_x(cur, m))
            qsort(cur, (size_t)m, sizeof *cur, by_x);
        ptrdiff_t k = 0;
        for (ptrdiff_t j = 1; j < m; j++) {
            const sc_merge_rect u = bound(&cur[k], &cur[j]);
            if (cheaper_merged(&cur[k], &cur[j], &u, rect_cost))
                cur[k] = u;
            else
                cur[++k] = cur[j];
        }
        m = k + 1;

        /* 3. Vertical: each rect may absorb one x-overlapping open rect of the
         * band above. The neighbour checks keep outputs disjoint when the inputs
         * are (tile_diff's are); a rect that spans older bands may only grow
         * downwards within its own columns, as older closed rects may lie
         * beside it. */
        ptrdiff_t n_next = 0, p = 0;
        for (ptrdiff_t j = 0; j < m; j++) {
            const sc_merge_rect *c = &cur[j];
            while (p < n_prev && prev[p].x1 <= c->x0)
                p++;
            int merged = 0;
            if (p < n_prev && prev[p].x0 < c->x1 && !prev[p].used) {
                const sc_merge_rect *q = &prev[p];
                const sc_merge_rect u = bound(q, c);
                const int same_columns = u.x0 == q->x0 && u.x1 == q->x1;
                if (cheaper_merged(q, c, &u, rect_cost)
                    && (same_columns || q->y0 >= prev_band_y0)
                    && (n_next == 0 || next[n_next - 1].x1 <= u.x0)
                    && (j + 1 >= m || cur[j + 1].x0 >= u.x1)
                    && (p == 0 || prev[p - 1].x1 <= u.x0)
                    && (p + 1 >= n_prev || prev[p + 1].x0 >= u.x1)) {
                    prev[p].used = 1;
                    next[n_next++] = u;
                    merged = 1;
                }
            }
            if (!merged)
                next[n_next++] = *c;
        }

        /* Open rects of the band above that nothing joined are final. */
        for (ptrdiff_t j = 0; j < n_prev; j++)
            if (!prev[j].used)
                emit(out, &n_out, &prev[j]);
        sc_merge_rect *t = prev;
        prev = next;
        next = t;
        n_prev = n_next;
        prev_band_y0 = band_y0;
    }
    for (ptrdiff_t j = 0; j < n_prev; j++)
        emit(out, &n_out, &prev[j]);
    return n_out;
}
