/* BGRX <-> planar YUV (see yuv.h for the colour model and the exactness rule).
 *
 * Each row kernel is a plain loop over 32-bit pixels with int32 lanes and no
 * branches, which GCC and Clang vectorise; on x86-64 Linux an AVX2 clone is
 * built beside the baseline one and picked at load time (ifunc), as the
 * tile-diff kernel does by hand. */
#include "yuv.h"


#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define SC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SC_CLONES
#endif

/* BT.709, full range, x 65536. Each row of the forward matrix sums to exactly
 * 65536 (Y) or 0 (Cb, Cr), so grey stays grey with Cb = Cr = 128. */
enum {
    YR = 13933, YG = 46871, YB = 4732,
    UR = -7509, UG = -25259, UB = 32768,
    VR = 32768, VG = -29763, VB = -3005,
    RV = 103206, GU = -12276, GV = -30679, BU = 121609,
    HALF = 32768
};

static inline int32_t clamp255(int32_t x) { return x < 0 ? 0 : (x > 255 ? 255 : x); }

static inline uint32_t pack(int32_t yy, int32_t cu, int32_t cv)
{
    int32_t y16 = yy * 65536 + HALF;
    int32_t r = clamp255((y16 + RV * cv) >> 16);
    int32_t g = clamp255((y16 + GU * cu + GV * cv) >> 16);
    int32_t b = clamp255((y16 + BU * cu) >> 16);
    return (uint32_t)b | ((uint32_t)g << 8) | ((uint32_t)r << 16) | 0xFF000000u;
}

SC_CLONES static void row_to_444(const uint32_t *restrict px, int w, uint8_t *restrict y,
                                 uint8_t *restrict u, uint8_t *restrict v)
{
    for (int i = 0; i < w; i++) {
        uint32_t p = px[i];
        int32_t b = (int32_t)(p & 255), g = (int32_t)((p >> 8) & 255), r = (int32_t)((p >> 16) & 255);
        y[i] = (uint8_t)((YR * r + YG * g + YB * b + HALF) >> 16);
        u[i] = (uint8_t)clamp255(((UR * r + UG * g + UB * b + HALF) >> 16) + 128);
        v[i] = (uint8_t)clamp255(((VR * r + VG * g + VB * b + HALF) >> 16) + 128);
    }
}

SC_CLONES static void rows_to_420(const uint32_t *restrict p0, const uint32_t *restrict p1, int w,
                                  uint8_t *restrict y0, uint8_t *restrict y1,
                                  uint8_t *restrict u, uint8_t *restrict v)
{
    for (int i = 0; i < w; i++) {
        uint32_t a = p0[i], c = p1[i];
        int32_t ba = (int32_t)(a & 255), ga = (int32_t)((a >> 8) & 255), ra = (int32_t)((a >> 16) & 255);
        int32_t bc = (int32_t)(c & 255), gc = (int32_t)((c >> 8) & 255), rc = (int32_t)((c >> 16) & 255);
        y0[i] = (uint8_t)((YR * ra + YG * ga + YB * ba + HALF) >> 16);
        y1[i] = (uint8_t)((YR * rc + YG * gc + YB * bc + HALF) >> 16);
    }
    for (int i = 0; i < w / 2; i++) {
        int32_t b = 0, g = 0, r = 0;
        uint32_t q[4] = {p0[2 * i], p0[2 * i + 1], p1[2 * i], p1[2 * i + 1]};
        for (int k = 0; k < 4; k++) {
            b += (int32_t)(q[k] & 255);
            g += (int32_t)((q[k] >> 8) & 255);
            r += (int32_t)((q[k] >> 16) & 255);
        }
        b = (b + 2) >> 2, g = (g + 2) >> 2, r = (r + 2) >> 2;
        u[i] = (uint8_t)clamp255(((UR * r + UG * g + UB * b + HALF) >> 16) + 128);
        v[i] = (uint8_t)clamp255(((VR * r + VG * g + VB * b + HALF) >> 16) + 128);
    }
}

SC_CLONES static void row_from_444(const uint8_t *restrict y, const uint8_t *restrict u,
                                   const uint8_t *restrict v, int w, uint32_t *restrict out)
{
    for (int i = 0; i < w; i++)
        out[i] = pack(y[i], (int32_t)u[i] - 128, (int32_t)v[i] - 128);
}

SC_CLONES static void row_from_420(const uint8_t *restrict y, const uint8_t *restrict u,
                                   const uint8_t *restrict v, int w, uint32_t *restrict out)
{
    for (int i = 0; i < w; i++)
        out[i] = pack(y[i], (int32_t)u[i >> 1] - 128, (int32_t)v[i >> 1] - 128);
}

/* Rows are 4-byte aligned in every frame we convert (stride = 4 * width of a
 * numpy frame); memcpy-free uint32 access is then well-defined. */
#define ROW32(base, stride, r) ((const uint32_t *)(const void *)((base) + (ptrdiff_t)(r) * (stride)))
#define ROW32W(base, stride, r) ((uint32_t *)(void *)((base) + (ptrdiff_t)(r) * (stride)))

void sc_bgrx_to_yuv444(const uint8_t *src, ptrdiff_t stride, int w, int h,
                       uint8_t *y, ptrdiff_t ys, uint8_t *u, ptrdiff_t us,
                       uint8_t *v, ptrdiff_t vs)
{
    for (int r = 0; r < h; r++)
        row_to_444(ROW32(src, stride, r), w, y + r * ys, u + r * us, v + r * vs);
}

void sc_bgrx_to_yuv420(const uint8_t *src, ptrdiff_t stride, int w, int h,
                       uint8_t *y, ptrdiff_t ys, uint8_t *u, ptrdiff_t us,
                       uint8_t *v, ptrdiff_t vs)
{
    for (int r = 0; r + 1 < h; r += 2)
        rows_to_420(ROW32(src, stride, r), ROW32(src, stride, r + 1), w,
                    y + r * ys, y + (r + 1) * ys, u + (r / 2) * us, v + (r / 2) * vs);
}

void sc_yuv444_to_bgrx(const uint8_t *y, ptrdiff_t ys, const uint8_t *u, ptrdiff_t us,
                       const uint8_t *v, ptrdiff_t vs, int w, int h,
                       uint8_t *dst, ptrdiff_t stride)
{
    for (int r = 0; r < h; r++)
        row_from_444(y + r * ys, u + r * us, v + r * vs, w, ROW32W(dst, stride, r));
}

void sc_yuv420_to_bgrx(const uint8_t *y, ptrdiff_t ys, const uint8_t *u, ptrdiff_t us,
                       const uint8_t *v, ptrdiff_t vs, int w, int h,
                       uint8_t *dst, ptrdiff_t stride)
{
    for (int r = 0; r < h; r++)
        row_from_420(y + r * ys, u + (r / 2) * us, v + (r / 2) * vs, w, ROW32W(dst, stride, r));
}
