/* motion: see motion.h. Row hashes find candidate shifts cheaply; every copy
 * that is finally emitted is decided by sc_match_runs, an exact comparison, so
 * a hash collision can cost a missed copy but never a wrong pixel. */
#include "motion.h"

#include <string.h>

#include "tilediff.h"

#define P1 UINT64_C(0x9E3779B185EBCA87)
#define P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define P3 UINT64_C(0x165667B19E3779F9)
#define P5 UINT64_C(0x27D4EB2F165667C5)
/* B, G, R of two pixels in a little-endian 64-bit word. */
#define BGR64 UINT64_C(0x00FFFFFF00FFFFFF)
#define BGR32 UINT32_C(0x00FFFFFF)

void sc_motion_init(void) { sc_tilediff_init(); }

/* The hash is defined on little-endian words (reference.py), whatever the host. */
static inline uint64_t load_le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t load_le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t rotl64(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }

/* One multiply per word: the lanes' chains are a xor, a rotate and a multiply
 * long, and eight lanes keep the multiplier busy (a strip hashes ~3x faster
 * than with xxh64's two multiplies a word over four lanes, which waited on
 * their chains). Candidates only: a collision costs a missed shift at worst. */
static inline uint64_t mix64(uint64_t acc, uint64_t word) { return rotl64(acc ^ word, 29) * P1; }

#define LANES 8

static uint64_t hash_row(const uint8_t *p, int32_t w) {
    uint64_t v[LANES] = {P1 + P2, P2, 0, (uint64_t)0 - P1, P3, P5, P1 ^ P5, P2 ^ P3};
    int32_t pairs = w / 2, i = 0;
    for (; i + LANES <= pairs; i += LANES, p += 8 * LANES)
        for (int l = 0; l < LANES; l++)
            v[l] = mix64(v[l], load_le64(p + 8 * l) & BGR64);
    int lane = 0;
    for (; i < pairs; i++, p += 8, lane++)
        v[lane] = mix64(v[lane], load_le64(p) & BGR64);
    if (w & 1)
        v[lane] = mix64(v[lane], (uint64_t)(load_le32(p) & BGR32));
    uint64_t h = 0;
    for (int l = 0; l < LANES; l++)
        h += rotl64(v[l], 1 + 7 * l);
    h ^= (uint64_t)w * P5;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* Rows ahead to prefetch: a narrow strip of a large frame touches a few cache
 * lines per row, one frame row (several KB) apart, a stride the hardware
 * prefetcher does not follow; without this every row waits for memory. */
#define PREFETCH_ROWS 8

void sc_strip_hashes(const uint8_t *data, ptrdiff_t stride, const int32_t *xs, const int32_t *ws,
                     int32_t n, int32_t y, int32_t h, uint64_t *out) {
    /* Row by row, every strip of a row in turn: the frame is walked once, in
     * address order, instead of once per strip (each pass a page per row). */
    const uint8_t *base = data + (ptrdiff_t)y * stride;
    for (int32_t i = 0; i < h; i++) {
        const uint8_t *row = base + (ptrdiff_t)i * stride;
#if defined(__GNUC__) || defined(__clang__)
        if (i + PREFETCH_ROWS < h) {
            const uint8_t *ahead = row + (ptrdiff_t)PREFETCH_ROWS * stride;
            for (int32_t k = 0; k < n; k++)
                for (ptrdiff_t b = 0; b < (ptrdiff_t)ws[k] * 4 && b < 1024; b += 64)
                    __builtin_prefetch(ahead + (ptrdiff_t)xs[k] * 4 + b);
        }
#endif
        for (int32_t k = 0; k < n; k++)
            out[(ptrdiff_t)k * h + i] = hash_row(row + (ptrdiff_t)xs[k] * 4, ws[k]);
    }
}

void sc_row_hashes(const uint8_t *data, ptrdiff_t stride, int32_t x, int32_t w, int32_t y,
                   int32_t h, uint64_t *out) {
    sc_strip_hashes(data, stride, &x, &w, 1, y, h, out);
}

/* B, G, R of one pixel loaded as a native 32-bit integer. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NATIVE_BGR32 UINT32_C(0xFFFFFF00)
#else
#define NATIVE_BGR32 UINT32_C(0x00FFFFFF)
#endif

static inline int px_equal(const uint8_t *a, const uint8_t *b) {
    uint32_t va, vb;
    memcpy(&va, a, 4);
    memcpy(&vb, b, 4);
    return ((va ^ vb) & NATIVE_BGR32) == 0;
}

static inline int32_t imax(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t imin(int32_t a, int32_t b) { return a < b ? a : b; }

/* Rows ahead that sc_match_runs prefetches, whole. A verified scroll compares
 * two frames' worth of rows that nothing else has read lately; the hardware
 * prefetcher stops at each 4 KB page and a 1080p row spans two, so without
 * this the compare waits on memory at every page (measured: 0.63 -> 0.47 ms a
 * terminal-log frame, the same run). */
#define MATCH_AHEAD 2

/* The maximal runs of equal pixels of rows a and b (n pixels) at least
 * min_run long, keeping the `most` longest (of equals, the leftmost): their
 * starts and lengths in s[] and len[], left to right. Returns how many
 * (most == 1: the longest run, if any). */
static int32_t row_runs(const uint8_t *a, const uint8_t *b, ptrdiff_t n, ptrdiff_t min_run,
                        int32_t most, ptrdiff_t *s, ptrdiff_t *len) {
    int32_t count = 0, shortest = 0; /* index of the shortest kept (of equals, the rightmost) */
    ptrdiff_t p = 0;
    for (;;) {
        /* Only runs of at least L pixels matter: min_run, or longer than the
         * shortest kept once `most` are. Any such run starting in [p, q]
         * covers q = p + L - 1 (pixel p - 1 differs, or p is 0), so one
         * probe at q clears L columns of mismatching pixels: wrong shifts
         * cost n / L compares a row. */
        ptrdiff_t L = count == most && len[shortest] + 1 > min_run ? len[shortest] + 1 : min_run;
        ptrdiff_t q = p + L - 1;
        if (q >= n)
            break;
        if (!px_equal(a + 4 * q, b + 4 * q)) {
            p = q + 1;
            continue;
        }
        ptrdiff_t r = q;
        while (r > p && px_equal(a + 4 * (r - 1), b + 4 * (r - 1)))
            r--;
        ptrdiff_t e = sc_row_first_diff(a, b, q, n); /* SIMD over equal pixels */
        if (e - r >= L) { /* at least min_run, and longer than the shortest kept when full */
            if (count == most) {
                /* Drop the shortest; the runs stay left to right (this one
                 * is the rightmost so far). */
                for (int32_t i = shortest; i + 1 < count; i++) {
                    s[i] = s[i + 1];
                    len[i] = len[i + 1];
                }
                count--;
            }
            s[count] = r;
            len[count++] = e - r;
            shortest = 0;
            for (int32_t i = 1; i < count; i++)
                if (len[i] <= len[shortest])
                    shortest = i;
        }
        p = e + 1; /* pixel e differs (or e == n) */
    }
    return count;
}

void sc_match_runs(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                   ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0, int32_t x1,
                   int32_t y0, int32_t y1, int32_t dx, int32_t dy, int32_t min_run,
                   const uint8_t *row_mask, int32_t most, int32_t *starts, int32_t *ends) {
    /* Columns whose source x - dx lies inside the frame. */
    int32_t lo = imax(x0, dx), hi = imin(x1, width + dx);
    ptrdiff_t rs[SC_MAX_ROW_RUNS], rl[SC_MAX_ROW_RUNS];
    for (int32_t y = y0; y < y1; y++) {
        int32_t *s = starts + (ptrdiff_t)(y - y0) * most, *e = ends + (ptrdiff_t)(y - y0) * most;
        for (int32_t k = 0; k < most; k++)
            s[k] = e[k] = x0;
        int32_t sy = y - dy;
        if (hi <= lo || sy < 0 || sy >= height || (row_mask && !row_mask[y - y0]))
            continue;
        /* a[i] is the source of b[i]; both start at column lo. */
        const uint8_t *a = prev + (ptrdiff_t)sy * prev_stride + (ptrdiff_t)(lo - dx) * 4;
        const uint8_t *b = cur + (ptrdiff_t)y * cur_stride + (ptrdiff_t)lo * 4;
        ptrdiff_t n = hi - lo;
#if defined(__GNUC__) || defined(__clang__)
        if (y + MATCH_AHEAD < y1 && sy + MATCH_AHEAD < height) {
            const uint8_t *pa = a + MATCH_AHEAD * prev_stride, *pb = b + MATCH_AHEAD * cur_stride;
            for (ptrdiff_t off = 0; off < n * 4; off += 64) {
                __builtin_prefetch(pa + off);
                __builtin_prefetch(pb + off);
            }
        }
#endif
        int32_t count = row_runs(a, b, n, min_run, most, rs, rl);
        for (int32_t k = 0; k < count; k++) {
            s[k] = (int32_t)(lo + rs[k]);
            e[k] = (int32_t)(lo + rs[k] + rl[k]);
        }
    }
}

void sc_screen_shifts(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                      ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t x0, int32_t x1,
                      int32_t y0, int32_t y1, int32_t row_step, const int32_t *shifts, int32_t n,
                      int32_t min_run, int64_t *matched) {
    ptrdiff_t rs[SC_MAX_ROW_RUNS], rl[SC_MAX_ROW_RUNS];
    for (int32_t g = 0; g < n; g++)
        matched[g] = 0;
    for (int32_t y = y0 + row_step / 2; y < y1; y += row_step) {
        const uint8_t *b = cur + (ptrdiff_t)y * cur_stride;
        for (int32_t g = 0; g < n; g++) {
            const int32_t dx = shifts[2 * g], dy = shifts[2 * g + 1], sy = y - dy;
            const int32_t lo = imax(x0, dx), hi = imin(x1, width + dx);
            if (hi <= lo || sy < 0 || sy >= height)
                continue;
            const uint8_t *a = prev + (ptrdiff_t)sy * prev_stride + (ptrdiff_t)(lo - dx) * 4;
            int32_t count = row_runs(a, b + (ptrdiff_t)lo * 4, hi - lo, min_run, SC_MAX_ROW_RUNS,
                                     rs, rl);
            for (int32_t k = 0; k < count; k++)
                matched[g] += rl[k];
        }
    }
}

/* -- sc_segment_shifts ------------------------------------------------------- */

/* Polynomial hash of k pixels, sum of v(p_i) * SB^(k-1-i) (mod 2^64), so that
 * it rolls one pixel at a time; v() is a bijection of the B, G, R bits. */
#define SB UINT64_C(0x100000001B3)
#define SV UINT64_C(0x9E3779B97F4A7C15)
#define SEG_EMPTY UINT64_MAX

static inline uint64_t seg_value(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return ((uint64_t)(v & NATIVE_BGR32) + 1) * SV;
}

/* The hash of k pixels at p (k a multiple of 4), in four independent Horner
 * chains over every 4th pixel (a serial chain would wait on a multiply per
 * pixel): lane j sums v(p_4m+j) * (SB^4)^(k/4-1-m), and pixel i = 4m + j
 * weighs SB^(k-1-i) = (SB^4)^(k/4-1-m) * SB^(3-j). */
static uint64_t seg_hash(const uint8_t *p, int32_t k, uint64_t b4) {
    uint64_t l0 = 0, l1 = 0, l2 = 0, l3 = 0;
    for (int32_t i = 0; i < k; i += 4) {
        l0 = l0 * b4 + seg_value(p + 4 * i);
        l1 = l1 * b4 + seg_value(p + 4 * i + 4);
        l2 = l2 * b4 + seg_value(p + 4 * i + 8);
        l3 = l3 * b4 + seg_value(p + 4 * i + 12);
    }
    return ((l0 * SB + l1) * SB + l2) * SB + l3;
}

static inline uint32_t seg_slot(uint64_t key, int32_t cap) {
    return (uint32_t)((key * P1) >> 32) & (uint32_t)(cap - 1);
}

/* An anchor, anchor[SC_ANCHOR_INTS a ..]: x, y, its slot in the hash index,
 * count of places found in prev (-1: ambiguous), then up to 3 places (x, y). */
enum { A_X, A_Y, A_SLOT, A_COUNT, A_PLACES };

/* Hashes looked up per batch: each batch's slots are prefetched before the
 * first is probed. The index is sized for the worst case and is cold after
 * the rest of an encode has streamed two frames through the caches, so a
 * probe one at a time waits on memory every time (measured on a dragged
 * window: 0.22 ms a call with the caches warm, 0.66 ms cold). */
#define SEG_BATCH 32
#if defined(__GNUC__) || defined(__clang__)
#define SEG_PREFETCH(p) __builtin_prefetch(p)
#else
#define SEG_PREFETCH(p) ((void)(p))
#endif

/* Whether slot s holds an anchor of this call: its anchor number is one
 * inserted so far and that anchor points back at s. The index is emptied
 * after each call (SEG_EMPTY), but this test does not rely on it: whatever a
 * caller wrote into the scratch counts as free, so anchor numbers stay below
 * `total` and every probe ends at a free slot. */
static inline int seg_taken(const uint64_t *index, const int32_t *anchor, uint32_t s,
                            int32_t total) {
    uint64_t a = index[2 * s + 1];
    return a < (uint64_t)total && anchor[SC_ANCHOR_INTS * a + A_SLOT] == (int32_t)s;
}

/* Slot of `key` in the index (2 uint64 a slot: key, anchor): its own, or the
 * free one where it would go. An index at most half taken always has one. */
static inline uint32_t seg_find(const uint64_t *index, const int32_t *anchor, uint64_t key,
                                int32_t cap, int32_t total) {
    uint32_t s = seg_slot(key, cap);
    while (seg_taken(index, anchor, s, total) && index[2 * s] != key)
        s = (s + 1) & (uint32_t)(cap - 1);
    return s;
}

int32_t sc_segment_shifts(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                          ptrdiff_t cur_stride, int32_t x0, int32_t x1, int32_t y1,
                          const int32_t *starts, int32_t nstarts, int32_t run, int32_t max_runs,
                          int32_t min_anchors, int32_t sx0, int32_t sy0, int32_t sx1,
                          int32_t sy1, int32_t k, int32_t min_detail, int32_t row_step,
                          uint64_t *index, int32_t *anchor, int32_t cap, int64_t *skeys,
                          int32_t *svotes, int32_t scap, int32_t max_out, int32_t *out) {
    /* The index maps a segment's hash to its anchor; the anchors lie dense
     * in insertion order, so the votes read only them, and the index is
     * emptied through them at the end: a call costs what it finds, not the
     * index's size. */
    uint64_t top = 1, b4 = 1;
    for (int32_t i = 0; i < k - 1; i++)
        top *= SB;
    for (int32_t i = 0; i < 4; i++)
        b4 *= SB;
    uint64_t batch_h[SEG_BATCH];
    int32_t batch_x[SEG_BATCH];
    int32_t productive = 0, inserted = 0, total = 0;
    for (int32_t r = 0; r < nstarts * run && productive < max_runs; r++) {
        int32_t y = starts[r / run] + r % run;
        if (r % run == 0)
            inserted = 0;
        if (y >= y1) { /* a run cut by the rect's bottom still ends */
            if (r % run == run - 1 && inserted >= min_anchors)
                productive++;
            continue;
        }
        const uint8_t *c = cur + (ptrdiff_t)y * cur_stride;
        const uint8_t *p = prev + (ptrdiff_t)y * prev_stride;
        uint64_t hc = seg_hash(c + 4 * (ptrdiff_t)x0, k, b4);
        uint64_t hp = seg_hash(p + 4 * (ptrdiff_t)x0, k, b4);
        int32_t detail = 0;
        for (int32_t i = x0; i < x0 + k - 1; i++)
            detail += !px_equal(c + 4 * i, c + 4 * i + 4);
        int32_t x = x0, done = 0;
        while (!done) {
            /* The next batch of candidates along the row... */
            int32_t n = 0;
            while (n < SEG_BATCH) {
                if (detail >= min_detail && hc != hp) {
                    batch_h[n] = hc;
                    batch_x[n++] = x;
                    SEG_PREFETCH(index + 2 * seg_slot(hc, cap));
                }
                if (x + k >= x1) {
                    done = 1;
                    break;
                }
                /* Roll one pixel right. */
                hc = (hc - seg_value(c + 4 * x) * top) * SB + seg_value(c + 4 * (x + k));
                hp = (hp - seg_value(p + 4 * x) * top) * SB + seg_value(p + 4 * (x + k));
                detail += !px_equal(c + 4 * (x + k - 1), c + 4 * (x + k)) -
                          !px_equal(c + 4 * x, c + 4 * x + 4);
                x++;
            }
            /* ...inserted in order. */
            for (int32_t i = 0; i < n; i++) {
                uint32_t s = seg_find(index, anchor, batch_h[i], cap, total);
                if (seg_taken(index, anchor, s, total)) {
                    /* the same content twice among the anchors */
                    anchor[SC_ANCHOR_INTS * index[2 * s + 1] + A_COUNT] = -1;
                } else if (2 * (total + 1) <= cap) { /* else full enough: probes stay short */
                    int32_t *a = anchor + SC_ANCHOR_INTS * total;
                    a[A_X] = batch_x[i];
                    a[A_Y] = y;
                    a[A_SLOT] = (int32_t)s;
                    a[A_COUNT] = 0;
                    index[2 * s] = batch_h[i];
                    index[2 * s + 1] = (uint64_t)total++;
                    inserted++;
                }
            }
        }
        if (r % run == run - 1 && inserted >= min_anchors)
            productive++;
    }
    /* prev's segments on a k-column grid, every row_step-th row of the scan
     * rect, in batches along each row. */
    for (int32_t y = sy0; total && y < sy1; y += row_step) {
        const uint8_t *p = prev + (ptrdiff_t)y * prev_stride;
        for (int32_t x = sx0; x + k <= sx1;) {
            int32_t n = 0;
            for (; n < SEG_BATCH && x + k <= sx1; n++, x += k) {
                batch_h[n] = seg_hash(p + 4 * (ptrdiff_t)x, k, b4);
                batch_x[n] = x;
                SEG_PREFETCH(index + 2 * seg_slot(batch_h[n], cap));
            }
            for (int32_t i = 0; i < n; i++) {
                uint32_t s = seg_find(index, anchor, batch_h[i], cap, total);
                if (!seg_taken(index, anchor, s, total))
                    continue;
                int32_t *a = anchor + SC_ANCHOR_INTS * index[2 * s + 1];
                if (a[A_COUNT] < 0)
                    continue;
                if (a[A_COUNT] < 3) {
                    a[A_PLACES + 2 * a[A_COUNT]] = batch_x[i];
                    a[A_PLACES + 2 * a[A_COUNT] + 1] = y;
                }
                a[A_COUNT]++;
            }
        }
    }
    /* Votes per shift; the index is left empty again. */
    int32_t used = 0;
    for (int32_t i = 0; i < scap; i++)
        svotes[i] = 0;
    for (int32_t i = 0; i < total; i++) {
        const int32_t *a = anchor + SC_ANCHOR_INTS * i;
        index[2 * a[A_SLOT]] = index[2 * a[A_SLOT] + 1] = SEG_EMPTY;
        if (a[A_COUNT] < 1 || a[A_COUNT] > 3)
            continue;
        for (int32_t j = 0; j < a[A_COUNT]; j++) {
            int32_t dx = a[A_X] - a[A_PLACES + 2 * j], dy = a[A_Y] - a[A_PLACES + 2 * j + 1];
            if (dx == 0 && dy == 0)
                continue;
            int64_t key = (int64_t)(((uint64_t)(uint32_t)dx << 32) | (uint32_t)dy);
            uint32_t s = seg_slot((uint64_t)key, scap);
            while (svotes[s] != 0 && skeys[s] != key)
                s = (s + 1) & (uint32_t)(scap - 1);
            if (svotes[s] == 0) {
                if (4 * (used + 1) > 3 * scap)
                    continue;
                used++;
                skeys[s] = key;
            }
            svotes[s] += 6 / a[A_COUNT];
        }
    }
    /* The best max_out shifts: max_out passes over the table (max_out is small). */
    int32_t n = 0;
    for (; n < max_out; n++) {
        int32_t best = -1;
        for (int32_t i = 0; i < scap; i++)
            if (svotes[i] > 0 && (best < 0 || svotes[i] > svotes[best] ||
                                  (svotes[i] == svotes[best] && skeys[i] < skeys[best])))
                best = i;
        if (best < 0)
            break;
        out[3 * n] = (int32_t)(uint32_t)((uint64_t)skeys[best] >> 32);
        out[3 * n + 1] = (int32_t)(uint32_t)skeys[best];
        out[3 * n + 2] = svotes[best];
        svotes[best] = -svotes[best]; /* taken; negative stays "occupied" */
    }
    return n;
}

void sc_move_rect(uint8_t *buf, ptrdiff_t stride, int32_t sx, int32_t sy, int32_t w, int32_t h,
                  int32_t dx, int32_t dy) {
    size_t bytes = (size_t)w * 4;
    /* Moving down: start at the bottom, so no source row is overwritten before
     * it is read; memmove handles the overlap within a row. */
    if (dy > 0) {
        for (int32_t i = h - 1; i >= 0; i--)
            memmove(buf + (ptrdiff_t)(sy + dy + i) * stride + (ptrdiff_t)(sx + dx) * 4,
                    buf + (ptrdiff_t)(sy + i) * stride + (ptrdiff_t)sx * 4, bytes);
    } else {
        for (int32_t i = 0; i < h; i++)
            memmove(buf + (ptrdiff_t)(sy + dy + i) * stride + (ptrdiff_t)(sx + dx) * 4,
                    buf + (ptrdiff_t)(sy + i) * stride + (ptrdiff_t)sx * 4, bytes);
    }
}

void sc_apply_copies(uint8_t *buf, ptrdiff_t stride, const int32_t *ops, ptrdiff_t n,
                     uint8_t *scratch) {
    if (n == 1) {
        sc_move_rect(buf, stride, ops[0], ops[1], ops[4], ops[5], ops[2] - ops[0],
                     ops[3] - ops[1]);
        return;
    }
    /* Gather every source, then scatter: no order of in-place moves is
     * needed, and none can go wrong when copies chain or swap. */
    uint8_t *s = scratch;
    for (ptrdiff_t k = 0; k < n; k++) {
        const int32_t *o = ops + 6 * k;
        size_t bytes = (size_t)o[4] * 4;
        for (int32_t i = 0; i < o[5]; i++, s += bytes)
            memcpy(s, buf + (ptrdiff_t)(o[1] + i) * stride + (ptrdiff_t)o[0] * 4, bytes);
    }
    s = scratch;
    for (ptrdiff_t k = 0; k < n; k++) {
        const int32_t *o = ops + 6 * k;
        size_t bytes = (size_t)o[4] * 4;
        for (int32_t i = 0; i < o[5]; i++, s += bytes)
            memcpy(buf + (ptrdiff_t)(o[3] + i) * stride + (ptrdiff_t)o[2] * 4, s, bytes);
    }
}

/* Widen `bx` (x0, x1, y0, y1; x1 < x0 while it holds no change) by the
 * pixels of columns [lo, hi) that differ between rows a and b (row y, below
 * every row the box holds). */
static inline void widen_box(const uint8_t *a, const uint8_t *b, int32_t lo, int32_t hi, int32_t y,
                             int32_t *bx) {
    const ptrdiff_t f = sc_row_first_diff(a, b, lo, hi);
    if (f == hi)
        return;
    /* Only the part right of the box found so far can widen it. */
    const ptrdiff_t l = sc_row_last_diff(a, b, f > bx[1] ? f : bx[1], hi);
    if (bx[1] < bx[0]) { /* the box's first change */
        bx[0] = (int32_t)f;
        bx[1] = (int32_t)l;
        bx[2] = y;
    } else {
        if (f < bx[0])
            bx[0] = (int32_t)f;
        if (l > bx[1])
            bx[1] = (int32_t)l;
    }
    bx[3] = y;
}

ptrdiff_t sc_rect_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                       ptrdiff_t cur_stride, int32_t x, int32_t y, int32_t w, int32_t h,
                       int32_t tile, int32_t *out) {
    ptrdiff_t n = 0;
    for (int32_t ty = 0; ty < h; ty += tile) {
        int32_t th = imin(tile, h - ty);
        for (int32_t tx = 0; tx < w; tx += tile) {
            const int32_t lo = x + tx, hi = x + imin(tx + tile, w);
            int32_t bx[4] = {0, -1, 0, 0};
            for (int32_t r = y + ty; r < y + ty + th; r++)
                widen_box(prev + (ptrdiff_t)r * prev_stride, cur + (ptrdiff_t)r * cur_stride, lo,
                          hi, r, bx);
            if (bx[1] < bx[0])
                continue;
            out[4 * n + 0] = bx[0];
            out[4 * n + 1] = bx[2];
            out[4 * n + 2] = bx[1] - bx[0] + 1;
            out[4 * n + 3] = bx[3] - bx[2] + 1;
            n++;
        }
    }
    return n;
}

/* Widen the boxes of the tiles that [lo, hi) of row y crosses (`bounds`: x0,
 * x1, y0, y1 per tile column; x1 < x0 while a tile holds no change) by the
 * pixels that differ between rows a and b. */
static void diff_span(const uint8_t *a, const uint8_t *b, int32_t lo, int32_t hi, int32_t y,
                      int32_t tile, int32_t *bounds) {
    for (int32_t t = lo / tile; lo < hi; t++) {
        const int32_t end = imin((t + 1) * tile, hi);
        widen_box(a, b, lo, end, y, bounds + 4 * (ptrdiff_t)t);
        lo = end;
    }
}

ptrdiff_t sc_scroll_diff(const uint8_t *prev, ptrdiff_t prev_stride, const uint8_t *cur,
                         ptrdiff_t cur_stride, int32_t width, int32_t height, int32_t y0,
                         int32_t y1, int32_t x0, int32_t x1, int32_t dy, int32_t min_run,
                         uint8_t *moved, int32_t *starts, int32_t *ends, int32_t tile,
                         int32_t *bounds, int32_t *out) {
    const int32_t tiles_x = (width + tile - 1) / tile;
    ptrdiff_t n = 0;
    for (int32_t ty = y0; ty < y1; ty += tile) {
        const int32_t ty1 = imin(ty + tile, y1);
        for (int32_t t = 0; t < tiles_x; t++) {
            bounds[4 * t] = 0;
            bounds[4 * t + 1] = -1;
        }
        for (int32_t y = ty; y < ty1; y++) {
            const uint8_t *a = prev + (ptrdiff_t)y * prev_stride;
            const uint8_t *b = cur + (ptrdiff_t)y * cur_stride;
            const int32_t sy = y - dy;
            ptrdiff_t s = x0, len = 0;
            if (sy >= 0 && sy < height) {
                const uint8_t *src = prev + (ptrdiff_t)sy * prev_stride;
                if (sc_row_first_diff(src, b, x0, x1) == x1) {
                    len = x1 - x0; /* the whole row moved: the common case */
                } else {
                    if (row_runs(src + 4 * (ptrdiff_t)x0, b + 4 * (ptrdiff_t)x0, x1 - x0, min_run,
                                 1, &s, &len))
                        s += x0; /* else none: s == x0, len == 0 */
                }
            }
            const int32_t e = (int32_t)(s + len);
            starts[y - y0] = (int32_t)s;
            ends[y - y0] = e;
            if (len) {
                /* A run equal to its old self as well (a blank line scrolled
                 * onto a blank line) is marked apart: 2, not 1. */
                int still = sc_row_first_diff(a, b, s, e) == e;
                moved[y - y0] = (uint8_t)(1 + still);
                diff_span(a, b, 0, (int32_t)s, y, tile, bounds);
                diff_span(a, b, e, width, y, tile, bounds);
            } else {
                moved[y - y0] = 0;
                diff_span(a, b, 0, width, y, tile, bounds);
            }
        }
        for (int32_t t = 0; t < tiles_x; t++) {
            const int32_t *bx = bounds + 4 * t;
            if (bx[1] < bx[0])
                continue;
            out[4 * n] = bx[0];
            out[4 * n + 1] = bx[2];
            out[4 * n + 2] = bx[1] - bx[0] + 1;
            out[4 * n + 3] = bx[3] - bx[2] + 1;
            n++;
        }
    }
    return n;
}

/* Slot of `key` in an open-addressing table of cap (a power of two) entries:
 * the keys are hashes already, so their top bits index the table. */
static inline int32_t slot_of(const uint64_t *keys, const int32_t *rows, int32_t cap,
                              uint64_t key) {
    int32_t i = (int32_t)((key * P1) >> 40) & (cap - 1);
    while (rows[i] != -2 && keys[i] != key)
        i = (i + 1) & (cap - 1);
    return i;
}

void sc_row_votes(const uint64_t *hp, const uint64_t *hc, const uint8_t *changed, int32_t n,
                  int32_t h, uint64_t *keys, int32_t *rows, int32_t cap, int32_t *votes) {
    for (int32_t s = 0; s < n; s++) {
        const uint64_t *p = hp + (ptrdiff_t)s * h, *c = hc + (ptrdiff_t)s * h;
        const uint8_t *ch = changed + (ptrdiff_t)s * h;
        int32_t *v = votes + (ptrdiff_t)s * 2 * h;
        for (int32_t i = 0; i < cap; i++)
            rows[i] = -2; /* empty; -1 marks a hash seen more than once */
        for (int32_t r = 0; r < h; r++) {
            int32_t i = slot_of(keys, rows, cap, p[r]);
            if (rows[i] == -2) {
                keys[i] = p[r];
                rows[i] = r;
            } else {
                rows[i] = -1;
            }
        }
        for (int32_t y = 0; y < h; y++) {
            if (!ch[y])
                continue;
            int32_t r = rows[slot_of(keys, rows, cap, c[y])];
            if (r >= 0 && r != y)
                v[y - r + h]++;
        }
    }
}
