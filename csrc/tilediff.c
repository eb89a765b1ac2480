/* tilediff: see tilediff.h.
 *
 * The hot path is first_diff over equal rows: on equal or nearly equal frames
 * it is nearly the only code that runs, so it streams at memory (or L3)
 * bandwidth like memcmp: xor, or, one vptest per 128 bytes of each frame.
 * A changed row is read once more from its first change on into a one-bit-per-
 * pixel bitmap; tile boxes come from those bitmaps once per tile row. So every
 * byte is read at most twice and large changes cost about what equal frames do.
 * Both paths have an AVX2 version picked at run time and a portable one. */
#include "tilediff.h"

#include <string.h>

/* SC_TILEDIFF_NO_SIMD builds the portable path only, as on non-x86 targets. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SC_TILEDIFF_NO_SIMD)
#define SC_HAVE_AVX2 1
#include <immintrin.h>
#endif

/* Masks of the B, G, R bytes of one / two pixels loaded as native integers. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SC_BGR32 UINT32_C(0xFFFFFF00)
#define SC_X32 UINT32_C(0x000000FF)
#else
#define SC_BGR32 UINT32_C(0x00FFFFFF)
#define SC_X32 UINT32_C(0xFF000000)
#endif
#define SC_BGR64 (((uint64_t)SC_BGR32 << 32) | SC_BGR32)

static inline uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4); /* unaligned-safe; compiles to one load */
    return v;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline int px_differ(const uint8_t *a, const uint8_t *b, ptrdiff_t i) {
    return ((load32(a + 4 * i) ^ load32(b + 4 * i)) & SC_BGR32) != 0;
}

/* ---- generic implementation: portable C, GCC vectorises the inner loop ---- */

static ptrdiff_t first_diff_generic(const uint8_t *a, const uint8_t *b, ptrdiff_t from,
                                    ptrdiff_t to) {
    ptrdiff_t i = from;
    /* 16 pixels (64 bytes) per early-exit check. */
    for (; i + 16 <= to; i += 16) {
        uint64_t acc = 0;
        for (int k = 0; k < 8; k++)
            acc |= load64(a + 4 * i + 8 * k) ^ load64(b + 4 * i + 8 * k);
        if (acc & SC_BGR64)
            break;
    }
    for (; i < to; i++)
        if (px_differ(a, b, i))
            return i;
    return to;
}

static ptrdiff_t last_diff_generic(const uint8_t *a, const uint8_t *b, ptrdiff_t from,
                                   ptrdiff_t to) {
    ptrdiff_t i = to;
    for (; i - 16 >= from; i -= 16) {
        uint64_t acc = 0;
        for (int k = 0; k < 8; k++)
            acc |= load64(a + 4 * (i - 16) + 8 * k) ^ load64(b + 4 * (i - 16) + 8 * k);
        if (acc & SC_BGR64)
            break;
    }
    for (; i > from; i--)
        if (px_differ(a, b, i - 1))
            return i - 1;
    return from - 1;
}

/* Bit k of bits[j] <- pixel 8j + k of [from, to) differs; `from` is a multiple of 8. */
static void mark_generic(const uint8_t *a, const uint8_t *b, ptrdiff_t from, ptrdiff_t to,
                         uint8_t *bits) {
    for (ptrdiff_t i = from; i < to; i += 8) {
        const ptrdiff_t n = to - i < 8 ? to - i : 8;
        unsigned m = 0;
        for (ptrdiff_t k = 0; k < n; k++)
            m |= (unsigned)px_differ(a, b, i + k) << k;
        bits[i >> 3] = (uint8_t)m;
    }
}

/* ---- AVX2 implementation, chosen at run time ---- */

#ifdef SC_HAVE_AVX2
#define SC_AVX2 __attribute__((target("avx2")))

/* Bit k set when pixel k of the 8 in x (= a ^ b) has a B, G or R difference. */
SC_AVX2 static inline unsigned diff_bits8(__m256i x, __m256i mask) {
    __m256i eq = _mm256_cmpeq_epi32(_mm256_and_si256(x, mask), _mm256_setzero_si256());
    return ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(eq)) & 0xFFu;
}

SC_AVX2 static inline __m256i xor8(const uint8_t *a, const uint8_t *b, ptrdiff_t px) {
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(a + 4 * px)),
                            _mm256_loadu_si256((const __m256i *)(const void *)(b + 4 * px)));
}

SC_AVX2 static ptrdiff_t first_diff_avx2(const uint8_t *a, const uint8_t *b, ptrdiff_t from,
                                         ptrdiff_t to) {
    const __m256i mask = _mm256_set1_epi32((int)SC_BGR32);
    ptrdiff_t i = from;
    /* 32 pixels (128 bytes of each row) per early-exit check: xor, or, one vptest. */
    for (; i + 32 <= to; i += 32) {
        __m256i x0 = xor8(a, b, i), x1 = xor8(a, b, i + 8);
        __m256i x2 = xor8(a, b, i + 16), x3 = xor8(a, b, i + 24);
        __m256i o = _mm256_or_si256(_mm256_or_si256(x0, x1), _mm256_or_si256(x2, x3));
        if (!_mm256_testz_si256(o, mask))
            break; /* the 8-pixel loop below finds it */
    }
    for (; i + 8 <= to; i += 8) {
        unsigned m = diff_bits8(xor8(a, b, i), mask);
        if (m)
            return i + __builtin_ctz(m);
    }
    for (; i < to; i++)
        if (px_differ(a, b, i))
            return i;
    return to;
}

SC_AVX2 static ptrdiff_t last_diff_avx2(const uint8_t *a, const uint8_t *b, ptrdiff_t from,
                                        ptrdiff_t to) {
    const __m256i mask = _mm256_set1_epi32((int)SC_BGR32);
    ptrdiff_t i = to;
    for (; i - 32 >= from; i -= 32) {
        __m256i x0 = xor8(a, b, i - 32), x1 = xor8(a, b, i - 24);
        __m256i x2 = xor8(a, b, i - 16), x3 = xor8(a, b, i - 8);
        __m256i o = _mm256_or_si256(_mm256_or_si256(x0, x1), _mm256_or_si256(x2, x3));
        if (!_mm256_testz_si256(o, mask))
            break;
    }
    for (; i - 8 >= from; i -= 8) {
        unsigned m = diff_bits8(xor8(a, b, i - 8), mask);
        if (m)
            return i - 8 + (31 - __builtin_clz(m));
    }
    for (; i > from; i--)
        if (px_differ(a, b, i - 1))
            return i - 1;
    return from - 1;
}
SC_AVX2 static void mark_avx2(const uint8_t *a, const uint8_t *b, ptrdiff_t from, ptrdiff_t to,
                              uint8_t *bits) {
    const __m256i mask = _mm256_set1_epi32((int)SC_BGR32);
    ptrdiff_t i = from;
    for (; i + 32 <= to; i += 32) {
        bits[(i >> 3) + 0] = (uint8_t)diff_bits8(xor8(a, b, i), mask);
        bits[(i >> 3) + 1] = (uint8_t)diff_bits8(xor8(a, b, i + 8), mask);
        bits[(i >> 3) + 2] = (uint8_t)diff_bits8(xor8(a, b, i + 16), mask);
        bits[(i >> 3) + 3] = (uint8_t)diff_bits8(xor8(a, b, i + 24), mask);
    }
    for (; i + 8 <= to; i += 8)
        bits[i >> 3] = (uint8_t)diff_bits8(xor8(a, b, i), mask);
    if (i < to)
        mark_generic(a, b, i, to, bits);
}
#endif /* SC_HAVE_AVX2 */

/* ---- dispatch ---- */

typedef ptrdiff_t (*span_fn)(const uint8_t *, const uint8_t *, ptrdiff_t, ptrdiff_t);
typedef void (*mark_fn)(const uint8_t *, const uint8_t *, ptrdiff_t, ptrdiff_t, uint8_t *);

static span_fn first_diff = first_diff_generic;
static span_fn last_diff = last_diff_generic;
static mark_fn mark_diff = mark_generic;
static int current_impl = SC_IMPL_GENERIC;

int sc_tilediff_set_impl(int impl) {
    first_diff = first_diff_generic;
    last_diff = last_diff_generic;
    mark_diff = mark_generic;
    current_impl = SC_IMPL_GENERIC;
#ifdef SC_HAVE_AVX2
    __builtin_cpu_init();
    if (impl == SC_IMPL_AVX2 && __builtin_cpu_supports("avx2")) {
        first_diff = first_diff_avx2;
        last_diff = last_diff_avx2;
        mark_diff = mark_avx2;
        current_impl = SC_IMPL_AVX2;
    }
#else
    (void)impl;
#endif
    return current_impl;
}

int sc_tilediff_init(void) { return sc_tilediff_set_impl(SC_IMPL_AVX2); }

int sc_tilediff_get_impl(void) { return current_impl; }

ptrdiff_t sc_row_first_diff(const uint8_t *a, const uint8_t *b, ptrdiff_t from, ptrdiff_t to) {
    return first_diff(a, b, from, to);
}

ptrdiff_t sc_row_last_diff(const uint8_t *a, const uint8_t *b, ptrdiff_t from, ptrdiff_t to) {
    return last_diff(a, b, from, to);
}

/* ---- frame-level functions ---- */

/* Little-endian 64-bit load of the bitmap, whatever the host byte order. */
static inline uint64_t load64le(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(load64(p));
#else
    return load64(p);
#endif
}

/* First / last set bit in [lo, hi) of a bitmap, or -1. Windows of at most 56
 * bits always fit in one unaligned 64-bit load. */
static ptrdiff_t bit_first(const uint8_t *bits, ptrdiff_t lo, ptrdiff_t hi) {
    while (lo < hi) {
        const ptrdiff_t n = hi - lo < 56 ? hi - lo : 56;
        const uint64_t w = (load64le(bits + (lo >> 3)) >> (lo & 7)) & ((UINT64_C(1) << n) - 1);
        if (w)
            return lo + __builtin_ctzll(w);
        lo += n;
    }
    return -1;
}

static ptrdiff_t bit_last(const uint8_t *bits, ptrdiff_t lo, ptrdiff_t hi) {
    while (hi > lo) {
        const ptrdiff_t s = hi - lo > 56 ? hi - 56 : lo;
        const uint64_t w = (load64le(bits + (s >> 3)) >> (s & 7)) & ((UINT64_C(1) << (hi - s)) - 1);
        if (w)
            return s + 63 - __builtin_clzll(w);
        hi = s;
    }
    return -1;
}

/* Scratch layout: per row of the tile row, where its bitmap starts to be valid
 * (its first changed pixel, or -1 for an equal row); then one bitmap per row;
 * then the OR of those bitmaps. Each bitmap has 16 spare bytes so that 8-byte
 * loads near the end stay inside it. */
static size_t map_bytes(int32_t width) { return (size_t)width / 8 + 16; }

size_t sc_tile_diff_scratch_size(int32_t width, int32_t tile) {
    return (size_t)tile * sizeof(ptrdiff_t) + ((size_t)tile + 1) * map_bytes(width);
}

ptrdiff_t sc_tile_diff(const uint8_t *prev, ptrdiff_t prev_stride,
                       const uint8_t *cur, ptrdiff_t cur_stride,
                       int32_t width, int32_t height, int32_t tile,
                       void *scratch, int32_t *out) {
    const span_fn first = first_diff;
    const mark_fn mark = mark_diff;
    const ptrdiff_t tiles_x = ((ptrdiff_t)width + tile - 1) / tile;
    const int packed = prev_stride == 4 * (ptrdiff_t)width && cur_stride == prev_stride;
    const size_t nbytes = map_bytes(width);
    const size_t used = ((size_t)width + 7) / 8; /* bytes mark() may write */
    ptrdiff_t *from = scratch;
    uint8_t *maps = (uint8_t *)scratch + (size_t)tile * sizeof(ptrdiff_t);
    uint8_t *cols = maps + (size_t)tile * nbytes;
    /* mark() never writes the spare bytes: zero them once, they are read. */
    for (int32_t r = 0; r <= tile; r++)
        memset(maps + (size_t)r * nbytes + used, 0, nbytes - used);
    ptrdiff_t n = 0;

    for (int32_t ty0 = 0; ty0 < height; ty0 += tile) {
        const int32_t ty1 = height - ty0 > tile ? ty0 + tile : height;
        const int32_t nrows = ty1 - ty0;
        int dirty = 0;
        for (int32_t r = 0; r < nrows; r++)
            from[r] = -1;

        int32_t y = ty0;
        while (y < ty1) {
            /* Equal rows cost one streaming scan with early exit; when both
             * frames are packed, all the rows left in the tile row are one
             * span, so runs of equal rows cost a single call. */
            ptrdiff_t f;
            if (packed) {
                const ptrdiff_t span = (ptrdiff_t)(ty1 - y) * width;
                const ptrdiff_t g = first(prev + (ptrdiff_t)y * prev_stride,
                                          cur + (ptrdiff_t)y * cur_stride, 0, span);
                if (g == span)
                    break;
                y += (int32_t)(g / width);
                f = g % width;
            } else {
                f = first(prev + (ptrdiff_t)y * prev_stride, cur + (ptrdiff_t)y * cur_stride, 0,
                          width);
                if (f == width) {
                    y++;
                    continue;
                }
            }
            /* A changed row becomes a bitmap from its first change on: one more
             * pass over that part of the row, and no per-tile work yet. */
            uint8_t *bits = maps + (size_t)(y - ty0) * nbytes;
            mark(prev + (ptrdiff_t)y * prev_stride, cur + (ptrdiff_t)y * cur_stride,
                 f & ~(ptrdiff_t)7, width, bits);
            from[y - ty0] = f;
            if (!dirty) {
                memset(cols, 0, nbytes);
                dirty = 1;
            }
            for (size_t j = (size_t)f >> 3; j < used; j++)
                cols[j] |= bits[j]; /* bits below f in byte f >> 3 are 0 */
            y++;
        }
        if (!dirty)
            continue;

        /* Per tile: its columns from the OR of the bitmaps; its first and last
         * changed rows by scanning the row bitmaps from the top and the bottom,
         * so a tile costs O(1) checks when its changes reach its edges. */
        for (ptrdiff_t t = 0; t < tiles_x; t++) {
            const ptrdiff_t hi = (t + 1) * tile < width ? (t + 1) * tile : width;
            const ptrdiff_t x0 = bit_first(cols, t * tile, hi);
            if (x0 < 0)
                continue;
            const ptrdiff_t x1 = bit_last(cols, x0, hi);
            int32_t r0 = 0, r1 = nrows - 1;
            while (from[r0] < 0 || from[r0] > x1
                   || bit_first(maps + (size_t)r0 * nbytes, from[r0] > x0 ? from[r0] : x0,
                                x1 + 1) < 0)
                r0++;
            while (from[r1] < 0 || from[r1] > x1
                   || bit_first(maps + (size_t)r1 * nbytes, from[r1] > x0 ? from[r1] : x0,
                                x1 + 1) < 0)
                r1--;
            out[4 * n + 0] = (int32_t)x0;
            out[4 * n + 1] = ty0 + r0;
            out[4 * n + 2] = (int32_t)(x1 - x0 + 1);
            out[4 * n + 3] = r1 - r0 + 1;
            n++;
        }
    }
    return n;
}

int sc_frames_differ(const uint8_t *prev, ptrdiff_t prev_stride,
                     const uint8_t *cur, ptrdiff_t cur_stride,
                     int32_t width, int32_t height) {
    if (width <= 0 || height <= 0)
        return 0;
    /* Two packed frames are one long row: no per-row call overhead. */
    if (prev_stride == 4 * (ptrdiff_t)width && cur_stride == prev_stride) {
        const ptrdiff_t npx = (ptrdiff_t)width * height;
        return first_diff(prev, cur, 0, npx) != npx;
    }
    for (int32_t y = 0; y < height; y++)
        if (first_diff(prev + (ptrdiff_t)y * prev_stride, cur + (ptrdiff_t)y * cur_stride, 0,
                       width) != width)
            return 1;
    return 0;
}

void sc_copy_rect_opaque(uint8_t *dst, ptrdiff_t dst_stride,
                         const uint8_t *src, ptrdiff_t src_stride,
                         int32_t x, int32_t y, int32_t w, int32_t h) {
    for (int32_t r = 0; r < h; r++) {
        uint8_t *d = dst + (ptrdiff_t)(y + r) * dst_stride + 4 * (ptrdiff_t)x;
        const uint8_t *s = src + (ptrdiff_t)(y + r) * src_stride + 4 * (ptrdiff_t)x;
        /* A plain loop of 32-bit ORs: GCC vectorises it at -O3. */
        for (int32_t i = 0; i < w; i++) {
            const uint32_t v = load32(s + 4 * (ptrdiff_t)i) | SC_X32;
            memcpy(d + 4 * (ptrdiff_t)i, &v, 4);
        }
    }
}
