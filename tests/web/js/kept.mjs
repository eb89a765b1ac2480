// The page's digest of the picture it kept (static/decoder/kept.js) and its
// decoder's adoption of it (ScreenDecoder.keep), for
// tests/web/test_pagekept_digest.py, which compares them with Python's.
//
// Usage: node kept.mjs DIR. DIR/manifest.json holds `cases` ({ name, width,
// height, key (hex), rgba (a file of R, G, B, A bytes), and optionally kind
// (the BLAKE2b: 'wasm', 'blakejs') and keyAt (the key a view at that offset
// in a larger buffer) }: digested as they are), `bad` (optional: { name,
// width, height, length (of a zero picture, or null for none), key (hex, or
// an array of numbers passed as such), kind }) and `streams` ({ name, key,
// before, after (files of wire messages), out }: `before` decoded, then
// keep(key), then `after`, the framebuffer written to `out`). Prints {
// digests: { name: hex }, refused: { name: the error's class, or the digest's
// hex if none }, streams: { name: { kept: hex or null, size, errors } },
// kind: the BLAKE2b used by default }.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScreenDecoder } from '../../../src/screencodec/web/static/decoder/index.js';
import { blake2bKind, tileDigests } from '../../../src/screencodec/web/static/decoder/kept.js';

const dir = process.argv[2];
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const key = (h) => new Uint8Array(Buffer.from(h, 'hex'));

const digests = {};
for (const c of manifest.cases) {
  const rgba = new Uint8ClampedArray(readFileSync(join(dir, c.rgba)));
  let k = key(c.key);
  if (c.keyAt) {
    const wide = new Uint8Array(c.keyAt + k.length + 5).fill(0xa5);
    wide.set(k, c.keyAt);
    k = wide.subarray(c.keyAt, c.keyAt + k.length);
  }
  digests[c.name] = hex(await tileDigests(rgba, c.width, c.height, k, c.kind));
}

const refused = {};
for (const b of manifest.bad || []) {
  const rgba = b.length === null ? null : new Uint8ClampedArray(b.length);
  try {
    refused[b.name] = hex(await tileDigests(rgba, b.width, b.height, Array.isArray(b.key) ? b.key : key(b.key), b.kind));
  } catch (e) {
    refused[b.name] = e.constructor.name;
  }
}

const streams = {};
for (const s of manifest.streams) {
  const dec = new ScreenDecoder();
  const errors = [];
  const run = async (files) => {
    for (const f of files) {
      try {
        await dec.decode(readFileSync(join(dir, f)));
      } catch (e) {
        errors.push(`${f}: ${e.message}`);
      }
    }
  };
  await run(s.before);
  const kept = await dec.keep(key(s.key));
  await run(s.after);
  if (dec.framebuffer) writeFileSync(join(dir, s.out), dec.framebuffer);
  streams[s.name] = { kept: kept && hex(kept.digests), size: kept && [kept.width, kept.height], errors };
}
process.stdout.write(JSON.stringify({ kind: await blake2bKind(), digests, refused, streams }));
