// Strict validation of every JSON message from the Python viewer: each kind
// has exactly these fields, each of this type and within bounds. Strings are
// cut nowhere here: a string over its bound is refused (the server already
// bounds what it forwards from the host), and the page only ever shows them
// with textContent.

const str = (max) => (v) => typeof v === "string" && v.length <= max;
const bool = (v) => typeof v === "boolean";
const num = (lo, hi) => (v) => typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi;
const int = (lo, hi) => (v) => Number.isInteger(v) && v >= lo && v <= hi;
const oneOf = (...xs) => (v) => xs.includes(v);
const hex = (len) => (v) => typeof v === "string" && v.length === len && /^[0-9a-f]*$/.test(v);
const monitor = (v) => v !== null && typeof v === "object" && !Array.isArray(v) &&
  exact(v, { index: int(0, 64), width: int(1, 1 << 20), height: int(1, 1 << 20), primary: bool });
const list = (item, max) => (v) => Array.isArray(v) && v.length <= max && v.every(item);

const KINDS = {
  welcome: { resume: str(128), who: str(255) },
  status: { text: str(200) },
  alive: {}, // the viewer program runs: said each second while "Connected" (bridge.py)
  level: { view: bool, control: bool },
  monitors: { list: list(monitor, 64), current: int(0, 65535) },
  stats: { fps: num(0, 1e6), kbps: int(0, 2 ** 32), rtt: num(0, 1e7), skipped: int(0, 2 ** 32) },
  // The host's counts of the agent's input it ignored, in words (bridge.py, input46)
  ignored: { text: str(200) },
  notice: { text: str(1000) },
  chat: { from: oneOf("host", "me"), text: str(4000) },
  banner: { kind: oneOf("revoked", "ended", "error", "lost", "resumed"), text: str(1000) },
  ended: { reason: str(300) },
  file_offer: { id: int(0, 2 ** 32), name: str(255), size: int(0, 2 ** 53) },
  file_received: { id: int(0, 2 ** 32), name: str(255), size: int(0, 2 ** 53) },
  file_progress: { id: int(0, 2 ** 32), state: oneOf("uploading", "offered", "sending", "sent", "delivered", "declined", "failed", "cancelled") },
  file_failed: { id: int(0, 2 ** 32), name: str(255), size: int(0, 2 ** 53), text: str(200) },
  // Playing a recording (timeline.js)
  playback: { duration_us: int(0, 2 ** 42), width: int(0, 1 << 20), height: int(0, 1 << 20), name: str(255) },
  position: { us: int(0, 2 ** 42), playing: bool, pct: oneOf(50, 100, 200, 400) },
  event: { us: int(0, 2 ** 42), kind: str(32), text: str(1000) },
  blank: {}, // no picture at the position (before the first): the screen is cleared
  // What checking the recording found (web/playback.py page_verdict)
  verdict: { kind: oneOf("verified", "unverified"), text: str(1000) },
  // The link to the host was lost: the digest of the picture held, under this
  // 16-byte key (hex), answered with the same n (web/bridge.py ask_kept)
  kept: { n: int(1, 2 ** 32), key: hex(32) },
  // The host's user's clipboard (clipboard.js): 64 KiB of UTF-8 at most
  clip: { text: str(65536), reason: oneOf("command", "sync") },
};
// Optional fields (web/schema.py SERVER_FIELDS lists the same): file_progress
// may carry a reason, the upload's name and how much of it went ("sending"), level why control cannot be had
// and whether the link is being taken up again (reconnecting: app/link.js),
// notice the host's code and whether it is replayed to a reloaded page (its chat log only), a replayed file_offer the agent's answer,
// ended the signal that stopped the viewer program (SIGTERM, SIGHUP: not the agent's own leaving),
// file_received and file_failed the offer they answer (file_received where
// it is kept in the agent's folder, with --download-dir), the agent's own chat
// line its number and its state: held, waiting or lost (typed while the link
// was down or before the session was joined), sent, delivered, unconfirmed,
// undelivered or backlog (ui.js chatLine).
const OPTIONAL = {
  chat: { id: int(1, 2 ** 32), state: oneOf("held", "waiting", "lost", "sent", "delivered", "unconfirmed", "undelivered", "backlog") },
  file_progress: { text: str(200), name: str(255), pct: int(0, 100) },
  level: { unavailable: str(1000), reconnecting: bool },
  notice: { code: int(0, 65535), replayed: bool },
  file_offer: { answered: oneOf("accepted", "declined") },
  // The signal that stopped the viewer program, not the agent's own leaving (web/run.py STOPPED_BY)
  ended: { stopped: oneOf("SIGTERM", "SIGHUP") },
  file_received: { offer: int(0, 2 ** 32), saved: str(1000) },
  file_failed: { offer: int(0, 2 ** 32) },
};

// Own properties only: JSON.parse makes "__proto__" an own key, and `in`
// would find "toString" and friends on Object.prototype.
function exact(obj, fields, optional = {}) {
  for (const k of Object.keys(obj)) {
    if (!Object.hasOwn(fields, k) && !Object.hasOwn(optional, k)) return false;
  }
  for (const [k, check] of Object.entries(fields)) {
    if (!Object.hasOwn(obj, k) || !check(obj[k])) return false;
  }
  for (const [k, check] of Object.entries(optional)) {
    if (Object.hasOwn(obj, k) && !check(obj[k])) return false;
  }
  return true;
}

export class ServerMessageError extends Error {}

// Parse one text frame; throws ServerMessageError on anything off-spec.
export function parseServerMessage(text) {
  // A clip frame carries up to 64 KiB of text, each character escaped in 6 at most.
  const limit = typeof text === "string" && text.startsWith('{"t":"clip",') ? 6 * 65536 + 64 : 64 * 1024;
  if (typeof text !== "string" || text.length > limit) throw new ServerMessageError("frame too large");
  let obj;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ServerMessageError("not JSON");
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new ServerMessageError("not an object");
  const { t, ...rest } = obj;
  const fields = typeof t === "string" && Object.hasOwn(KINDS, t) ? KINDS[t] : null;
  if (!fields || !exact(rest, fields, OPTIONAL[t] || {})) throw new ServerMessageError(`bad message ${String(t).slice(0, 20)}`);
  return obj;
}
