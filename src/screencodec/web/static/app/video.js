// The decoder's sink for VIDEO ops: H.264 through WebCodecs' VideoDecoder, one
// decoder per video stream, configured from the stream's own SPS.
//
// Decoding is asked for in software ("prefer-software"), and the decoded
// planes are copied out and converted to RGBA here with the normative
// integer BT.709 full-range conversion of docs/protocol.md, not by the
// browser's colour pipeline: the picture is then the host's reference
// decode, byte for byte, wherever the H.264 decoder is bit-exact.

const OUTPUT_TIMEOUT_MS = 2000;
const MAX_STREAMS = 8;

export class VideoError extends Error {}

// What VideoDecoder can decode here: { h264_444, h264_420, detail }.
export async function probeVideo() {
  const detail = {};
  if (typeof VideoDecoder === "undefined") return { h264_444: false, h264_420: false, detail };
  const ask = async (name, codec) => {
    try {
      const r = await VideoDecoder.isConfigSupported({ codec, hardwareAcceleration: "prefer-software", optimizeForLatency: true });
      detail[name] = !!r.supported;
    } catch (e) {
      detail[name] = false;
    }
  };
  await ask("high444", "avc1.f40033");
  await ask("baseline420", "avc1.42e033");
  await ask("high420", "avc1.640033");
  return { h264_444: detail.high444, h264_420: detail.baseline420 && detail.high420, detail };
}

// profile_idc, constraint flags and level_idc of the first SPS in an Annex B unit.
function codecOf(payload) {
  for (let i = 0; i + 4 < payload.length; i++) {
    if (payload[i] === 0 && payload[i + 1] === 0 && payload[i + 2] === 1) {
      if ((payload[i + 3] & 0x1f) === 7 && i + 6 < payload.length) {
        const hex = (b) => b.toString(16).padStart(2, "0");
        return "avc1." + hex(payload[i + 4]) + hex(payload[i + 5]) + hex(payload[i + 6]);
      }
      i += 2;
    }
  }
  throw new VideoError("IDR access unit without an SPS");
}

// The conversion's chroma terms, by sample value (fixed point, 16 fraction bits).
const CR_R = new Int32Array(256);
const CB_G = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_B = new Int32Array(256);
for (let v = 0; v < 256; v++) {
  CR_R[v] = 103206 * (v - 128);
  CB_G[v] = -12276 * (v - 128);
  CR_G[v] = -30679 * (v - 128);
  CB_B[v] = 121609 * (v - 128);
}

// YUV planes (I420 or I444, 8 bit) -> RGBA with the protocol's integer formula.
// Storing into a Uint8ClampedArray is the formula's clamp to 0..255 (the
// values are integers, so its rounding never applies).
function toRGBA(buf, layout, format, width, height) {
  const out = new Uint8ClampedArray(width * height * 4);
  const sub = format === "I420" ? 1 : 0;
  const [py, pu, pv] = layout;
  let o = 0;
  for (let row = 0; row < height; row++) {
    const yRow = py.offset + row * py.stride;
    const cRow = row >> sub;
    const uRow = pu.offset + cRow * pu.stride;
    const vRow = pv.offset + cRow * pv.stride;
    for (let col = 0; col < width; col++) {
      const c = col >> sub;
      const y = buf[yRow + col] * 65536 + 32768;
      const u = buf[uRow + c];
      const v = buf[vRow + c];
      out[o] = (y + CR_R[v]) >> 16;
      out[o + 1] = (y + CB_G[u] + CR_G[v]) >> 16;
      out[o + 2] = (y + CB_B[u]) >> 16;
      out[o + 3] = 255;
      o += 4;
    }
  }
  return out;
}

class Stream {
  constructor(op) {
    this.waiting = [];
    this.failed = null;
    this.timestamp = 0;
    this.decoder = new VideoDecoder({
      output: (frame) => this.output(frame),
      error: (e) => this.fail(new VideoError(`video decoder: ${e.message}`)),
    });
    this.decoder.configure({ codec: codecOf(op.payload), hardwareAcceleration: "prefer-software", optimizeForLatency: true });
  }

  decode(op) {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new VideoError("video decoder gave no picture")), OUTPUT_TIMEOUT_MS);
      this.waiting.push({ op, resolve, reject, timer });
      try {
        this.decoder.decode(new EncodedVideoChunk({
          type: op.keyframe ? "key" : "delta", timestamp: this.timestamp++, data: op.payload,
        }));
      } catch (e) {
        this.fail(new VideoError(`video decoder: ${e.message}`));
      }
    });
  }

  async output(frame) {
    const w = this.waiting.shift();
    try {
      if (!w) throw new VideoError("a picture nobody asked for");
      clearTimeout(w.timer);
      const { op } = w;
      const width = frame.visibleRect.width;
      const height = frame.visibleRect.height;
      if (width !== op.width || height !== op.height) throw new VideoError(`picture of ${width}x${height} for a ${op.width}x${op.height} op`);
      if (frame.format !== "I420" && frame.format !== "I444") throw new VideoError(`unsupported picture format ${frame.format}`);
      const buf = new Uint8Array(frame.allocationSize());
      const layout = await frame.copyTo(buf);
      w.resolve({ width, height, data: toRGBA(buf, layout, frame.format, width, height) });
    } catch (e) {
      if (w) w.reject(e);
      this.fail(e);
    } finally {
      frame.close();
    }
  }

  fail(error) {
    this.failed = error;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
    this.close();
  }

  close() {
    if (this.decoder.state !== "closed") this.decoder.close();
  }
}

// The `video` sink of ScreenDecoder (see static/decoder/index.js).
export class WebCodecsVideo {
  constructor() {
    this.streams = new Map();
    this.pictures = 0;
  }

  async decode(op) {
    let stream = this.streams.get(op.stream);
    if (op.keyframe) {
      if (stream) stream.close();
      if (typeof VideoDecoder === "undefined") throw new VideoError("this browser has no WebCodecs");
      stream = new Stream(op);
      this.streams.delete(op.stream);
      this.streams.set(op.stream, stream);
      while (this.streams.size > MAX_STREAMS) {
        const [oldest, s] = this.streams.entries().next().value;
        s.close();
        this.streams.delete(oldest);
      }
    } else if (!stream || stream.failed) {
      throw new VideoError(`no state for video stream ${op.stream}`);
    }
    const picture = await stream.decode(op);
    this.pictures++;
    return picture;
  }

  reset() {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }
}
