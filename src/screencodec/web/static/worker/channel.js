// The messages between the page (app/decoding.js) and its decoding worker
// (worker/main.js), checked on arrival on both sides as strictly as the
// wire: each kind has exactly these fields, each of this type and within
// bounds. A message that fails is a broken worker (the page restarts it and
// asks the host for a keyframe), never something to guess at.

export const MAX_MESSAGE = 256 * 1024 * 1024 + 64; // the decoder's maxMessage and a header
export const MAX_TILES = 64;
export const MAX_SIDE = 16384;
// The digest of the largest picture the decoder takes (48 M pixels, as thin
// as 16384 a side allows: the partial tiles of both edges count).
export const MAX_KEPT = 8 * 12288;
const MAX_ID = 2 ** 32;

const int = (lo, hi) => (v) => Number.isInteger(v) && v >= lo && v <= hi;
const num = (lo, hi) => (v) => typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi;
const bool = (v) => typeof v === "boolean";
const str = (max) => (v) => typeof v === "string" && v.length <= max;
const oneOf = (...xs) => (v) => xs.includes(v);
const obj = (v) => v !== null && typeof v === "object" && !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype;
const record = (fields) => (v) => obj(v) && exact(v, fields);
const nullOr = (check) => (v) => v === null || check(v);
const id = int(0, MAX_ID);
const side = int(0, MAX_SIDE);

const buffer = (max) => (v) => v instanceof ArrayBuffer && v.byteLength <= max;
const bytes = (min, max) => (v) => v instanceof Uint8Array && v.length >= min && v.length <= max;
const offscreen = (v) => typeof OffscreenCanvas !== "undefined" && v instanceof OffscreenCanvas;
const bitmap = (v) => typeof ImageBitmap !== "undefined" && v instanceof ImageBitmap;
const rgba = (v) => v instanceof Uint8ClampedArray && v.length <= 4 * MAX_SIDE * MAX_SIDE;
const tile = record({ x: side, y: side, bitmap });
const tiles = (v) => Array.isArray(v) && v.length <= MAX_TILES && v.every(tile);
const shapeFields = record({ width: int(1, 256), height: int(1, 256), hotX: int(0, 255), hotY: int(0, 255), rgba });
const shape = (v) => shapeFields(v) && v.rgba.length === v.width * v.height * 4 && v.hotX < v.width &&
  v.hotY < v.height;
const cursor = record({
  x: int(-(2 ** 31), 2 ** 31 - 1), y: int(-(2 ** 31), 2 ** 31 - 1), visible: bool,
  shapeId: (v) => typeof v === "bigint" && v >= 0n && v < 2n ** 64n,
  known: bool, // false: no shape for shapeId (the default pointer)
  shape: nullOr(shape), // null: the shape last sent is still right
});
const probe = record({ h264_444: bool, h264_420: bool, detail: (v) => obj(v) &&
  Object.keys(v).length <= 8 && Object.values(v).every(bool) });

// page -> worker
const TO_WORKER = {
  init: { mode: oneOf("bitmap", "offscreen"), canvas: nullOr(offscreen) },
  decode: { id, data: buffer(MAX_MESSAGE) },
  blank: { id }, // no picture: the screen is cleared
  repaint: { id }, // the page's canvas lost its pixels: the whole frame again
  read: { id }, // the pixels shown (offscreen mode: the page cannot read its canvas)
  keep: { id, key: bytes(16, 16) }, // the digest of the picture held, which is adopted (decoder/kept.js)
};

// worker -> page
const TO_PAGE = {
  ready: { probe },
  done: {
    id, kind: oneOf("update", "skipped", "refused", "cursor", "ignored"),
    width: side, height: side, ms: num(0, 1e7), pictures: int(0, 64), error: str(500),
    tiles, cursor: nullOr(cursor),
  },
  painted: { id, width: side, height: side, tiles },
  pixels: { id, width: side, height: side, data: nullOr(rgba) },
  restored: {}, // unasked: the transferred canvas's context came back, painted again
  // the answer to keep: 8 bytes a tile of width x height (decoder/kept.js),
  // or digests null and a size of 0 (no picture to go on from); ms: hashing
  kept: { id, width: side, height: side, digests: nullOr(bytes(8, MAX_KEPT)), ms: num(0, 1e7) },
};

function exact(o, fields) {
  const keys = Object.keys(o);
  if (keys.length !== Object.keys(fields).length) return false;
  for (const k of keys) {
    if (!Object.hasOwn(fields, k) || !fields[k](o[k])) return false;
  }
  return true;
}

export class ChannelError extends Error {}

function check(kinds, m, who) {
  const fields = obj(m) && typeof m.t === "string" && Object.hasOwn(kinds, m.t) ? kinds[m.t] : null;
  if (!fields) throw new ChannelError(`${who}: a message of no known kind`);
  const { t, ...rest } = m;
  if (!exact(rest, fields)) throw new ChannelError(`${who}: a malformed ${t} message`);
  return m;
}

/** A message the worker received from the page, checked; throws ChannelError. */
export const checkToWorker = (m) => check(TO_WORKER, m, "page to worker");
/** A message the page received from the worker, checked; throws ChannelError. */
export const checkToPage = (m) => check(TO_PAGE, m, "worker to page");
