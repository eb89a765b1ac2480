// Framing, header and structure checks (decoder/wire.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, LimitError } from '../../../src/screencodec/web/static/decoder/errors.js';
import {
  MessageReader, coversFrame, parseUpdate, readHeader, splitFrame,
} from '../../../src/screencodec/web/static/decoder/wire.js';
import { concat, copy, fill, le, message, update } from './build.mjs';

const body = (m) => m.subarray(8);

test('readHeader checks magic and length only', () => {
  const m = message(9, new Uint8Array(3), { version: 7 });
  assert.deepEqual(readHeader(m), { version: 7, type: 9, length: 3 });
  assert.throws(() => readHeader(m.subarray(0, 7)), /truncated header/);
  assert.throws(() => readHeader(message(1, new Uint8Array(0), { magic: [0x58, 0x58] })), /bad magic/);
  assert.throws(() => readHeader(message(1, new Uint8Array(20)), 10), LimitError);
});

test('splitFrame refuses truncation and trailing bytes', () => {
  const m = message(1, new Uint8Array(5));
  assert.equal(splitFrame(m).body.length, 5);
  assert.throws(() => splitFrame(m.subarray(0, 12)), /truncated message/);
  assert.throws(() => splitFrame(concat(m, Uint8Array.of(0))), /trailing/);
});

test('parseUpdate reads ops and checks every field', () => {
  const u = parseUpdate(body(update(7, 4, 3, [fill(0, 0, 4, 3, [1, 2, 3])], { keyframe: true })));
  assert.equal(u.sequence, 7);
  assert.equal(u.keyframe, true);
  assert.equal(u.ops.length, 1);
  assert.deepEqual([u.ops[0].x, u.ops[0].y, u.ops[0].w, u.ops[0].h], [0, 0, 4, 3]);
  const cases = [
    [update(0, 4, 3, [], { flags: 4 }), /unknown update flags/],
    [update(0, 4, 3, [], { reserved: 1 }), /reserved/],
    [update(0, 0, 3, []), /frame size/],
    [update(0, 4, 3, [{ op: 8, x: 0, y: 0, w: 1, h: 1, payload: new Uint8Array(0) }]), /unknown op 8/],
    [update(0, 4, 3, [fill(3, 0, 2, 1, [0, 0, 0])]), /outside/],
    [update(0, 4, 3, [fill(0, 0, 0, 1, [0, 0, 0])]), /outside/],
    [update(0, 4, 3, Array(5).fill(fill(0, 0, 4, 3, [0, 0, 0]))), /cover more than 4x/],
    [update(0, 4, 3, [fill(0, 0, 4, 2, [0, 0, 0])], { keyframe: true }), /do not cover/],
    [update(0, 4, 3, [fill(0, 0, 4, 3, [0, 0, 0]), copy(0, 0, 0, 0, 1, 1)], { keyframe: true }), /COPY/],
  ];
  for (const [m, re] of cases) assert.throws(() => parseUpdate(body(m)), re);
  const good = update(0, 4, 3, [fill(0, 0, 1, 1, [0, 0, 0])]);
  assert.throws(() => parseUpdate(body(good).subarray(0, body(good).length - 1)), /truncated/);
  assert.throws(() => parseUpdate(concat(body(good), Uint8Array.of(0))), /stray bytes/);
  // an op count that cannot fit is refused before any op is read
  const lying = body(good).slice();
  lying.set(le(1e9, 4), 12);
  assert.throws(() => parseUpdate(lying), /op count/);
});

test('parseUpdate honours the configured size limits', () => {
  assert.throws(() => parseUpdate(body(update(0, 65, 1, [])), 64, 64), /frame size 65x1/);
});

test('coversFrame measures the union, not the areas', () => {
  const r = (x, y, w, h) => ({ x, y, w, h });
  assert.equal(coversFrame([r(0, 0, 4, 4)], 4, 4), true);
  assert.equal(coversFrame([r(0, 0, 2, 4), r(2, 0, 2, 4)], 4, 4), true);
  assert.equal(coversFrame([r(0, 0, 3, 4), r(0, 0, 3, 4), r(1, 1, 2, 2)], 4, 4), false);
  assert.equal(coversFrame([r(0, 0, 4, 2), r(0, 1, 4, 2), r(0, 3, 4, 1)], 4, 4), true);
  assert.equal(coversFrame([], 4, 4), false);
});

test('MessageReader splits any chunking and checks headers first', () => {
  const a = message(1, Uint8Array.of(1, 2, 3));
  const b = message(3, new Uint8Array(17));
  const stream = concat(a, b, a);
  for (const size of [1, 2, 7, 8, 9, 100]) {
    const reader = new MessageReader();
    const got = [];
    for (let i = 0; i < stream.length; i += size) got.push(...reader.feed(stream.subarray(i, i + size)));
    assert.deepEqual(got.map((m) => m.length), [a.length, b.length, a.length]);
    assert.equal(reader.pending, 0);
  }
  const reader = new MessageReader(1000);
  assert.throws(() => reader.feed(concat(Uint8Array.of(0x53, 0x43, 1, 1), le(1001, 4))), DecodeError);
  assert.throws(() => new MessageReader().feed(Uint8Array.of(0x58, 0x58, 1, 1, 0, 0, 0, 0)), /bad magic/);
});

test('MessageReader resynchronises at the next keyframe after lost framing', async () => {
  const { update: upd, fill: f } = await import('./build.mjs');
  const delta = upd(1, 4, 4, [f(0, 0, 1, 1, [0, 0, 0])]);
  const key = upd(2, 4, 4, [f(0, 0, 4, 4, [1, 2, 3])], { keyframe: true });
  // a header that looks like a keyframe's inside the junk: found, refused
  // by the caller (reject), and the search goes on to the real one
  const fake = concat(Uint8Array.of(0x53, 0x43, 1, 1), le(30, 4), le(0, 4), le(1, 2), le(8, 2), le(8, 2), le(0, 2), le(1, 4));
  const reader = new MessageReader();
  reader.push(concat(delta, Uint8Array.of(0x58, 0x58, 0x58), fake, new Uint8Array(40), key, delta));
  assert.equal(reader.pop().length, delta.length);
  assert.throws(() => reader.pop(), /framing is lost/);
  assert.equal(reader.synced, false);
  const found = reader.pop();
  assert.equal(found.length, 8 + 30);
  assert.deepEqual(Array.from(found.subarray(0, 8)), Array.from(fake.subarray(0, 8)));
  reader.reject();
  assert.deepEqual(Array.from(reader.pop()), Array.from(key));
  assert.equal(reader.synced, true);
  assert.deepEqual(Array.from(reader.pop()), Array.from(delta));
  assert.equal(reader.pop(), null);
});

test('feed() hands back the messages before a bad header with its error', () => {
  const a = message(3, new Uint8Array(17));
  const reader = new MessageReader();
  let error;
  try {
    reader.feed(concat(a, Uint8Array.of(0x58, 0x58, 1, 1, 0, 0, 0, 0)));
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof DecodeError);
  assert.equal(error.messages.length, 1);
});
