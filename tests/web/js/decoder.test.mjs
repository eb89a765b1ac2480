// ScreenDecoder: ops, atomicity, keyframe and sequence rules, cursor, video.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DecodeError, IntegrityError, ScreenDecoder, rgbaToBgrx,
} from '../../../src/screencodec/web/static/decoder/index.js';
import { xxh3 } from '../../../src/screencodec/web/static/decoder/xxh3.js';
import {
  concat, copy, cursorPosition, cursorShape, fill, le, message, pixel, raw, update, zstdFrame,
  zstreamPayload,
} from './build.mjs';

const W = 8, H = 6;

async function synced() {
  const dec = new ScreenDecoder();
  const bgr = new Uint8Array(W * H * 3).map((_, i) => (i * 7) & 255);
  await dec.decode(update(0, W, H, [raw(0, 0, W, H, bgr)], { keyframe: true }));
  assert.equal(dec.needsKeyframe, false);
  return dec;
}

async function refused(dec, m, re) {
  const before = dec.framebuffer.slice();
  const seq = dec.lastSeq;
  await assert.rejects(dec.decode(m), (e) => e instanceof DecodeError && (!re || re.test(e.message)));
  assert.deepEqual(dec.framebuffer, before);
  assert.equal(dec.needsKeyframe, true);
  assert.equal(dec.lastSeq, seq);
}

test('FILL, RAW and a keyframe allocate an RGBA framebuffer', async () => {
  const dec = new ScreenDecoder();
  assert.equal(dec.framebuffer, null);
  const r = await dec.decode(update(0, W, H, [fill(0, 0, W, H, [1, 2, 3]), raw(1, 1, 1, 1, Uint8Array.of(10, 20, 30))], { keyframe: true }));
  assert.deepEqual(r, { type: 'update', dirty: [{ x: 0, y: 0, width: W, height: H }] });
  assert.equal(dec.width, W);
  assert.equal(dec.framebuffer.length, W * H * 4);
  assert.deepEqual(pixel(dec, 0, 0), [3, 2, 1, 255]);
  assert.deepEqual(pixel(dec, 1, 1), [30, 20, 10, 255]);
});

test('ZSTD undoes DELTA_UP and PLANAR', async () => {
  const dec = await synced();
  const w = 2, h = 2;
  // pixels (B, G, R): (1,2,3) (4,5,6) / (7,8,9) (10,11,12)
  const planes = Uint8Array.of(1, 4, 7 - 1, 10 - 4, 2, 5, 8 - 2, 11 - 5, 3, 6, 9 - 3, 12 - 6);
  await dec.decode(update(1, W, H, [{ op: 3, flags: 3, x: 0, y: 0, w, h, payload: zstdFrame(planes) }]));
  assert.deepEqual([pixel(dec, 0, 0), pixel(dec, 1, 0), pixel(dec, 0, 1), pixel(dec, 1, 1)],
    [[3, 2, 1, 255], [6, 5, 4, 255], [9, 8, 7, 255], [12, 11, 10, 255]]);
  const plain = Uint8Array.of(1, 2, 3, 4, 5, 6);
  await dec.decode(update(2, W, H, [{ op: 3, x: 2, y: 0, w: 2, h: 1, payload: zstdFrame(plain) }]));
  assert.deepEqual(pixel(dec, 3, 0), [6, 5, 4, 255]);
});

test('ZSTD undoes MED | PLANAR (subtract green, median edge predictor)', async () => {
  const dec = await synced();
  // pixels (B, G, R): (10,20,30) (12,22,35) / (9,21,29) (200,100,50); planes
  // B-G, G, R-G; at (1,1) the three predictor cases: c >= max, c <= min, between
  const residuals = Uint8Array.of(246, 0, 254, 112, 20, 2, 1, 78, 10, 3, 254, 195);
  await dec.decode(update(1, W, H, [{ op: 3, flags: 6, x: 3, y: 2, w: 2, h: 2, payload: zstdFrame(residuals) }]));
  assert.deepEqual([pixel(dec, 3, 2), pixel(dec, 4, 2), pixel(dec, 3, 3), pixel(dec, 4, 3)],
    [[30, 20, 10, 255], [35, 22, 12, 255], [29, 21, 9, 255], [50, 100, 200, 255]]);
  for (const flags of [4, 5, 7, 8, 14]) {
    await refused(await synced(), update(1, W, H, [{ op: 3, flags, x: 0, y: 0, w: 2, h: 2, payload: zstdFrame(residuals) }]), /op flags/);
  }
});

test('ZSTD refuses wrong sizes, trailing data and flags', async () => {
  const cases = [
    [zstdFrame(new Uint8Array(12), { declared: 13 }), /declares 13/],
    [concat(zstdFrame(new Uint8Array(12)), Uint8Array.of(0)), /unused data/],
    [Uint8Array.of(1, 2, 3, 4, 5, 6), /zstd frame/],
  ];
  for (const [payload, re] of cases) {
    await refused(await synced(), update(1, W, H, [{ op: 3, x: 0, y: 0, w: 2, h: 2, payload }]), re);
  }
  await refused(await synced(), update(1, W, H, [{ op: 3, flags: 4, x: 0, y: 0, w: 2, h: 2, payload: zstdFrame(new Uint8Array(12)) }]), /op flags/);
});

test('PALETTE unpacks indices, most significant bits first', async () => {
  const dec = await synced();
  const head = Uint8Array.of(2, 0, 3, 0, 10, 11, 12, 20, 21, 22, 30, 31, 32);
  // 5 pixels of 2 bits: 0 1 2 1 | 0 -> 0b00011001, 0b00000000
  await dec.decode(update(1, W, H, [{ op: 4, x: 0, y: 0, w: 5, h: 1, payload: concat(head, zstdFrame(Uint8Array.of(0b00011001, 0))) }]));
  assert.deepEqual([0, 1, 2, 3, 4].map((x) => pixel(dec, x, 0)[0]), [12, 22, 32, 22, 12]);
  const bad = concat(head, zstdFrame(Uint8Array.of(0b00011011, 0))); // index 3 of 3 colours
  await refused(dec, update(2, W, H, [{ op: 4, x: 0, y: 0, w: 5, h: 1, payload: bad }]), /past the palette/);
});

test('COPYs read the picture before the update; later ops paint over them', async () => {
  const dec = await synced();
  const before = dec.framebuffer.slice();
  const at = (fb, x, y) => Array.from(fb.subarray((y * W + x) * 4, (y * W + x) * 4 + 4));
  await dec.decode(update(1, W, H, [copy(0, 0, 1, 0, 4, 2), copy(1, 0, 0, 0, 4, 2), fill(0, 0, 1, 1, [9, 9, 9])]));
  assert.deepEqual(pixel(dec, 0, 0), [9, 9, 9, 255]);
  // the second COPY lands last where both write, with pre-update pixels
  assert.deepEqual(pixel(dec, 1, 0), at(before, 2, 0));
  assert.deepEqual(pixel(dec, 3, 1), at(before, 4, 1));
  assert.deepEqual(pixel(dec, 4, 0), at(before, 3, 0));
  await refused(dec, update(2, W, H, [copy(W - 1, 0, 0, 0, 2, 1)]), /outside the frame/);
});

test('COPYs moved in place equal a model that reads every source first', async () => {
  // Overlapping moves in every direction, one to four per update, some of
  // them writing where a later one reads (those take the snapshot path).
  const dec = await synced();
  let seed = 7;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let seq = 1; seq <= 400; seq++) {
    const model = new Uint32Array(dec.framebuffer.buffer.slice(0));
    const ops = [];
    const moves = [];
    for (let k = 1 + rnd(4); k > 0; k--) {
      const w = 1 + rnd(W), h = 1 + rnd(H);
      const m = { x: rnd(W - w + 1), y: rnd(H - h + 1), sx: rnd(W - w + 1), sy: rnd(H - h + 1), w, h };
      moves.push(m);
      ops.push(copy(m.sx, m.sy, m.x, m.y, w, h));
    }
    const sources = moves.map((m) => Array.from({ length: m.h }, (_, r) => model.slice(
      (m.sy + r) * W + m.sx, (m.sy + r) * W + m.sx + m.w)));
    moves.forEach((m, i) => sources[i].forEach((row, r) => model.set(row, (m.y + r) * W + m.x)));
    await dec.decode(update(seq, W, H, ops));
    assert.deepEqual(new Uint32Array(dec.framebuffer.buffer), model, `update ${seq}`);
  }
});

test('a bad op after good ones changes nothing', async () => {
  await refused(await synced(), update(1, W, H, [fill(0, 0, W, H, [1, 1, 1]), raw(0, 0, 1, 1, new Uint8Array(2))]), /RAW/);
});

test('deltas are skipped until a keyframe, which recovers', async () => {
  const dec = await synced();
  await refused(dec, update(1, W, H, [raw(0, 0, 1, 1, new Uint8Array(1))]));
  const r = await dec.decode(update(2, W, H, [fill(0, 0, 1, 1, [0, 0, 0])]));
  assert.equal(r.skipped, true);
  assert.equal(dec.skipped, 1);
  await dec.decode(update(9, W, H, [fill(0, 0, W, H, [5, 6, 7])], { keyframe: true }));
  assert.equal(dec.needsKeyframe, false);
  assert.equal(dec.lastSeq, 9);
  await dec.decode(update(10, W, H, [fill(0, 0, 1, 1, [0, 0, 0])]));
  assert.deepEqual(pixel(dec, 0, 0), [0, 0, 0, 255]);
});

test('sequence numbers: a gap is refused, an empty delta does not count', async () => {
  const dec = await synced();
  await dec.decode(update(1, W, H, []));
  assert.equal(dec.lastSeq, 0);
  await dec.decode(update(1, W, H, [fill(0, 0, 1, 1, [0, 0, 0])]));
  assert.equal(dec.lastSeq, 1);
  await refused(dec, update(3, W, H, [fill(0, 0, 1, 1, [0, 0, 0])]), /lost/);
});

test('delta before a keyframe, size change and version are refused', async () => {
  const dec = new ScreenDecoder();
  await assert.rejects(dec.decode(update(0, W, H, [fill(0, 0, 1, 1, [0, 0, 0])])), /before any keyframe/);
  await refused(await synced(), update(1, W + 1, H, [fill(0, 0, 1, 1, [0, 0, 0])]), /without a keyframe/);
  await refused(await synced(), message(1, new Uint8Array(16), { version: 2 }), /version/);
});

test('unknown message types are skipped by their length', async () => {
  const dec = await synced();
  const r = await dec.decode(message(42, new Uint8Array(100)));
  assert.deepEqual(r, { type: 'ignored', dirty: [] });
  assert.equal(dec.needsKeyframe, false);
  assert.equal(dec.ignored, 1);
});

test('HASH: a match applies, a mismatch restores every rect', async () => {
  const dec = await synced();
  const ops = [copy(2, 2, 0, 0, 3, 3), fill(1, 1, 4, 4, [1, 2, 3])];
  const scratch = await synced();
  await scratch.decode(update(1, W, H, ops));
  const right = xxh3(rgbaToBgrx(scratch.framebuffer));
  await refused(dec, update(1, W, H, ops, { hash: right ^ 1n }), /hash/);
  const again = await synced();
  await again.decode(update(1, W, H, ops, { hash: right }));
  assert.deepEqual(again.framebuffer, scratch.framebuffer);
  assert.ok(IntegrityError.prototype instanceof DecodeError);
});

test('ZSTREAM: RESET, continuation, position and a short first op', async () => {
  const dec = await synced();
  const a = Uint8Array.of(1, 2, 3);
  await dec.decode(update(1, W, H, [{ op: 7, flags: 1, x: 0, y: 0, w: 1, h: 1, payload: zstreamPayload(0, a, { reset: true }) }]));
  assert.deepEqual(pixel(dec, 0, 0), [3, 2, 1, 255]);
  await dec.decode(update(2, W, H, [{ op: 7, x: 1, y: 0, w: 2, h: 1, payload: zstreamPayload(3, Uint8Array.of(4, 5, 6, 7, 8, 9)) }]));
  assert.deepEqual(pixel(dec, 2, 0), [9, 8, 7, 255]);
  await refused(dec, update(3, W, H, [{ op: 7, x: 0, y: 0, w: 1, h: 1, payload: zstreamPayload(3, a) }]), /position/);
  // the stream is dropped with the refusal: a continuation needs a RESET
  await dec.decode(update(4, W, H, [fill(0, 0, W, H, [0, 0, 0])], { keyframe: true }));
  await refused(dec, update(5, W, H, [{ op: 7, x: 0, y: 0, w: 1, h: 1, payload: zstreamPayload(9, a) }]), /no stream/);
});

test('cursor shapes are cached by id, positions are signed', async () => {
  const dec = new ScreenDecoder();
  const r = await dec.decode(cursorShape(5n, 2, 1, 1, 0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)));
  assert.equal(r.type, 'cursor-shape');
  const s = dec.cursor.shapes.get(5n);
  assert.deepEqual([s.width, s.height, s.hotX, s.hotY], [2, 1, 1, 0]);
  assert.deepEqual(Array.from(s.rgba), [3, 2, 1, 4, 7, 6, 5, 8]);
  await dec.decode(cursorPosition(-5, 7, 5n, 1));
  assert.deepEqual([dec.cursor.x, dec.cursor.y, dec.cursor.shapeId, dec.cursor.visible], [-5, 7, 5n, true]);
  assert.equal(dec.cursor.shape, s);
  for (let i = 0; i < 70; i++) await dec.decode(cursorShape(BigInt(100 + i), 1, 1, 0, 0, new Uint8Array(4)));
  assert.equal(dec.cursor.shapes.size, 64);
  assert.equal(dec.cursor.shapes.has(5n), false);
  await assert.rejects(dec.decode(cursorPosition(0, 0, 1n, 2)), /visibility/);
  assert.equal(dec.needsKeyframe, true);
  await assert.rejects(dec.decode(cursorShape(0n, 1, 1, 0, 0, new Uint8Array(4))), /id 0/);
  await assert.rejects(dec.decode(cursorShape(1n, 1, 1, 1, 0, new Uint8Array(4))), /hotspot/);
  await assert.rejects(dec.decode(cursorShape(1n, 257, 1, 0, 0, new Uint8Array(257 * 4))), /cursor size/);
});

function videoOp(x, y, w, h, { idr = true, stream = 1, frame = 0, flags = 0 } = {}) {
  const head = concat(Uint8Array.of(1, (idr ? 1 : 0) | flags), le(stream, 2), le(frame, 4));
  return { op: 6, x, y, w, h, payload: concat(head, Uint8Array.of(0, 0, 0, 1, 0x65)) };
}

function fakeSink(colour = [10, 20, 30, 255]) {
  const calls = [];
  return {
    calls,
    resets: 0,
    async decode(op) {
      calls.push(op);
      const data = new Uint8ClampedArray(op.width * op.height * 4);
      for (let i = 0; i < data.length; i += 4) data.set(colour, i);
      return { width: op.width, height: op.height, data };
    },
    reset() {
      this.resets += 1;
    },
  };
}

test('VIDEO goes through the sink with its stream rules', async () => {
  const sink = fakeSink();
  const dec = new ScreenDecoder({ video: sink });
  await dec.decode(update(0, W, H, [videoOp(0, 0, W, H)], { keyframe: true }));
  assert.deepEqual(pixel(dec, 3, 3), [10, 20, 30, 255]);
  assert.equal(sink.calls[0].keyframe, true);
  assert.equal(sink.calls[0].stream, 1);
  assert.deepEqual(Array.from(sink.calls[0].payload), [0, 0, 0, 1, 0x65]);
  await dec.decode(update(1, W, H, [videoOp(0, 0, 4, 4, { idr: false, frame: 1 })]).slice())
    .then(() => assert.fail('a size change without IDR'), (e) => assert.match(e.message, /format/));
  await dec.decode(update(2, W, H, [videoOp(0, 0, W, H)], { keyframe: true }));
  await dec.decode(update(3, W, H, [videoOp(0, 0, W, H, { idr: false, frame: 1 })]));
  await assert.rejects(dec.decode(update(4, W, H, [videoOp(0, 0, W, H, { idr: false, frame: 5 })])), /frame 5, expected 2/);
  assert.ok(sink.resets >= 1);
  await assert.rejects(dec.decode(update(5, W, H, [videoOp(0, 0, W, H, { idr: false })], { keyframe: true })), /not an IDR/);
  await assert.rejects(dec.decode(update(6, W, H, [fill(0, 0, W, H, [0, 0, 0]), videoOp(0, 0, 3, 2)], { keyframe: true })), /cannot hold/);
});

test('VIDEO without a sink, or a picture of the wrong size, is refused', async () => {
  await assert.rejects(new ScreenDecoder().decode(update(0, W, H, [videoOp(0, 0, W, H)], { keyframe: true })), /no video sink/);
  const liar = { async decode() { return { width: 2, height: 2, data: new Uint8ClampedArray(16) }; }, reset() {} };
  await assert.rejects(new ScreenDecoder({ video: liar }).decode(update(0, W, H, [videoOp(0, 0, W, H)], { keyframe: true })), /not 8x6/);
  const thrower = { async decode() { throw new TypeError('boom'); }, reset() {} };
  await assert.rejects(new ScreenDecoder({ video: thrower }).decode(update(0, W, H, [videoOp(0, 0, W, H)], { keyframe: true })), DecodeError);
});

test('decode calls apply in call order without awaiting each', async () => {
  const dec = new ScreenDecoder();
  const results = await Promise.allSettled([
    dec.decode(update(0, W, H, [fill(0, 0, W, H, [1, 1, 1])], { keyframe: true })),
    dec.decode(update(1, W, H, [raw(0, 0, 1, 1, new Uint8Array(1))])),
    dec.decode(update(2, W, H, [fill(0, 0, W, H, [2, 2, 2])], { keyframe: true })),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(pixel(dec, 0, 0), [2, 2, 2, 255]);
});

test('maxPixels and maxMessage limit what a decoder takes', async () => {
  const dec = new ScreenDecoder({ maxPixels: 100, maxMessage: 1000 });
  await assert.rejects(dec.decode(update(0, 11, 10, [fill(0, 0, 11, 10, [0, 0, 0])], { keyframe: true })), /pixels/);
  await assert.rejects(dec.decode(update(0, 10, 10, [raw(0, 0, 10, 10, new Uint8Array(300)), raw(0, 0, 10, 10, new Uint8Array(300)), raw(0, 0, 10, 10, new Uint8Array(300)), raw(0, 0, 10, 10, new Uint8Array(300))], { keyframe: true })), /exceeds the limit/);
});

test('feed() takes a byte stream in any chunks and recovers after junk', async () => {
  const key = (seq, c) => update(seq, W, H, [fill(0, 0, W, H, c)], { keyframe: true });
  const stream = concat(key(0, [1, 1, 1]), update(1, W, H, [fill(0, 0, 1, 1, [2, 2, 2])]),
    Uint8Array.of(0x6a, 0x75, 0x6e, 0x6b, 0, 0, 0, 0, 9), key(7, [3, 3, 3]), cursorPosition(1, 2, 0n));
  const dec = new ScreenDecoder();
  let errors = 0;
  for (let i = 0; i < stream.length; i += 5) {
    await dec.feed(stream.subarray(i, i + 5)).catch((e) => {
      assert.ok(e instanceof DecodeError);
      errors += 1;
    });
  }
  assert.equal(errors, 1);
  assert.equal(dec.needsKeyframe, false);
  assert.equal(dec.lastSeq, 7);
  assert.deepEqual(pixel(dec, 0, 0), [3, 3, 3, 255]);
  assert.deepEqual([dec.cursor.x, dec.cursor.y], [1, 2]);
});

test('decode() takes an ArrayBuffer as a WebSocket delivers it', async () => {
  const dec = new ScreenDecoder();
  const m = update(0, W, H, [fill(0, 0, W, H, [1, 2, 3])], { keyframe: true });
  await dec.decode(m.slice().buffer);
  assert.deepEqual(pixel(dec, 0, 0), [3, 2, 1, 255]);
  await assert.rejects(dec.decode('text'), TypeError);
});
