// The page's digest of the picture it kept (static/decoder/kept.js) and its
// decoder's adoption of it (ScreenDecoder.keep), for
// tests/web/test_pagekept_digest.py, which compares them with Python's.
//
// Usage: node kept.mjs DIR. DIR/manifest.json holds `cases` ({ name, width,
// height, key (hex), rgba (a file of R, G, B, A bytes) }: digested as they
// are) and `streams` ({ name, key, before, after (files of wire messages),
// out }: `before` decoded, then keep(key), then `after`, the framebuffer
// written to `out`). Prints { digests: { name: hex }, streams: { name: {
// kept: hex or null, size, errors } } }.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScreenDecoder } from '../../../src/screencodec/web/static/decoder/index.js';
import { tileDigests } from '../../../src/screencodec/web/static/decoder/kept.js';

const dir = process.argv[2];
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const key = (h) => new Uint8Array(Buffer.from(h, 'hex'));

const digests = {};
for (const c of manifest.cases) {
  const rgba = new Uint8ClampedArray(readFileSync(join(dir, c.rgba)));
  digests[c.name] = hex(tileDigests(rgba, c.width, c.height, key(c.key)));
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
process.stdout.write(JSON.stringify({ digests, streams }));
