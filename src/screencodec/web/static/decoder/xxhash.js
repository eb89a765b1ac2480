// XXH64 (seed 0), for the optional content checksum of a zstd frame. The
// reference encoder never writes checksums, so this only runs on frames from
// other encoders, and BigInt arithmetic is fast enough for that.

const M = (1n << 64n) - 1n;
const P1 = 0x9E3779B185EBCA87n;
const P2 = 0xC2B2AE3D27D4EB4Fn;
const P3 = 0x165667B19E3779F9n;
const P4 = 0x85EBCA77C2B2AE63n;
const P5 = 0x27D4EB2F165667C5n;

const rotl = (v, r) => ((v << r) | (v >> (64n - r))) & M;
const round = (acc, lane) => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
const merge = (acc, v) => ((((acc ^ round(0n, v)) * P1) & M) + P4) & M;

function lane64(d, o) {
  const lo = (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
  const hi = (d[o + 4] | (d[o + 5] << 8) | (d[o + 6] << 16) | (d[o + 7] << 24)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** XXH64 of `d` with seed 0, as a BigInt. */
export function xxh64(d) {
  const n = d.length;
  let p = 0;
  let h;
  if (n >= 32) {
    let v1 = (P1 + P2) & M, v2 = P2, v3 = 0n, v4 = (M + 1n - P1) & M;
    for (; p + 32 <= n; p += 32) {
      v1 = round(v1, lane64(d, p));
      v2 = round(v2, lane64(d, p + 8));
      v3 = round(v3, lane64(d, p + 16));
      v4 = round(v4, lane64(d, p + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & M;
  for (; p + 8 <= n; p += 8) h = ((rotl(h ^ round(0n, lane64(d, p)), 27n) * P1) + P4) & M;
  if (p + 4 <= n) {
    const v = BigInt((d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0);
    h = ((rotl(h ^ ((v * P1) & M), 23n) * P2) + P3) & M;
    p += 4;
  }
  for (; p < n; p++) h = (rotl(h ^ ((BigInt(d[p]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n; h = (h * P2) & M;
  h ^= h >> 29n; h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}
