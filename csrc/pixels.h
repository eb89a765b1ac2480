/* Pixel kernels of the lossless codec: BGRX <-> packed BGR, solid and palette
 * analysis, index packing. Pure C, no Python API: callers validate every
 * pointer, stride and size first (src/screencodec/codecs/_pixels.pyx).
 *
 * A BGRX pixel is 4 bytes B, G, R, X; X is padding the kernels never read as
 * data and always write as 255. Colours are passed as uint32 0x00RRGGBB, which
 * is the little-endian load of B, G, R. */
#ifndef SCREENCODEC_PIXELS_H
#define SCREENCODEC_PIXELS_H

#include <stddef.h>
#include <stdint.h>

/* Rows of a packed index image: ceil(w * bits / 8) bytes each. */
static inline size_t sc_index_row_bytes(int w, int bits) { return ((size_t)w * (size_t)bits + 7) / 8; }

/* BGRX rect (stride in bytes) -> w*h*3 bytes of B, G, R; with both flags 0
 * plain B, G, R per pixel, else filtered for zstd (ZSTD op flags):
 * planar: all B bytes, then all G, then all R (each plane row-major);
 * delta:  every byte minus the same byte one row up, mod 256 (row 0 as is).
 * On photo-like content the two together shrink zstd's output 2-3x. */
void sc_pack_filtered(const uint8_t *src, ptrdiff_t stride, int w, int h, int planar, int delta,
                      uint8_t *dst);

/* The inverse of sc_pack_filtered, into a BGRX rect with X = 255. */
void sc_unpack_filtered(const uint8_t *src, int w, int h, int planar, int delta, uint8_t *dst,
                        ptrdiff_t stride);

/* The MED filter of a ZSTD op (op flags MED | PLANAR, docs/protocol.md):
 * subtract green (B - G, G, R - G, mod 256), then in each of these three
 * planes the LOCO-I / JPEG-LS median edge predictor's residual, mod 256:
 * pred = min(a, b) if c >= max(a, b), max(a, b) if c <= min(a, b), else
 * a + b - c, with a = left, b = up, c = up-left; the rect's first row predicts
 * from the left, its first column from above, its first pixel from 0. Out:
 * w*h*3 bytes, the B - G plane, then G, then R - G (each row-major). On photos
 * zstd's output is ~0.77x that of DELTA_UP | PLANAR (0.73-0.76x with the
 * encoder's zstd settings, codecs/lossless.py). Returns 0, or -1 when
 * its two rows of scratch (6*w bytes) cannot be allocated. */
int sc_pack_med(const uint8_t *src, ptrdiff_t stride, int w, int h, uint8_t *dst);

/* The inverse of sc_pack_med, into a BGRX rect with X = 255. It allocates
 * nothing, so it cannot fail while an update is being written. */
void sc_unpack_med(const uint8_t *src, int w, int h, uint8_t *dst, ptrdiff_t stride);

/* Every pixel of the rect := colour, X = 255. */
void sc_fill(uint8_t *dst, ptrdiff_t stride, int w, int h, uint32_t rgb);

/* 1 (and *rgb set) when every pixel has the same B, G, R; else 0. */
int sc_is_solid(const uint8_t *src, ptrdiff_t stride, int w, int h, uint32_t *rgb);

/* Builds a palette of at most max_colors (<= 256) colours in order of first
 * appearance and writes one index byte per pixel (w*h bytes). Returns the
 * colour count, or -1 as soon as the rect has more colours than that. */
int sc_palette_build(const uint8_t *src, ptrdiff_t stride, int w, int h, int max_colors,
                     uint32_t *palette, uint8_t *indices);

/* sc_palette_build's count alone (no palette, no indices): the number of
 * colours, or -1 past max_colors; *first := the first pixel's colour, which
 * is the rect's only one when the count is 1. */
int sc_palette_count(const uint8_t *src, ptrdiff_t stride, int w, int h, int max_colors,
                     uint32_t *first);

/* One index byte per pixel -> rows of sc_index_row_bytes(w, bits), the first
 * pixel in the most significant bits; bits is 1, 2, 4 or 8. */
void sc_pack_indices(const uint8_t *indices, int w, int h, int bits, uint8_t *packed);

/* 0 when every index of a packed image is below n, else -1. */
int sc_check_indices(const uint8_t *packed, int w, int h, int bits, int n);

/* Packed indices -> BGRX rect through palette (entries 0x00RRGGBB; the array
 * holds 1 << bits entries, unused ones zero). The indices must have passed
 * sc_check_indices. */
void sc_palette_apply(const uint8_t *packed, int w, int h, int bits, const uint32_t *palette,
                      uint8_t *dst, ptrdiff_t stride);

#endif
