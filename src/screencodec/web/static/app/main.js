// The web viewer page: one WebSocket to the Python viewer. Binary frames are
// the host's wire messages, decoded by ScreenDecoder (static/decoder) in a
// worker (app/decoding.js, static/worker), in order; each UPDATE is answered
// with `applied` once the canvas shows it, which is what the host's flow
// control runs on. The main thread only draws what the worker sends, so the
// socket, the receipts and the agent's input never wait behind a decode.

import { DecodeWorker } from "./decoding.js";
import { Input } from "./input.js";
import { Link } from "./link.js";
import { Renderer } from "./render.js";
import { refusalText } from "./refusal.js";
import { parseServerMessage } from "./schema.js";
import { PageClipboard } from "./clipboard.js";
import { Timeline } from "./timeline.js";
import { CUT, shownText, UI } from "./ui.js";

const CHUNK = 256 * 1024;
const MAX_BUFFERED = 4 << 20;

// Figures for the stats overlay and for tests/benchmarks (read-only use).
const page = {
  applied: 0, refused: 0, decodeMs: [], probe: null, level: null, ended: null,
  banner: null, width: 0, height: 0, bytes: 0, videoOps: 0, connected: false, closed: false,
  playback: null, position: null, events: 0, notice: null, unavailable: "", verdict: null,
  pictured: false, blanks: 0, workerFailures: 0, keptMs: null, refusal: null, reconnecting: false,
};
window.screencodecPage = page;

export async function main({ key, base, save }) {
  const $ = (id) => document.getElementById(id);
  // The worker draws into the screen canvas itself, transferred to it
  // ("offscreen"); where a browser cannot transfer a canvas, it sends
  // ImageBitmaps that are drawn here ("bitmap", which costs the main thread
  // the bitmaps' upload: benchmarks/test_bench_web_worker.py). A measurement
  // may choose before the page loads (screencodecDrawMode).
  const canTransfer = typeof HTMLCanvasElement.prototype.transferControlToOffscreen === "function";
  const mode = canTransfer && globalThis.screencodecDrawMode !== "bitmap" ? "offscreen" : "bitmap";
  const renderer = new Renderer($("screen"), $("cursor"), $("viewport"), {
    mode, repaint: () => decoding.repaint(),
  });
  // The page's socket is made once the first worker is ready; a worker that
  // fails before (the start fails: said below) has nothing to ask of it.
  let send = () => {};
  const decoding = new DecodeWorker({
    url: `${base}worker/main.js`, mode, canvas: () => renderer.offscreen(),
    onAnswer: (entry, m) => answered(entry, m),
    onLost: (entry, reason) => lost(entry, reason),
    // The screen's context came back in the worker (which painted it again):
    // the page's element says so, as a canvas drawn here would.
    onRestored: () => renderer.screen.dispatchEvent(new Event("contextrestored")),
    onFailed: (reason) => {
      page.workerFailures++;
      console.warn("decoder worker failed:", reason);
      send({ t: "keyframe" }); // the new worker has no picture to build on
    },
  });
  let probe;
  try {
    probe = await decoding.start();
  } catch (e) {
    console.warn("decoder worker:", e && e.message);
    $("boot-error").textContent = "This browser could not start the viewer's decoder: reload the page.";
    $("boot-error").hidden = false;
    return;
  }
  page.probe = probe;
  page.readPixels = () => (mode === "offscreen" ? decoding.read() : Promise.resolve(renderer.read()));
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  send = (obj) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  };
  let control = false;
  let nextUpload = 1;
  // Uploads the page copies to the view process, until the bridge has taken
  // them on (a file_progress past "uploading"): id -> their row.
  const uploads = new Map();
  // The view process takes at most this many uploads open at once (web/files.py
  // _MAX_OPEN_UPLOADS: a fifth is a page breaking the protocol, its socket closed):
  // files chosen together beyond it wait in their rows, "waiting", for their turn.
  const MAX_OPEN_UPLOADS = 4;
  const queued = [];
  let copying = 0;
  // Uploads the agent cancelled while the page copied them: the copy stops.
  const cancelled = new Set();
  const ui = new UI({
    control: (want) => {
      if (!want) input.releaseAll(); // while the grant still lets the releases through
      send({ t: "control", want });
    },
    scale: (mode) => renderer.setMode(mode),
    monitor: (index) => send({ t: "monitor", index }),
    chat: (text) => send({ t: "chat", text }),
    leave: () => send({ t: "bye" }),
    answerFile: (id, accept) => send({ t: "file_answer", id, accept }),
    fileUrl: (id) => `${base}files/${id}`,
    sendFiles: (files) => timeline || files.forEach((f) => queueUpload(f)),
    cancelUpload: (id) => cancelUpload(id),
    // A host's file being received (rstop36): the view process stops it.
    cancelDownload: (id) => send({ t: "download_cancel", id }),
  });
  let timeline = null; // playing a recording (set by the `playback` message)
  const sendInput = (obj) => {
    send(obj);
    ui.inputSent();
  };
  const input = new Input($("screen"), $("ime"), renderer, sendInput, () => control);
  renderer.onScreen = (fresh) => {
    input.attach(fresh);
    fresh.addEventListener("pointerdown", () => input.focus());
  };
  page.ui = ui; // tests shorten the notices' timings through it
  const link = new Link(ui, $("viewport"));
  input.onDropped = () => link.inputDropped();
  // Clipboard sharing (clip39): Ctrl+V's text to the host, the host's to the agent's.
  const clip = new PageClipboard(send, (text) => {
    page.notice = text;
    ui.notice(text);
  });
  input.onPaste = (text) => clip.toHost(text);
  input.onPasteRefused = () =>
    clip.notice("Not pasted on the host: pasting needs control of it (Request control asks for it)");
  page.clip = clip;
  ui.status("Opening...");

  function queueUpload(file) {
    const id = nextUpload++;
    const row = ui.uploadRow(id, file.name, " waiting", true);
    uploads.set(id, row);
    queued.push({ id, file, row });
    nextUploads();
  }

  function nextUploads() {
    while (copying < MAX_OPEN_UPLOADS && queued.length && page.ended === null) {
      copying++;
      upload(queued.shift()).finally(() => {
        copying--;
        nextUploads();
      });
    }
  }

  // The agent's Cancel on an upload's row (cancel36): one still waiting its
  // turn goes nowhere; of one the page copies, the copy stops; the view
  // process is told, and its answer ends the row (it cancels its send, and
  // the host is told to drop what it has of the file).
  function cancelUpload(id) {
    const waiting = queued.findIndex((q) => q.id === id);
    if (waiting >= 0) {
      queued.splice(waiting, 1);
      uploads.delete(id);
      ui.uploadRow(id, "", " cancelled: you stopped it before it was sent", false);
      return;
    }
    cancelled.add(id);
    send({ t: "file_cancel", id });
  }

  // The view process closes an upload at its file_done, which reaches it before
  // any later file_offer (one socket, in order).
  async function upload({ id, file, row }) {
    send({ t: "file_offer", id, name: file.name.slice(0, 255) || "file", size: file.size });
    for (let off = 0; off < file.size; off += CHUNK) {
      while (ws.bufferedAmount > MAX_BUFFERED) await new Promise((r) => setTimeout(r, 20));
      const data = new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer());
      // After the waits: the session's end ("ended" below) says what became of
      // it; the agent's Cancel, the view process (its file_cancel went).
      if (ws.readyState !== WebSocket.OPEN || page.ended !== null || cancelled.has(id)) return;
      const frame = new Uint8Array(4 + data.length);
      new DataView(frame.buffer).setUint32(0, id);
      frame.set(data, 4);
      ws.send(frame);
      row.state.textContent = ` uploading ${Math.floor((100 * Math.min(off + CHUNK, file.size)) / Math.max(file.size, 1))}%`;
    }
    send({ t: "file_done", id });
  }

  // Binary frames go to the worker as they come, and its answers come back
  // strictly in order; a `blank` (a recording's moment without a picture)
  // takes its place among them.

  // No picture at this moment: the screen must not keep a later one (for an
  // auditor, that would be wrong evidence). The decoder keeps its frame: the
  // server's next picture is a keyframe, drawn whole.
  function blank() {
    renderer.clear();
    page.pictured = false;
    page.width = 0;
    page.height = 0;
    page.blanks++;
    if (timeline) ui.status(timeline.status(false));
  }

  function refused(text) {
    page.refused++;
    console.warn("update refused:", text);
    send({ t: "applied", ok: false, w: 0, h: 0 });
  }

  let frameVideoOps = 0;
  function answered(entry, m) {
    if (m.t === "painted") {
      if (entry.t === "blank") blank();
      else renderer.repainted(m.tiles, m.width, m.height);
      return;
    }
    frameVideoOps += m.pictures;
    page.videoOps += m.pictures;
    switch (m.kind) {
      case "update": {
        const drawMs = renderer.draw(m.tiles, m.width, m.height);
        page.decodeMs.push(m.ms + drawMs);
        if (page.decodeMs.length > 10000) page.decodeMs.splice(0, 5000);
        page.width = m.width;
        page.height = m.height;
        page.applied++;
        page.pictured = true;
        send({ t: "applied", ok: true, w: m.width, h: m.height });
        break;
      }
      case "skipped": // a delta after a refusal: not applied; the keyframe is on its way
        page.refused++;
        send({ t: "applied", ok: false, w: 0, h: 0 });
        break;
      case "refused":
        refused(m.error);
        break;
      case "cursor":
        renderer.setCursor(m.cursor);
        break;
    }
  }

  // The link to the host was lost: the digest of the picture the decoder
  // holds (which it adopts), for the resumed session's host to send only
  // the tiles that differ; w and h 0 and no tiles when there is none.
  async function keep(n, keyHex) {
    const key = new Uint8Array(16);
    for (let i = 0; i < 16; i++) key[i] = parseInt(keyHex.slice(2 * i, 2 * i + 2), 16);
    const kept = await decoding.keep(key);
    if (!kept) {
      send({ t: "kept", n, w: 0, h: 0, tiles: "" });
      return;
    }
    page.keptMs = kept.ms;
    let s = "";
    for (let i = 0; i < kept.digests.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, kept.digests.subarray(i, i + 0x8000));
    }
    send({ t: "kept", n, w: kept.width, h: kept.height, tiles: btoa(s) });
  }

  // What a failed worker never answered.
  function lost(entry, reason) {
    if (entry.t === "blank") blank();
    else if (entry.t === "decode" && entry.isUpdate) refused(reason);
  }

  ws.onopen = () => {
    send({ t: "hello", key, h264_444: probe.h264_444, h264_420: probe.h264_420, zstream: true });
  };
  // walk40: the viewer program says "alive" each second while the page
  // shows "Connected"; heard from by nothing for BRIDGE_SILENT_MS (stopped,
  // hung), the page says so instead of "Connected" over a still picture.
  const BRIDGE_SILENT_MS = 3500;
  let heardAt = performance.now(); // the viewer program's last frame
  let alive = false; // it said alive since the last status: its silence means something
  let beforeSilence = null; // the status the silence line stands in for
  setInterval(() => {
    const quiet = performance.now() - heardAt;
    if (!alive || page.closed || page.ended || quiet < BRIDGE_SILENT_MS) return;
    if (beforeSilence === null) beforeSilence = document.getElementById("status").textContent;
    ui.status(`No word from the viewer program on this computer (screencodec view) for ${Math.floor(quiet / 1000)} s: the picture may not be live`);
  }, 500);
  ws.onmessage = (ev) => {
    heardAt = performance.now();
    if (beforeSilence !== null) {
      ui.status(beforeSilence);
      beforeSilence = null;
    }
    if (typeof ev.data !== "string") {
      page.bytes += ev.data.byteLength;
      decoding.decode(ev.data);
      return;
    }
    let m;
    try {
      m = parseServerMessage(ev.data);
    } catch (e) {
      ui.banner("error", "The viewer sent something this page does not understand; closing.");
      ws.close();
      return;
    }
    handleText(m);
  };
  let welcomed = false; // admitted: a close from now on is no refusal
  ws.onclose = (ev) => {
    page.connected = false;
    page.closed = true;
    control = false;
    ui.linked = false;
    const refusal = welcomed ? null : refusalText(ev.code);
    if (refusal !== null) {
      page.refusal = refusal;
      ui.notHere(refusal); // and nothing more: reloading or retrying would be refused again
      return;
    }
    link.set(false);
    ui.setLevel(false, false);
    ui.sessionOver(); // nothing more goes anywhere
    if (!page.ended) {
      ui.status("Not connected"); // not "Connected" beside the banner saying it is not
      ui.banner("error", page.banner || "The viewer program stopped or lost this page: if it still runs, reload; otherwise run screencodec view again.");
    }
  };

  function handleText(m) {
    switch (m.t) {
      case "welcome":
        welcomed = true;
        page.connected = true;
        ui.linked = true;
        if (!page.level && !ui.playback) ui.setLevel(false, false); // "Waiting", until a level comes
        save(m.resume);
        document.title = `screencodec viewer: ${shownText(m.who, { cut: CUT.title })}`;
        break;
      case "status":
        alive = false; // until the next "alive": the program says it only while "Connected"
        ui.status(m.text);
        break;
      case "alive":
        alive = true;
        break;
      case "level":
        if (m.control && ui.bannerKind === "revoked") page.banner = null; // taken down below
        control = m.control;
        page.level = { view: m.view, control: m.control };
        page.unavailable = m.unavailable || "";
        page.reconnecting = m.reconnecting === true;
        link.set(page.reconnecting);
        ui.setLevel(m.view, m.control, page.unavailable, page.reconnecting);
        if (!control) input.releaseAll();
        break;
      case "monitors":
        ui.monitors(m.list, m.current);
        break;
      case "stats":
        hostStats = m;
        break;
      case "ignored":
        ignoredInput = m.text; // shown by the stats panel, as the host's status line says it
        break;
      case "clip":
        clip.fromHost(m.text, m.reason);
        break;
      case "notice":
        if (!m.replayed) page.notice = m.text;
        ui.notice(m.text, Object.hasOwn(m, "code") ? m.code : null, m.replayed === true);
        break;
      case "chat":
        ui.chatLine(m.from, m.text, m.id ?? null, m.state ?? null);
        break;
      case "banner":
        page.banner = m.text;
        ui.banner(m.kind, m.text);
        // The host's figures are a lost or ended link's last: not shown as
        // if current (the next "stats" of a resumed link shows them again).
        if (m.kind === "lost" || m.kind === "ended" || m.kind === "error") hostStats = null;
        break;
      case "ended": {
        page.ended = m.reason;
        ui.status(timeline ? "Playback ended" : "Session ended");
        ui.sessionOver();
        // Its figures go at once, not at the next tick (words52).
        if (!timeline) showStats();
        if (link.down) {
          // Not taken up again: nothing is being restored, no level claimed.
          link.set(false);
          page.reconnecting = false;
          ui.setLevel(false, false);
        }
        if (!ui.playback && !(page.level && page.level.view)) ui.setLevel(false, false); // not "Waiting" any more
        // A file the page was still copying goes nowhere now: cancelled
        // when the agent left (web/run.py LEFT_HERE) or a signal stopped the
        // viewer program (its name, checked by schema.js: page51), else failed.
        const left = m.reason === "the agent left the session";
        const cut = m.stopped ? ` cancelled: the viewer program was stopped by ${m.stopped} before it was all sent`
          : left ? " cancelled: you left the session before it was all sent" : " failed: the session ended";
        for (const id of uploads.keys()) ui.uploadRow(id, "", cut, false);
        uploads.clear();
        break;
      }
      case "file_offer":
        ui.fileOffer(m.id, m.name, m.size, m.answered || null);
        break;
      case "file_received":
        ui.fileReceived(m.id, m.name, m.size, m.offer ?? null, m.saved ?? null);
        break;
      case "file_failed":
        // A host's file refused here, or accepted and not saved (disk full,
        // folder gone): the host is told too (docs/transport.md "File results").
        ui.fileFailed(m.id, m.name, m.size, shownText(m.text, { cut: CUT.text }), m.offer ?? null);
        break;
      case "playback":
        page.playback = { durationUs: m.duration_us, width: m.width, height: m.height };
        if (!timeline) timeline = new Timeline(send);
        ui.playbackMode();
        timeline.start(m);
        break;
      case "verdict":
        page.verdict = { kind: m.kind, text: m.text };
        ui.verdict(m.kind, m.text);
        break;
      case "position":
        page.position = { us: m.us, playing: m.playing, pct: m.pct };
        if (timeline) {
          timeline.position(m);
          ui.status(timeline.status(page.pictured));
        }
        break;
      case "blank":
        decoding.blank();
        break;
      case "kept":
        keep(m.n, m.key);
        break;
      case "event":
        page.events++;
        if (timeline) timeline.event(m);
        break;
      case "file_progress": {
        // "declined": the host's answer does not say whether its user was
        // asked (a host without a download directory refuses unasked); its
        // text, when there is one: "no answer in time". "sent": all of it
        // went, and the host did not say whether it saved it (one of the
        // previous version never does; the text: the session ended first).
        const why = m.text ? shownText(m.text, { cut: CUT.text }) : "";
        const text = {
          uploading: " uploading",
          // Its text: the host said it takes no files (files41): nobody is asked.
          offered: why ? ` offered to the host: ${why}` : " waiting for the user",
          sending: ` accepted by the host: sending ${m.pct ?? 0}%`,
          sent: why ? ` sent, but ${why}` : " sent (the host does not say whether it saved it)",
          // Its text: the name the host saved it as, when not the one sent (walk45).
          delivered: why ? ` delivered: the host saved it as ${why}` : " delivered: the host saved it",
          declined: ` not accepted by the host: ${why || "its user said no, or it takes no files (or none this large)"}`,
          failed: ` failed${why ? ": " + why : ""}`,
          // The agent left before it was all sent (web/bridge.py UPLOAD_LEFT).
          cancelled: ` cancelled${why ? ": " + why : ""}`,
        }[m.state];
        // The bridge's "uploading" comes while the page copies the file: its
        // row keeps the page's own "uploading N%" (a reloaded page shows the bridge's).
        // A row in progress has its Cancel button; an ended one none.
        const going = m.state === "uploading" || m.state === "offered" || m.state === "sending";
        if (m.state !== "uploading" || !uploads.has(m.id)) ui.uploadRow(m.id, m.name || "", text, going && !page.ended);
        if (m.state !== "uploading") uploads.delete(m.id);
        // Rows replayed to a reloaded page keep their numbers: new uploads go after them.
        nextUpload = Math.max(nextUpload, m.id + 1);
        break;
      }
    }
  }

  let hostStats = null;
  let ignoredInput = "";
  let lastApplied = 0;
  let lastBytes = 0;
  let lastDecode = 0;
  const showStats = () => {
    const n = page.applied - lastApplied;
    const ms = page.decodeMs.slice(lastDecode);
    const quality = frameVideoOps ? `video (${frameVideoOps} pictures/s)` : "lossless";
    ui.stats(hostStats, {
      fps: n, kbps: ((page.bytes - lastBytes) * 8) / 1000, quality,
      decodeMs: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : 0,
      width: page.width, height: page.height, ignored: ignoredInput,
    });
    lastApplied = page.applied;
    lastBytes = page.bytes;
    lastDecode = page.decodeMs.length;
    frameVideoOps = 0;
  };
  setInterval(showStats, 1000);
  addEventListener("pagehide", () => input.releaseAll());
  $("screen").addEventListener("pointerdown", () => input.focus());
}
