#include "pixels.h"

#include <stdlib.h>
#include <string.h>

#define SC_OPAQUE 0xFF000000u

static inline uint32_t load_rgb(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v & 0x00FFFFFFu; /* little-endian: B, G, R in the low three bytes */
}

static inline void store_px(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

void sc_pack_filtered(const uint8_t *src, ptrdiff_t stride, int w, int h, int planar, int delta,
                      uint8_t *dst)
{
    const size_t plane = (size_t)w * (size_t)h;
    if (!planar && !delta) {
        /* Plain B, G, R (the history stream's input, every text update):
         * one 4-byte move per pixel, each overwriting the last one's X, instead
         * of three strided byte passes over the row (3x faster). */
        for (int y = 0; y < h; y++) {
            const uint8_t *s = src + (ptrdiff_t)y * stride;
            uint8_t *d = dst + (size_t)y * (size_t)w * 3;
            for (int x = 0; x < w - 1; x++)
                memcpy(d + 3 * (size_t)x, s + 4 * (size_t)x, 4);
            memcpy(d + 3 * (size_t)(w - 1), s + 4 * (size_t)(w - 1), 3);
        }
        return;
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (ptrdiff_t)y * stride;
        /* Row 0 is predicted from zeros, i.e. sent as it is. */
        const uint8_t *up = y > 0 && delta ? s - stride : NULL;
        for (int c = 0; c < 3; c++) {
            /* Planar: channel c of row y lands in plane c; interleaved: every third byte. */
            uint8_t *d = planar ? dst + c * plane + (size_t)y * (size_t)w
                                : dst + (size_t)y * (size_t)w * 3 + (size_t)c;
            const size_t step = planar ? 1 : 3;
            if (up) {
                for (int x = 0; x < w; x++)
                    d[(size_t)x * step] = (uint8_t)(s[4 * x + c] - up[4 * x + c]);
            } else {
                for (int x = 0; x < w; x++)
                    d[(size_t)x * step] = s[4 * x + c];
            }
        }
    }
}

void sc_unpack_filtered(const uint8_t *src, int w, int h, int planar, int delta, uint8_t *dst,
                        ptrdiff_t stride)
{
    const size_t plane = (size_t)w * (size_t)h;
    for (int y = 0; y < h; y++) {
        uint8_t *d = dst + (ptrdiff_t)y * stride;
        /* The row above is already decoded in dst: the running sum needs no buffer. */
        const uint8_t *up = y > 0 && delta ? d - stride : NULL;
        for (int c = 0; c < 3; c++) {
            const uint8_t *s = planar ? src + c * plane + (size_t)y * (size_t)w
                                      : src + (size_t)y * (size_t)w * 3 + (size_t)c;
            const size_t step = planar ? 1 : 3;
            if (up) {
                for (int x = 0; x < w; x++)
                    d[4 * x + c] = (uint8_t)(s[(size_t)x * step] + up[4 * x + c]);
            } else {
                for (int x = 0; x < w; x++)
                    d[4 * x + c] = s[(size_t)x * step];
            }
        }
        for (int x = 0; x < w; x++)
            d[4 * x + 3] = 255;
    }
}

/* LOCO-I's median edge predictor: a = left, b = up, c = up-left. It is the
 * median of a, b and a + b - c, i.e. a + b - c clamped to [min(a, b),
 * max(a, b)] (c >= max gives min, c <= min gives max): written as a clamp it
 * compiles without branches, which photos would mispredict half the time. */
static inline int med(int a, int b, int c)
{
    const int lo = a < b ? a : b;
    const int hi = a < b ? b : a;
    const int g = a + b - c;
    const int m = g > lo ? g : lo;
    return m < hi ? m : hi;
}

/* One BGRX row as its three green-subtracted planes of w bytes each:
 * t[0, w) B - G, t[w, 2w) G, t[2w, 3w) R - G (mod 256). */
static void green_row(const uint8_t *s, int w, uint8_t *t)
{
    for (int x = 0; x < w; x++) {
        const uint8_t g = s[4 * x + 1];
        t[x] = (uint8_t)(s[4 * x] - g);
        t[w + x] = g;
        t[2 * w + x] = (uint8_t)(s[4 * x + 2] - g);
    }
}

int sc_pack_med(const uint8_t *src, ptrdiff_t stride, int w, int h, uint8_t *dst)
{
    const size_t plane = (size_t)w * (size_t)h, row = (size_t)w;
    /* The row above and this one, green-subtracted (src is read once); they
     * take turns by the parity of y. */
    uint8_t *rows = malloc(row * 6);
    if (!rows)
        return -1;
    for (int y = 0; y < h; y++) {
        uint8_t *cur = rows + (size_t)(y & 1) * 3 * row, *prev = rows + (size_t)(~y & 1) * 3 * row;
        green_row(src + (ptrdiff_t)y * stride, w, cur);
        for (int c = 0; c < 3; c++) {
            const uint8_t *t = cur + (size_t)c * row, *u = prev + (size_t)c * row;
            uint8_t *d = dst + (size_t)c * plane + (size_t)y * row;
            if (y == 0) {
                d[0] = t[0];
                for (int x = 1; x < w; x++)
                    d[x] = (uint8_t)(t[x] - t[x - 1]);
            } else {
                d[0] = (uint8_t)(t[0] - u[0]);
                for (int x = 1; x < w; x++)
                    d[x] = (uint8_t)(t[x] - med(t[x - 1], u[x], u[x - 1]));
            }
        }
    }
    free(rows);
    return 0;
}

static inline void med_put(uint8_t *d, int p0, int g, int p2)
{
    d[0] = (uint8_t)(p0 + g), d[1] = (uint8_t)g, d[2] = (uint8_t)(p2 + g), d[3] = 255;
}

void sc_unpack_med(const uint8_t *src, int w, int h, uint8_t *dst, ptrdiff_t stride)
{
    /* No memory of its own, so it cannot fail once an update has begun to be
     * written (after its COPYs): the planes of the row above (B - G, G,
     * R - G) are read back from the pixels this call has just written. */
    const size_t plane = (size_t)w * (size_t)h, row = (size_t)w;
    for (int y = 0; y < h; y++) {
        const uint8_t *s0 = src + (size_t)y * row, *s1 = s0 + plane, *s2 = s1 + plane;
        uint8_t *d = dst + (ptrdiff_t)y * stride;
        int a0, a1, a2;
        if (y == 0) {
            a0 = s0[0], a1 = s1[0], a2 = s2[0];
            med_put(d, a0, a1, a2);
            for (int x = 1; x < w; x++) {
                a0 = (uint8_t)(s0[x] + a0), a1 = (uint8_t)(s1[x] + a1), a2 = (uint8_t)(s2[x] + a2);
                med_put(d + 4 * x, a0, a1, a2);
            }
            continue;
        }
        const uint8_t *u = d - stride;
        int c1 = u[1], c0 = (uint8_t)(u[0] - c1), c2 = (uint8_t)(u[2] - c1);
        a0 = (uint8_t)(s0[0] + c0), a1 = (uint8_t)(s1[0] + c1), a2 = (uint8_t)(s2[0] + c2);
        med_put(d, a0, a1, a2);
        /* Each plane is one chain of dependent additions along the row; the
         * three chains side by side keep the CPU busy. */
        for (int x = 1; x < w; x++) {
            const uint8_t *p = u + 4 * x;
            const int b1 = p[1], b0 = (uint8_t)(p[0] - b1), b2 = (uint8_t)(p[2] - b1);
            a0 = (uint8_t)(s0[x] + med(a0, b0, c0));
            a1 = (uint8_t)(s1[x] + med(a1, b1, c1));
            a2 = (uint8_t)(s2[x] + med(a2, b2, c2));
            c0 = b0, c1 = b1, c2 = b2;
            med_put(d + 4 * x, a0, a1, a2);
        }
    }
}

void sc_fill(uint8_t *dst, ptrdiff_t stride, int w, int h, uint32_t rgb)
{
    const uint32_t px = (rgb & 0x00FFFFFFu) | SC_OPAQUE;
    for (int y = 0; y < h; y++) {
        uint8_t *d = dst + (ptrdiff_t)y * stride;
        for (int x = 0; x < w; x++)
            store_px(d + 4 * x, px);
    }
}

int sc_is_solid(const uint8_t *src, ptrdiff_t stride, int w, int h, uint32_t *rgb)
{
    const uint32_t first = load_rgb(src);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (ptrdiff_t)y * stride;
        uint32_t diff = 0;
        /* OR-reduce the whole row so the loop vectorises; a row is short. */
        for (int x = 0; x < w; x++)
            diff |= load_rgb(s + 4 * x) ^ first;
        if (diff)
            return 0;
    }
    *rgb = first;
    return 1;
}

/* Open addressing over 1024 slots: at most 256 colours keeps the load <= 1/4,
 * so probes stay short. The empty marker cannot be a colour (colours are
 * 24-bit). */
#define SC_SLOTS 1024
#define SC_EMPTY 0xFFFFFFFFu

static inline unsigned slot_of(uint32_t key)
{
    return (key * 2654435761u) >> 22; /* Fibonacci hashing to 10 bits */
}

/* Where colour c is in the table, or the empty slot where it goes. */
static inline unsigned find_slot(const uint32_t *keys, uint32_t c)
{
    unsigned i = slot_of(c);
    while (keys[i] != SC_EMPTY && keys[i] != c)
        i = (i + 1) & (SC_SLOTS - 1);
    return i;
}

int sc_palette_build(const uint8_t *src, ptrdiff_t stride, int w, int h, int max_colors,
                     uint32_t *palette, uint8_t *indices)
{
    uint32_t keys[SC_SLOTS];
    uint8_t vals[SC_SLOTS];
    int n = 0;
    uint32_t prev = SC_EMPTY;
    uint8_t prev_idx = 0;

    if (max_colors > 256)
        max_colors = 256;
    memset(keys, 0xFF, sizeof(keys));
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (ptrdiff_t)y * stride;
        uint8_t *out = indices + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            const uint32_t c = load_rgb(s + 4 * x);
            if (c != prev) { /* screen content comes in runs: skip the lookup in a run */
                const unsigned i = find_slot(keys, c);
                if (keys[i] == SC_EMPTY) {
                    if (n == max_colors)
                        return -1;
                    keys[i] = c;
                    vals[i] = (uint8_t)n;
                    palette[n++] = c;
                }
                prev = c;
                prev_idx = vals[i];
            }
            out[x] = prev_idx;
        }
    }
    return n;
}

int sc_palette_count(const uint8_t *src, ptrdiff_t stride, int w, int h, int max_colors,
                     uint32_t *first)
{
    /* sc_palette_build's walk without its outputs: the stream coder only asks
     * how many colours there are, and writing and packing w*h indices that it
     * then drops cost more than the count. */
    uint32_t keys[SC_SLOTS];
    int n = 0;
    uint32_t prev = SC_EMPTY;

    if (max_colors > 256)
        max_colors = 256;
    memset(keys, 0xFF, sizeof(keys));
    *first = load_rgb(src);
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (ptrdiff_t)y * stride;
        for (int x = 0; x < w; x++) {
            const uint32_t c = load_rgb(s + 4 * x);
            if (c == prev)
                continue;
            const unsigned i = find_slot(keys, c);
            if (keys[i] == SC_EMPTY) {
                if (n == max_colors)
                    return -1;
                keys[i] = c;
                n++;
            }
            prev = c;
        }
    }
    return n;
}

void sc_pack_indices(const uint8_t *indices, int w, int h, int bits, uint8_t *packed)
{
    const size_t row = sc_index_row_bytes(w, bits);
    const int per_byte = 8 / bits;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = indices + (size_t)y * (size_t)w;
        uint8_t *d = packed + (size_t)y * row;
        if (bits == 8) {
            memcpy(d, s, (size_t)w);
            continue;
        }
        memset(d, 0, row);
        for (int x = 0; x < w; x++) {
            const int shift = 8 - bits * (x % per_byte + 1);
            d[x / per_byte] |= (uint8_t)(s[x] << shift);
        }
    }
}

static inline unsigned index_at(const uint8_t *row, int x, int bits)
{
    if (bits == 8)
        return row[x];
    const int per_byte = 8 / bits;
    const int shift = 8 - bits * (x % per_byte + 1);
    return (row[x / per_byte] >> shift) & ((1u << bits) - 1);
}

int sc_check_indices(const uint8_t *packed, int w, int h, int bits, int n)
{
    if (n >= (1 << bits))
        return 0; /* every representable index is valid */
    const size_t row = sc_index_row_bytes(w, bits);
    for (int y = 0; y < h; y++) {
        const uint8_t *r = packed + (size_t)y * row;
        unsigned worst = 0;
        for (int x = 0; x < w; x++) {
            const unsigned v = index_at(r, x, bits);
            worst = v > worst ? v : worst;
        }
        if (worst >= (unsigned)n)
            return -1;
    }
    return 0;
}

void sc_palette_apply(const uint8_t *packed, int w, int h, int bits, const uint32_t *palette,
                      uint8_t *dst, ptrdiff_t stride)
{
    uint32_t lut[256];
    const size_t row = sc_index_row_bytes(w, bits);
    for (int i = 0; i < (1 << bits); i++)
        lut[i] = (palette[i] & 0x00FFFFFFu) | SC_OPAQUE;
    for (int y = 0; y < h; y++) {
        const uint8_t *r = packed + (size_t)y * row;
        uint8_t *d = dst + (ptrdiff_t)y * stride;
        if (bits == 8) {
            for (int x = 0; x < w; x++)
                store_px(d + 4 * x, lut[r[x]]);
        } else {
            for (int x = 0; x < w; x++)
                store_px(d + 4 * x, lut[index_at(r, x, bits)]);
        }
    }
}
