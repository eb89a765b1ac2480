// XXH3-64 (seed 0, the default secret): the wire's framebuffer hash (HASH
// flag) over B, G, R, X bytes. The long-input loop, which sees every byte of
// a frame, runs on 32-bit halves of its eight 64-bit accumulators so it needs
// no BigInt; the few steps around it use BigInt.

const SECRET = new Uint8Array((
  'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f' +
  'cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c' +
  '3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8' +
  'a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364' +
  'eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e' +
  '2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e'
).match(/../g).map((h) => parseInt(h, 16)));

const M = (1n << 64n) - 1n;
const P32_1 = 0x9E3779B1n;
const P32_2 = 0x85EBCA77n;
const P32_3 = 0xC2B2AE3Dn;
const P64_1 = 0x9E3779B185EBCA87n;
const P64_2 = 0xC2B2AE3D27D4EB4Fn;
const P64_3 = 0x165667B19E3779F9n;
const P64_4 = 0x85EBCA77C2B2AE63n;
const P64_5 = 0x27D4EB2F165667C5n;
const PRIME_MX1 = 0x165667919E3779F9n;
const PRIME_MX2 = 0x9FB21C651E98DF25n;

const r32 = (d, o) => (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
const r64 = (d, o) => (BigInt(r32(d, o + 4)) << 32n) | BigInt(r32(d, o));
const rotl = (v, r) => ((v << r) | (v >> (64n - r))) & M;
const swap32 = (v) => (((v & 0xffn) << 24n) | ((v & 0xff00n) << 8n) | ((v >> 8n) & 0xff00n) | (v >> 24n)) & 0xffffffffn;
function swap64(v) {
  let out = 0n;
  for (let i = 0; i < 8; i++) {
    out = (out << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function fold(a, b) {
  const p = a * b;
  return (p ^ (p >> 64n)) & M;
}

function avalanche(h) {
  h ^= h >> 37n;
  h = (h * PRIME_MX1) & M;
  return h ^ (h >> 32n);
}

function xxh64Avalanche(h) {
  h ^= h >> 33n;
  h = (h * P64_2) & M;
  h ^= h >> 29n;
  h = (h * P64_3) & M;
  return h ^ (h >> 32n);
}

function rrmxmx(h, len) {
  h ^= rotl(h, 49n) ^ rotl(h, 24n);
  h = (h * PRIME_MX2) & M;
  h ^= (h >> 35n) + BigInt(len);
  h = (h * PRIME_MX2) & M;
  return h ^ (h >> 28n);
}

const mix16 = (d, o, s) => fold(r64(d, o) ^ r64(SECRET, s), r64(d, o + 8) ^ r64(SECRET, s + 8));

function short(d) {
  const n = d.length;
  const len = BigInt(n);
  if (n === 0) return xxh64Avalanche(r64(SECRET, 56) ^ r64(SECRET, 64));
  if (n <= 3) {
    const combined = BigInt(((d[0] << 16) | (d[n >> 1] << 24) | d[n - 1] | (n << 8)) >>> 0);
    const bitflip = BigInt((r32(SECRET, 0) ^ r32(SECRET, 4)) >>> 0);
    return xxh64Avalanche(combined ^ bitflip);
  }
  if (n <= 8) {
    const bitflip = r64(SECRET, 8) ^ r64(SECRET, 16);
    const input = BigInt(r32(d, n - 4)) + (BigInt(r32(d, 0)) << 32n);
    return rrmxmx(input ^ bitflip, n);
  }
  if (n <= 16) {
    const lo = r64(d, 0) ^ (r64(SECRET, 24) ^ r64(SECRET, 32));
    const hi = r64(d, n - 8) ^ (r64(SECRET, 40) ^ r64(SECRET, 48));
    return avalanche((len + swap64(lo) + hi + fold(lo, hi)) & M);
  }
  let acc = (len * P64_1) & M;
  if (n <= 128) {
    if (n > 32) {
      if (n > 64) {
        if (n > 96) acc += mix16(d, 48, 96) + mix16(d, n - 64, 112);
        acc += mix16(d, 32, 64) + mix16(d, n - 48, 80);
      }
      acc += mix16(d, 16, 32) + mix16(d, n - 32, 48);
    }
    acc += mix16(d, 0, 0) + mix16(d, n - 16, 16);
    return avalanche(acc & M);
  }
  // 129..240
  for (let i = 0; i < 8; i++) acc += mix16(d, 16 * i, 16 * i);
  acc = avalanche(acc & M);
  const rounds = Math.floor(n / 16);
  for (let i = 8; i < rounds; i++) acc += mix16(d, 16 * i, 16 * (i - 8) + 3);
  acc += mix16(d, n - 16, 136 - 17);
  return avalanche(acc & M);
}

const SECRET32 = new Uint32Array(SECRET.buffer);

// acc += 64-bit (hi:lo) at lane k of the eight accumulators, kept as 32-bit
// halves: acc[2k] low, acc[2k + 1] high.
function add(acc, k, lo, hi) {
  const sum = acc[2 * k] + lo;
  acc[2 * k + 1] = (acc[2 * k + 1] + hi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
  acc[2 * k] = sum >>> 0;
}

// One 64-byte stripe: lane i takes the data word and the product of the
// 32-bit halves of data ^ secret (32 x 32 -> 64 in 16-bit pieces).
function lane(acc, i, dlo, dhi, slo, shi) {
  const klo = (dlo ^ slo) >>> 0;
  const khi = (dhi ^ shi) >>> 0;
  add(acc, i ^ 1, dlo, dhi);
  const a0 = klo & 0xffff, a1 = klo >>> 16, b0 = khi & 0xffff, b1 = khi >>> 16;
  const mid = a1 * b0 + a0 * b1;
  const plo = a0 * b0 + (mid % 65536) * 65536;
  const phi = a1 * b1 + Math.floor(mid / 65536) + (plo > 0xffffffff ? 1 : 0);
  add(acc, i, plo >>> 0, phi >>> 0);
}

/** A stripe of a 4-byte aligned input (word view `d32`, word offset `w`)
 * with the secret at a multiple of 8 bytes. */
function accumulateWords(acc, d32, w, s) {
  const k = s >> 2;
  for (let i = 0; i < 8; i++) lane(acc, i, d32[w + 2 * i], d32[w + 2 * i + 1], SECRET32[k + 2 * i], SECRET32[k + 2 * i + 1]);
}

function accumulate(acc, d, o, s) {
  for (let i = 0; i < 8; i++) {
    lane(acc, i, r32(d, o + 8 * i), r32(d, o + 8 * i + 4), r32(SECRET, s + 8 * i), r32(SECRET, s + 8 * i + 4));
  }
}

function scramble(acc, s) {
  const P = 0x9E3779B1;
  for (let i = 0; i < 8; i++) {
    let lo = acc[2 * i], hi = acc[2 * i + 1];
    lo = (lo ^ (hi >>> 15)) >>> 0; // acc ^= acc >> 47
    lo = (lo ^ r32(SECRET, s + 8 * i)) >>> 0;
    hi = (hi ^ r32(SECRET, s + 8 * i + 4)) >>> 0;
    // acc *= PRIME32_1 (mod 2^64)
    const a0 = lo & 0xffff, a1 = lo >>> 16, b0 = P & 0xffff, b1 = P >>> 16;
    const mid = a1 * b0 + a0 * b1;
    const plo = a0 * b0 + (mid % 65536) * 65536;
    const phi = a1 * b1 + Math.floor(mid / 65536) + (plo > 0xffffffff ? 1 : 0);
    acc[2 * i] = plo >>> 0;
    acc[2 * i + 1] = (phi + Math.imul(hi, P)) >>> 0;
  }
}

function long(d) {
  const n = d.length;
  const init = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1];
  const acc = new Array(16);
  init.forEach((v, i) => {
    acc[2 * i] = Number(v & 0xffffffffn);
    acc[2 * i + 1] = Number(v >> 32n);
  });
  const d32 = d.byteOffset % 4 === 0 && n % 4 === 0 ? new Uint32Array(d.buffer, d.byteOffset, n / 4) : null;
  const stripe = d32 ? (o, s) => accumulateWords(acc, d32, o >> 2, s) : (o, s) => accumulate(acc, d, o, s);
  const stripesPerBlock = (SECRET.length - 64) / 8;
  const blockLen = 64 * stripesPerBlock;
  const blocks = Math.floor((n - 1) / blockLen);
  for (let b = 0; b < blocks; b++) {
    for (let s = 0; s < stripesPerBlock; s++) stripe(b * blockLen + 64 * s, 8 * s);
    scramble(acc, SECRET.length - 64);
  }
  const stripes = Math.floor((n - 1 - blockLen * blocks) / 64);
  for (let s = 0; s < stripes; s++) stripe(blocks * blockLen + 64 * s, 8 * s);
  accumulate(acc, d, n - 64, SECRET.length - 64 - 7);
  const a = (i) => (BigInt(acc[2 * i + 1]) << 32n) | BigInt(acc[2 * i]);
  let result = (BigInt(n) * P64_1) & M;
  for (let i = 0; i < 4; i++) {
    result += fold(a(2 * i) ^ r64(SECRET, 11 + 16 * i), a(2 * i + 1) ^ r64(SECRET, 11 + 16 * i + 8));
  }
  return avalanche(result & M);
}

/** XXH3-64 of `d` (a Uint8Array) with seed 0, as a BigInt. */
export function xxh3(d) {
  return d.length <= 240 ? short(d) : long(d);
}

