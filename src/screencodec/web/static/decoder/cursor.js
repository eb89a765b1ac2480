// The cursor channel (CURSOR_SHAPE, CURSOR_POSITION): the page draws the
// pointer itself from these. Shapes are cached by id, the 64 most recently
// *received* (as the reference decoder, which the host mirrors to know when
// to send a shape again); showing a shape does not refresh it.

import { parseCursorPosition, parseCursorShape } from './wire.js';

export const CURSOR_CACHE = 64;

/**
 * The pointer as the host last described it. `shapeId` and the keys of
 * `shapes` are BigInt (the wire's 64-bit ids; 0n: unknown shape, draw the
 * default pointer). Each shape is `{ width, height, hotX, hotY, rgba }`,
 * `rgba` straight-alpha R, G, B, A.
 */
export class CursorState {
  constructor() {
    this.x = 0;
    this.y = 0;
    this.visible = false;
    this.shapeId = 0n;
    this.shapes = new Map();
  }

  /** The shape the pointer shows now, or null (default pointer). */
  get shape() {
    return this.shapes.get(this.shapeId) || null;
  }

  applyShape(body) {
    const s = parseCursorShape(body);
    const rgba = new Uint8ClampedArray(s.pixels.length);
    const p = s.pixels;
    for (let i = 0; i < p.length; i += 4) {
      rgba[i] = p[i + 2];
      rgba[i + 1] = p[i + 1];
      rgba[i + 2] = p[i];
      rgba[i + 3] = p[i + 3];
    }
    this.shapes.delete(s.shapeId);
    this.shapes.set(s.shapeId, { width: s.width, height: s.height, hotX: s.hotX, hotY: s.hotY, rgba });
    while (this.shapes.size > CURSOR_CACHE) this.shapes.delete(this.shapes.keys().next().value);
  }

  applyPosition(body) {
    const p = parseCursorPosition(body);
    this.x = p.x;
    this.y = p.y;
    this.shapeId = p.shapeId;
    this.visible = p.visible;
  }
}
