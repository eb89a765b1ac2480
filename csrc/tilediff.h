/* tilediff: change detection between two BGRX frames (pure C, no Python API).
 *
 * A frame is `height` rows of `width` 4-byte pixels B, G, R, X; row y starts at
 * data + y * stride. The X byte is padding that X servers change on their own,
 * so every comparison here ignores it.
 *
 * The row primitives (first / last differing pixel in a span) are exported so
 * later stages (e.g. scroll detection with per-row hashes) can restrict their
 * work to the rows and columns that changed.
 *
 * Thread safety: call sc_tilediff_init() once (the Cython module does at
 * import); after that every function is reentrant and may run without the GIL.
 */
#ifndef SC_TILEDIFF_H
#define SC_TILEDIFF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Implementations of the row primitives. */
enum sc_impl { SC_IMPL_GENERIC = 0, SC_IMPL_AVX2 = 1 };

/* Picks the fastest implementation this CPU supports. Returns it. */
int sc_tilediff_init(void);
/* Forces an implementation (for tests / benchmarks). Returns the one now in use:
 * asking for AVX2 on a CPU without it keeps the generic one. Not thread safe. */
int sc_tilediff_set_impl(int impl);
int sc_tilediff_get_impl(void);

/* First pixel index in [from, to) whose B, G or R differ between rows a and b,
 * or `to` when there is none. */
ptrdiff_t sc_row_first_diff(const uint8_t *a, const uint8_t *b, ptrdiff_t from, ptrdiff_t to);
/* Last such pixel index in [from, to), or from - 1 when there is none. */
ptrdiff_t sc_row_last_diff(const uint8_t *a, const uint8_t *b, ptrdiff_t from, ptrdiff_t to);

/* Bytes of scratch memory sc_tile_diff needs. */
size_t sc_tile_diff_scratch_size(int32_t width, int32_t tile);

/* Compares two frames tile by tile and writes one (x, y, w, h) row per changed
 * tile into `out`, in raster order, each trimmed to the bounding box of the
 * changed pixels. `scratch` holds sc_tile_diff_scratch_size() bytes (any
 * content, aligned as malloc aligns), `out` holds
 * 4 * ceil(width / tile) * ceil(height / tile) int32. Returns the number of rows.
 * Preconditions (checked by the caller): width, height >= 0, tile >= 1,
 * strides >= 4 * width. */
ptrdiff_t sc_tile_diff(const uint8_t *prev, ptrdiff_t prev_stride,
                       const uint8_t *cur, ptrdiff_t cur_stride,
                       int32_t width, int32_t height, int32_t tile,
                       void *scratch, int32_t *out);

/* 1 when any pixel's B, G or R differ, 0 otherwise; stops at the first one. */
int sc_frames_differ(const uint8_t *prev, ptrdiff_t prev_stride,
                     const uint8_t *cur, ptrdiff_t cur_stride,
                     int32_t width, int32_t height);

/* Copies the w x h pixels at (x, y) of src into dst and sets their X byte to 255. */
void sc_copy_rect_opaque(uint8_t *dst, ptrdiff_t dst_stride,
                         const uint8_t *src, ptrdiff_t src_stride,
                         int32_t x, int32_t y, int32_t w, int32_t h);

#ifdef __cplusplus
}
#endif

#endif /* SC_TILEDIFF_H */
