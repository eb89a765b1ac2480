// The COPY op: move pixels already on the viewer's screen (scrolls, window
// moves). Every COPY of an update reads the framebuffer as it was before the
// update (docs/protocol.md).

import { DecodeError } from './errors.js';
import { readRect, writeRect } from './pixels.js';

export function prepareCopy(op, width, height) {
  if (op.flags) throw new DecodeError(`COPY: unknown op flags 0x${op.flags.toString(16).padStart(2, '0')}`);
  if (op.payload.length !== 4) throw new DecodeError(`COPY: payload of ${op.payload.length} bytes, expected 4`);
  const sx = op.payload[0] | (op.payload[1] << 8);
  const sy = op.payload[2] | (op.payload[3] << 8);
  if (sx + op.w > width || sy + op.h > height) {
    throw new DecodeError(`COPY: source ${sx},${sy} ${op.w}x${op.h} outside the frame`);
  }
  return { copyFrom: { x: sx, y: sy } };
}

function overlaps(ax, ay, bx, by, w1, h1, w2, h2) {
  return ax < bx + w2 && bx < ax + w1 && ay < by + h2 && by < ay + h1;
}

/** Move one rect inside the framebuffer, source and destination possibly
 * overlapping: rows in the order that never overwrites a row still to be
 * read, and copyWithin (which moves as if through a buffer) within a row. */
function moveRect(fb32, fbWidth, c) {
  const row = (r) => {
    const from = (c.sy + r) * fbWidth + c.sx;
    fb32.copyWithin((c.y + r) * fbWidth + c.x, from, from + c.w);
  };
  if (c.sy < c.y) for (let r = c.h - 1; r >= 0; r--) row(r);
  else for (let r = 0; r < c.h; r++) row(r);
}

/**
 * Apply an update's COPYs ({x, y, w, h, sx, sy}, in op order), each reading
 * the framebuffer as it was before the update. When no COPY writes where a
 * later one reads (a scroll and the pieces around it, a moved window), each
 * moves in place, in order: a 1080p scroll is then one pass over the
 * framebuffer instead of three (a zeroed copy of the source, the copy, the
 * write). Otherwise every source is read first.
 */
export function applyCopies(fb32, fbWidth, copies) {
  const tangled = copies.some((a, i) => copies.some((b, j) => j > i
    && overlaps(a.x, a.y, b.sx, b.sy, a.w, a.h, b.w, b.h)));
  if (!tangled) {
    for (const c of copies) moveRect(fb32, fbWidth, c);
    return;
  }
  const sources = copies.map((c) => readRect(fb32, fbWidth, c.sx, c.sy, c.w, c.h));
  copies.forEach((c, i) => writeRect(fb32, fbWidth, c.x, c.y, c.w, c.h, sources[i]));
}
