// Decode time per update of the page's decoder, for
// benchmarks/test_bench_web_decoder.py: for each NAME.msgs in the directory,
// decode the stream `passes` times with a fresh decoder (the first passes
// warm the JIT up) and report the last pass's per-update times in ms.
//   node tests/web/js/bench_decode.mjs DIR [passes]

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScreenDecoder } from '../../../src/screencodec/web/static/decoder/index.js';
import { readMessages } from './crosscheck.mjs';

const dir = process.argv[2];
const passes = Number(process.argv[3] || 3);
const out = {};
for (const f of readdirSync(dir).filter((n) => n.endsWith('.msgs')).sort()) {
  const msgs = readMessages(join(dir, f));
  let times = [];
  for (let p = 0; p < passes; p++) {
    const dec = new ScreenDecoder();
    times = [];
    for (const m of msgs) {
      const t0 = performance.now();
      await dec.decode(m);
      times.push(performance.now() - t0);
    }
  }
  out[f.slice(0, -5)] = times;
}
console.log(JSON.stringify(out));
