// The COPY op: move pixels already on the viewer's screen (scrolls, window
// moves). Every COPY of an update reads the framebuffer as it was before the
// update (docs/protocol.md), so index.js gathers all sources before it writes.

import { DecodeError } from './errors.js';

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
