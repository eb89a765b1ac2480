// Message builders for the node:test unit tests: the wire layouts of
// docs/protocol.md, with zstd frames made of raw and RLE blocks (exact by
// construction, so the tests need no compressor).

export function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function le(value, bytes) {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function message(type, body, { version = 1, magic = [0x53, 0x43] } = {}) {
  return concat(Uint8Array.from(magic), Uint8Array.of(version, type), le(body.length, 4), body);
}

/** An op: { op, flags, x, y, w, h, payload }. */
export function opBytes({ op, flags = 0, x, y, w, h, payload }) {
  return concat(Uint8Array.of(op, flags), le(x, 2), le(y, 2), le(w, 2), le(h, 2), le(payload.length, 4), payload);
}

export function update(seq, width, height, ops, { keyframe = false, hash = null, flags = null, reserved = 0 } = {}) {
  const f = flags ?? ((keyframe ? 1 : 0) | (hash !== null ? 2 : 0));
  const head = concat(le(seq, 4), le(f, 2), le(width, 2), le(height, 2), le(reserved, 2), le(ops.length, 4));
  return message(1, concat(head, hash !== null ? le(hash, 8) : new Uint8Array(0), ...ops.map(opBytes)));
}

/** A raw zstd block (last or not). */
export function rawBlock(data, last) {
  return concat(le((data.length << 3) | (last ? 1 : 0), 3), data);
}

/** A one-frame zstd payload of raw blocks with its content size declared. */
export function zstdFrame(data, { declared = data.length } = {}) {
  const head = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0xa0, ...le(declared, 4)); // single segment, 4-byte size
  return concat(head, rawBlock(data, true));
}

export const ZSTREAM_HEADER = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 13 << 3);

export function zstreamPayload(position, data, { reset = false } = {}) {
  return concat(le(position, 4), reset ? ZSTREAM_HEADER : new Uint8Array(0), rawBlock(data, false));
}

export function fill(x, y, w, h, [b, g, r]) {
  return { op: 1, x, y, w, h, payload: Uint8Array.of(b, g, r) };
}

export function raw(x, y, w, h, bgr) {
  return { op: 2, x, y, w, h, payload: bgr };
}

export function copy(sx, sy, x, y, w, h) {
  return { op: 5, x, y, w, h, payload: concat(le(sx, 2), le(sy, 2)) };
}

export function cursorShape(id, w, h, hx, hy, bgra) {
  return message(2, concat(le(id, 8), le(w, 2), le(h, 2), le(hx, 2), le(hy, 2), bgra));
}

export function cursorPosition(x, y, id, visible = 1) {
  return message(3, concat(le(x >>> 0, 4), le(y >>> 0, 4), le(id, 8), Uint8Array.of(visible)));
}

/** The pixel at (x, y) of a decoder's framebuffer as [R, G, B, A]. */
export function pixel(dec, x, y) {
  const i = (y * dec.width + x) * 4;
  return Array.from(dec.framebuffer.subarray(i, i + 4));
}
