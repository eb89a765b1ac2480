// What both JS fuzzers share: arguments, a seeded PRNG, the seed streams
// make_seeds.py / make_med_seeds.py write, and a timed decode.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function parseArgs(argv) {
  const opts = { seconds: 10, iterations: Infinity, seed: 1, maxMs: 2000, dirs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') opts.seconds = Number(argv[++i]);
    else if (a === '--iterations') { opts.iterations = Number(argv[++i]); opts.seconds = Infinity; }
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (a === '--max-ms') opts.maxMs = Number(argv[++i]);
    else if (a === '--dump') opts.dump = argv[++i];
    else opts.dirs.push(a);
  }
  return opts;
}

/** mulberry32, so a failure replays by seed. */
export function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  return next;
}

export function readStreams(dirs) {
  const streams = [];
  for (const dir of dirs) {
    // feed-* streams hold chunks of a byte stream, not messages.
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.msgs') && !n.startsWith('feed-')).sort()) {
      const data = readFileSync(join(dir, f));
      const msgs = [];
      for (let pos = 0; pos < data.length;) {
        const n = data.readUInt32LE(pos);
        msgs.push(new Uint8Array(data.subarray(pos + 4, pos + 4 + n)));
        pos += 4 + n;
      }
      if (msgs.length) streams.push({ name: f.slice(0, -5), msgs });
    }
  }
  return streams;
}

/** Decode one message; its error or result, and whether it took too long. */
export async function timed(dec, msg, stats, maxMs) {
  const t0 = performance.now();
  let error = null;
  let result = null;
  try {
    result = await dec.decode(msg);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  return { error, result, slow: ms > maxMs, ms };
}
