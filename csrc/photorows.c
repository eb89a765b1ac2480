/* See photorows.h. The cheap counts (flat, edges: one pass over the pairs)
 * decide most rows of text alone; only rows that pass them have their
 * colours counted, in an open-addressing table (at most n keys in at least
 * 2n slots) rather than by the sort of the NumPy reference. */
#include "photorows.h"

#include <math.h>
#include <string.h>

size_t sc_photo_table_size(int n) {
    size_t size = 16;
    while (size < 2 * (size_t)n) size *= 2;
    return size;
}

/* B, G, R of the pixel at p in the low 3 bytes of a word (B lowest on a
 * little-endian host, R on a big-endian one: either gives the same
 * equalities and steps). One load of the whole pixel, its X byte dropped. */
static inline uint32_t rgb(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return v >> 8;
#else
    return v & 0x00FFFFFFu;
#endif
}

static inline int absdiff(int a, int b) { return a > b ? a - b : b - a; }

/* The byte offsets in a row of the block (x, w)'s samples (cols[0..n)) and
 * of their left neighbours (cols[n..2n)): the same for each of its rows, and
 * the divisions cost more than the rest of a row's measure. cols[2n..3n)
 * holds a row's gathered pixels (photo_row). */
static void sample_cols(int64_t x, int64_t w, int n, int64_t *cols) {
    for (int i = 0; i < n; i++) {
        int64_t sx = x + (w * (2 * (int64_t)i + 1)) / (2 * (int64_t)n);
        cols[i] = 4 * sx;
        cols[n + i] = 4 * (sx - 1 < x ? x : sx - 1);
    }
}

/* An integer count c against a limit t as NumPy compares them (c as a
 * double): c < t exactly when c < ceil(t), clamped to [lo, hi]. */
static inline int count_limit(double t, int lo, int hi) {
    double c = ceil(t);
    return c < lo ? lo : c > hi ? hi : (int)c;
}

static int photo_row(const uint8_t *row, int64_t w, const int64_t *cols,
                     const sc_photo_limits *lim, uint32_t *keys, uint16_t *counts) {
    const int n = lim->n, edge = lim->edge;
    /* flat < max_flat, edges <= max_edges (edges < max_edges' floor + 1),
     * mode < max_mode, distinct >= distinct * width: as counts. */
    const int most_flat = count_limit(lim->max_flat, 0, n + 1);
    const int most_edges = count_limit(floor(lim->max_edges) + 1, 0, n + 1);
    const int most = count_limit(lim->max_mode, 1, n + 1);
    const int need = count_limit(lim->distinct * (double)(w < n ? w : n), 0, n + 1);
    /* The samples and their left neighbours gathered first (after cols'
     * offsets), so that the counts are one loop the compiler vectorises. */
    uint32_t *px = (uint32_t *)(cols + 2 * n), *left = px + n;
    for (int i = 0; i < n; i++) {
        px[i] = rgb(row + cols[i]);
        left[i] = rgb(row + cols[n + i]);
    }
    int flat = 0, edges = 0;
    for (int i = 0; i < n; i++) {
        const uint32_t a = px[i], b = left[i];
        int db = absdiff((int)(a & 255), (int)(b & 255));
        int dg = absdiff((int)(a >> 8 & 255), (int)(b >> 8 & 255));
        int dr = absdiff((int)(a >> 16), (int)(b >> 16));
        flat += a == b;
        edges += (db >= edge) | (dg >= edge) | (dr >= edge);
    }
    if (flat >= most_flat || edges >= most_edges || need > n) return 0;
    const size_t size = sc_photo_table_size(n), mask = size - 1;
    int bits = 0;
    while (((size_t)1 << bits) < size) bits++;
    memset(counts, 0, size * sizeof *counts);
    int distinct = 0, top = 0;
    for (int i = 0; i < n; i++) {
        /* Done once no colour can reach `most` in the samples left and
         * there are colours enough: a photo's row ends 15-25% early. */
        if (top + (n - i) < most && distinct >= need) return 1;
        const uint32_t v = px[i];
        /* Fibonacci hashing: the product's top bits depend on all of B, G, R. */
        size_t h = (size_t)((v * 2654435761u) >> (32 - bits));
        while (counts[h] && keys[h] != v) h = (h + 1) & mask;
        /* No branch on whether the colour is new: that one is taken at random. */
        distinct += counts[h] == 0;
        keys[h] = v;
        const int c = ++counts[h];
        if (c >= most) return 0;
        top = c > top ? c : top;
    }
    return distinct >= need;
}

void sc_photo_rows(const uint8_t *fb, ptrdiff_t stride, const int64_t *xs, const int64_t *ws,
                   const int64_t *ys, ptrdiff_t m, const sc_photo_limits *lim, uint32_t *keys,
                   uint16_t *counts, int64_t *cols, uint8_t *out) {
    for (ptrdiff_t k = 0; k < m; k++) {
        /* The rows of a block come together: its columns are worked out once. */
        if (k == 0 || xs[k] != xs[k - 1] || ws[k] != ws[k - 1])
            sample_cols(xs[k], ws[k], lim->n, cols);
        out[k] = (uint8_t)photo_row(fb + ys[k] * stride, ws[k], cols, lim, keys, counts);
    }
}

void sc_photo_runs(const uint8_t *fb, ptrdiff_t stride, const int64_t *blocks, ptrdiff_t m,
                   const sc_photo_limits *probe, const sc_photo_limits *lim, uint32_t *keys,
                   uint16_t *counts, int64_t *cols, int64_t *lead, int64_t *trail) {
    for (ptrdiff_t k = 0; k < m; k++) {
        const int64_t x = blocks[4 * k], y = blocks[4 * k + 1];
        const int64_t w = blocks[4 * k + 2], h = blocks[4 * k + 3];
        const uint8_t *first = fb + y * stride;
        int64_t top = 0, bottom = 0;
        lead[k] = trail[k] = 0;
        if (probe) {
            sample_cols(x, w, probe->n, cols);
            if (!photo_row(first + stride, w, cols, probe, keys, counts)
                && !photo_row(first + (h - 2) * stride, w, cols, probe, keys, counts))
                continue;
        }
        sample_cols(x, w, lim->n, cols);
        while (top < h && photo_row(first + top * stride, w, cols, lim, keys, counts)) top++;
        if (top < h)  /* row `top` is not a photo's: the scan up stops there at the latest */
            while (photo_row(first + (h - 1 - bottom) * stride, w, cols, lim, keys, counts))
                bottom++;
        lead[k] = top;
        trail[k] = bottom;
    }
}
