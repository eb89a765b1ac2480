/* yuv: BGRX <-> planar YUV colour conversion for the video codec (pure C).
 *
 * Colour model: BT.709 matrix, FULL range (Y, Cb, Cr all 0..255, JFIF-style),
 * which is what the H.264 VUI of our streams declares (colour_primaries,
 * transfer and matrix BT.709, video_full_range_flag 1). Full range keeps every
 * one of the 256 levels of a screen's 8-bit colours; BT.709 is the HD default
 * that browsers assume.
 *
 * Arithmetic is 16-bit fixed point in int32, rounded half up, with
 * floor (arithmetic) shifts, so the NumPy reference
 * (src/screencodec/video/reference.py) reproduces every output byte exactly.
 * The encoder's reference frame and the viewer both convert decoded pictures
 * with sc_yuv*_to_bgrx, so their framebuffers agree bit for bit.
 *
 * 4:2:0 takes one chroma sample per 2x2 block from the rounded mean of its four
 * B, G, R values; the way back repeats it over the block (no interpolation:
 * cheaper, and exactness only needs both sides to use the same rule).
 *
 * A BGRX pixel is 4 bytes B, G, R, X; X is ignored on input and written as 255.
 * Callers (video/_yuv.pyx) check every pointer, stride and size first. All
 * functions are reentrant and run without the GIL.
 */
#ifndef SCREENCODEC_YUV_H
#define SCREENCODEC_YUV_H

#include <stddef.h>
#include <stdint.h>

/* w x h BGRX rect -> three w x h planes. */
void sc_bgrx_to_yuv444(const uint8_t *src, ptrdiff_t stride, int w, int h,
                       uint8_t *y, ptrdiff_t ys, uint8_t *u, ptrdiff_t us,
                       uint8_t *v, ptrdiff_t vs);

/* w x h BGRX rect (w, h even) -> a w x h Y plane and two w/2 x h/2 chroma planes. */
void sc_bgrx_to_yuv420(const uint8_t *src, ptrdiff_t stride, int w, int h,
                       uint8_t *y, ptrdiff_t ys, uint8_t *u, ptrdiff_t us,
                       uint8_t *v, ptrdiff_t vs);

/* Three w x h planes -> w x h BGRX rect, X = 255. */
void sc_yuv444_to_bgrx(const uint8_t *y, ptrdiff_t ys, const uint8_t *u, ptrdiff_t us,
                       const uint8_t *v, ptrdiff_t vs, int w, int h,
                       uint8_t *dst, ptrdiff_t stride);

/* w x h Y plane + w/2 x h/2 chroma planes (w, h even) -> w x h BGRX rect. */
void sc_yuv420_to_bgrx(const uint8_t *y, ptrdiff_t ys, const uint8_t *u, ptrdiff_t us,
                       const uint8_t *v, ptrdiff_t vs, int w, int h,
                       uint8_t *dst, ptrdiff_t stride);

#endif
