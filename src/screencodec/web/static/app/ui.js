// The page's controls and panels. Every string that came from the host (chat,
// notices, file names, reasons) is shown with textContent only and was already
// bounded by the schema; nothing here ever parses HTML. The host's strings were
// cleaned by the Python side (safe_text); every string shown is cleaned and
// cut here the same way again (`shownText`), which leaves what Python cleaned
// as it is and bounds what it did not (the agent's files' names, a
// recording's rows); the agent's own chat lines are cleaned, not cut.

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// What safe_text (transport/channel/display.py) does to a peer's string, for
// the page's own: an escape sequence goes whole (what follows its ESC is its
// payload: "[8m", "]0;title") and becomes "?", whitespace becomes a space,
// every control, format (bidi overrides and isolates, zero-width characters),
// surrogate, private-use or unassigned character and the line and paragraph
// separators become "?" (the reader sees that something was there), runs of
// spaces one space. Text the Python side cleaned already comes through
// unchanged.
//
// `{ cut }`: safe_text's `limit` too: a longer result keeps its first
// cut - 3 characters and ends in "...", counted in code points as Python
// counts them (a surrogate pair is never split; a combining mark may part
// from its letter, as in safe_text); an input of more than 8 x cut code
// points is cut to that before it is cleaned, as there. Every string the page
// shows that came from the peer, a recording or a file is cut (CUT below);
// the agent's own chat line is not (its input's maxlength and the chat
// panel's wrapping bound it).
export const MAX_SHOWN = 120; // safe_text's default limit
// The most characters (code points) of one chat message the agent sends:
// every side shows a peer's line up to 1000 (cli/say.py SAY_PART), and 1000
// of them are at most 2000 UTF-16 units (the bridge's schema) and 4000
// bytes (the wire's 4096). A longer line goes as several, in order.
export const CHAT_PART = 1000;

export function chatParts(text) {
  const points = Array.from(text);
  const parts = [];
  for (let i = 0; i < points.length; i += CHAT_PART) parts.push(points.slice(i, i + CHAT_PART).join(""));
  return parts;
}
// The marks of the agent's own chat lines (chatLine), and those a later
// message still changes.
const CHAT_STATES = ["held", "waiting", "lost", "sent", "delivered", "unconfirmed", "undelivered", "backlog"];
const OPEN_STATES = ["held", "waiting", "sent"];

// Each the bound the Python side cleans the same string to, so that a string
// it cleaned comes through unchanged.
export const CUT = {
  title: MAX_SHOWN, // names in the page's title
  name: 100, // file names (the host shows offered names cut to 100)
  kind: 32, // a recording's event kind (web/playback.py describe_event)
  text: 1000, // notices, banners, event rows, reasons (web/bridge.py _TEXT_MAX)
  chat: 4000, // the host's chat lines (web/bridge.py)
};
const SEQUENCES = new RegExp([
  "(?:\\x1b\\[|\\x9b)[0-?]*[ -/]*[@-~]?", // CSI ... final byte
  "(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?", // OSC, DCS...
  "\\x1b[ -/]*[0-~]?", // other two-byte escapes
].join("|"), "gu");
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

// The first `n` code points of `s` (a lone surrogate counts as one, as in
// Python), looking at no more of it than that needs.
function headPoints(s, n) {
  if (s.length <= n) return s; // n UTF-16 units are at most n code points
  const points = Array.from(s.slice(0, 2 * n + 1)); // holds n + 1 whole ones, or all
  return points.length > n ? points.slice(0, n).join("") : s;
}

export function shownText(text, { cut = Infinity } = {}) {
  let s = String(text);
  const bounded = Number.isInteger(cut) && cut >= 0;
  if (bounded) s = headPoints(s, cut * 8); // bound the work before any regex
  s = s.replace(SEQUENCES, "?").replace(/[\t\n\r\v\f]/g, " ").replace(HIDDEN, "?")
    .replace(/ {2,}/g, " ").trim();
  if (bounded && headPoints(s, cut) !== s) s = `${headPoints(s, Math.max(0, cut - 3))}...`;
  return s;
}

// The host's Notice codes (docs/transport.md) whose notice is about a moment,
// not the session: input dropped for lack of a grant, the local user using
// the input, the host letting go of the keys held through a silent link (8:
// review44, it stayed in the bar for good after the agent pressed again).
// They leave the bar after `ttlMs`, or once the agent's input has gone
// `quietMs` without the host saying again that it dropped it.
const TRANSIENT = new Set([1, 2, 8]);
export const CONTROL_UNAVAILABLE = 4;
// Notices that answer a request for control with a no: the bridge's own (0:
// the user declined, the host did not answer) and the host's refusal without
// asking (5). A grant that follows makes them wrong: they leave the bar.
const CONTROL_REFUSED = new Set([0, 5]);

// A size in a person's units, as the terminals say it (transport/channel/
// display.py amount): "850 bytes", "150 kB", "6.3 MB", "1.2 GB".
export function size(n) {
  const units = [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]];
  for (let k = 0; k < units.length; k++) {
    const [unit, scale] = units[k];
    if (n >= scale) {
      const shown = n / scale;
      let text = fixed(shown, shown < 100 ? 1 : 0);
      if (text === "100.0") text = "100"; // three figures, not four
      if (text === "1000" && k) return `1.0 ${units[k - 1][0]}`; // the next unit's
      return `${text} ${unit}`;
    }
  }
  return n === 1 ? "1 byte" : `${n} bytes`; // walk46: "1 bytes"
}

// x to d decimals as Python's format rounds it: toFixed takes a tie
// (1.25, 100.5: exact in binary) up, Python to the even digit ("1.2 kB").
function fixed(x, d) {
  const exact = x.toFixed(60); // every digit of a double of 1 or more
  const point = exact.indexOf(".");
  const kept = exact.slice(0, d ? point + 1 + d : point);
  if (/^50*$/.test(exact.slice(point + 1 + d)) && Number(kept.at(-1)) % 2 === 0) return kept;
  return x.toFixed(d);
}

// A limit in the same units, never shown above itself, to three figures
// (display.py limit_amount): 2 ** 30 is "1.07 GB", which size() rounds up.
// Floored in whole numbers, as a float's floor shows 1.15 GB as "1.14 GB".
export function limitSize(n) {
  for (const [unit, scale] of [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]]) {
    if (n >= scale) {
      const digits = n >= 100 * scale ? 0 : n >= 10 * scale ? 1 : 2;
      const shown = Math.floor((n * 10 ** digits) / scale);
      return `${String(shown / 10 ** digits)} ${unit}`;
    }
  }
  return n === 1 ? "1 byte" : `${n} bytes`; // walk46: "1 bytes"
}

// The largest file the page sends (web/files.py MAX_UPLOAD): a larger one is
// not offered at all (the view process would take its offer for a page
// breaking the protocol); its row says why, and the session goes on.
export const MAX_UPLOAD = 2 ** 30;

export class UI {
  constructor(actions) {
    this.actions = actions; // { control, scale, monitor, chat, leave, sendFiles, cancelUpload, cancelDownload, answerFile, fileUrl }
    this.control = false;
    this.linked = false; // the viewer program let this page in (its welcome), until the socket closes
    this.playback = false;
    this.host = null;
    this.files = new Map();
    this.refused = 0; // files not sent for their size: their rows' numbers
    this.noticeTtlMs = 8000;
    this.noticeQuietMs = 1500;
    this.lasting = null; // the latest notice that stays: shown again when a transient one goes
    this.lastingCode = null; // its code
    this.transient = null; // { at, timer, check } while a transient notice is shown
    this.bannerKind = null; // the kind of the banner shown (null: none)
    this.lines = new Map(); // the agent's held chat lines by number: their state's span
    this.over = false; // the session is over: nothing more to say or send
    $("bar").hidden = false;
    // The host's latest notice (why control was refused, why input is
    // ignored) stays in the bar's status line, after the status, until the
    // next one: the status moves on ("Connected") and the chat log where
    // notices are kept is usually closed.
    const notice = el("span", undefined, "notice");
    notice.id = "notice";
    notice.setAttribute("role", "status");
    notice.hidden = true;
    $("status").after(notice);
    $("control").onclick = () => actions.control(true);
    $("give-back").onclick = () => actions.control(false);
    $("scale").onchange = (e) => actions.scale(e.target.value);
    $("monitor").onchange = (e) => actions.monitor(Number(e.target.value));
    $("fullscreen").onclick = () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(() => {});
    };
    $("stats-toggle").onclick = (e) => {
      const on = $("stats").hidden;
      $("stats").hidden = !on;
      e.target.setAttribute("aria-pressed", String(on));
    };
    $("chat-toggle").onclick = () => {
      $("chat").hidden = !$("chat").hidden;
      if (!$("chat").hidden) $("chat-input").focus();
    };
    $("chat-form").onsubmit = (e) => {
      e.preventDefault();
      for (const part of chatParts($("chat-input").value.trim())) actions.chat(part);
      $("chat-input").value = "";
    };
    // The browser cuts a paste at the field's maxlength without a word
    // (walk46: a 10 kB log line went as its first 2000 characters): said.
    $("chat-input").addEventListener("paste", (e) => {
      const field = e.target;
      const pasted = e.clipboardData ? e.clipboardData.getData("text/plain") : "";
      const kept = field.value.length - (field.selectionEnd - field.selectionStart);
      const over = kept + pasted.length - field.maxLength;
      if (over > 0) {
        this.chatLine("notice", `The message field holds at most ${field.maxLength} characters:` +
          ` the last ${over} of what you pasted ${over === 1 ? "was" : "were"} left out.`);
      }
    });
    $("leave").onclick = () => actions.leave();
    $("banner-close").onclick = () => this.hideBanner();
    $("file-input").onchange = (e) => {
      this.sendFiles([...e.target.files]);
      e.target.value = "";
    };
    const vp = $("viewport");
    vp.addEventListener("dragover", (e) => {
      e.preventDefault();
      $("drop").hidden = this.over;
    });
    vp.addEventListener("dragleave", () => ($("drop").hidden = true));
    vp.addEventListener("drop", (e) => {
      e.preventDefault();
      $("drop").hidden = true;
      if (!this.over) this.sendFiles([...e.dataTransfer.files]);
    });
    this.setLevel(false, false);
  }

  // A recording, not a live session: nothing to control, chat with or send.
  playbackMode() {
    this.playback = true;
    for (const id of ["control", "give-back", "chat-toggle", "monitor", "keys"]) $(id).closest("label, button").hidden = true;
    $("file-input").closest("label").hidden = true;
    $("level").textContent = "Recording";
    $("level").className = "level view";
  }

  // A recording's check (web/playback.py page_verdict): a line above the
  // picture for the whole playback, closed by nothing. Its text holds what
  // the file says of itself: shown as text, cleaned and cut.
  verdict(kind, text) {
    const line = $("verdict");
    line.className = `verdict ${kind}`;
    line.textContent = shownText(text, { cut: CUT.text });
    line.hidden = false;
  }

  // The session ended (or the page lost its viewer): chat and Send file
  // take nothing more, as "Request control" asks nothing more.
  sessionOver() {
    this.over = true;
    for (const id of ["chat-input", "file-input"]) $(id).disabled = true;
    $("chat-form").querySelector("button").disabled = true;
    $("file-input").closest("label").classList.add("disabled");
    // Nothing is left to leave (walk45: clicked after the user's /end, it
    // did nothing, and looked as if it would).
    $("leave").disabled = true;
    // An upload's Cancel: nothing is under way any more to stop.
    for (const row of this.files.values()) this.cancellable(row, null, false);
    // A question the agent had not answered: its answer would go nowhere.
    for (const row of this.files.values()) {
      if (row.asked) this.closeQuestion(row, "not saved: the session ended before you answered", true);
    }
  }

  // This page was refused (a second tab on the link: app/refusal.js): it
  // shows that sentence alone, as boot.js shows its own failures; none of
  // the session's controls, which would do nothing here.
  notHere(text) {
    this.over = true;
    for (const id of ["bar", "banner", "viewport", "stats", "chat", "files"]) $(id).hidden = true;
    $("boot-error").textContent = text;
    $("boot-error").hidden = false;
  }

  status(text) {
    $("status").textContent = shownText(text, { cut: CUT.text });
  }

  // `unavailable`: the host's reason why it cannot grant control in this
  // session ("" if it can): asking would not help, so the button says why.
  // `reconnecting`: the link is being taken up again (app/link.js): no level
  // is in use, whatever the host granted.
  setLevel(view, control, unavailable = "", reconnecting = false) {
    if (control && !this.control && CONTROL_REFUSED.has(this.lastingCode)) {
      this.lasting = this.lastingCode = null;
      if (!this.transient) this.showNotice(null);
    }
    // Control again: "you can only watch now" is no longer true.
    if (control && this.bannerKind === "revoked") this.hideBanner();
    this.control = control;
    const level = $("level");
    // Nothing granted yet while the host's user is asked: "Waiting", not "Not
    // connected" beside "Waiting for the user to accept..." (walk42).
    const none = this.linked && !this.over ? "Waiting" : "Not connected";
    level.textContent = reconnecting ? "Reconnecting" : control ? "Control" : view ? "View only" : none;
    level.className = `level ${reconnecting ? "none" : control ? "control" : view ? "view" : "none"}`;
    const ask = $("control");
    ask.hidden = control || this.playback;
    ask.disabled = control || !view || unavailable !== "" || reconnecting;
    if (unavailable) ask.title = `Remote control is not available: ${unavailable}`;
    else ask.removeAttribute("title");
    $("give-back").hidden = !control || this.playback;
    $("screen").classList.toggle("controlling", control);
  }

  banner(kind, text) {
    this.bannerKind = kind;
    $("banner").className = `banner ${kind}`;
    $("banner-text").textContent = shownText(text, { cut: CUT.text });
    $("banner").hidden = false;
  }

  hideBanner() {
    this.bannerKind = null;
    $("banner").hidden = true;
  }

  // The host's notice: into the chat log, and into the bar's notice area
  // (not the status line too: the bar showed it twice). `code` is the host's
  // Notice code (null: none given).
  // `replayed`: said before this page was reloaded (bridge_page.py): the
  // chat log only, the bar is about now.
  notice(text, code = null, replayed = false) {
    this.chatLine("notice", text);
    if (replayed) return;
    this.clearTransient();
    if (TRANSIENT.has(code)) {
      const t = { at: performance.now(), timer: null, check: null };
      t.timer = setTimeout(() => this.endTransient(t), this.noticeTtlMs);
      this.transient = t;
    } else {
      this.lasting = text;
      this.lastingCode = code;
    }
    this.showNotice(text);
  }

  showNotice(text) {
    text = text && shownText(text, { cut: CUT.text });
    const shown = $("notice");
    shown.textContent = text || "";
    shown.title = text || "";
    shown.hidden = !text;
  }

  clearTransient() {
    const t = this.transient;
    if (!t) return;
    clearTimeout(t.timer);
    clearTimeout(t.check);
    this.transient = null;
  }

  endTransient(t) {
    if (this.transient !== t) return;
    this.clearTransient();
    this.showNotice(this.lasting);
  }

  // The agent's input went to the host: if the host does not say again, for
  // `noticeQuietMs`, that it dropped input, it is being accepted.
  inputSent() {
    const t = this.transient;
    if (!t || t.check) return;
    t.check = setTimeout(() => this.endTransient(t), this.noticeQuietMs);
  }

  // `id`, `state`: the agent's own line. Typed while the link was down,
  // "held" until the session goes on, or before the session was joined,
  // "waiting" until the user lets the agent in, or "lost" (the session ended
  // first). Once given to the viewer: "sent", then "delivered" (the host's
  // program has it); if the session ended first, "unconfirmed" (it went, and
  // may have arrived: the host's confirmation never came) or "undelivered"
  // (it never went out); a host of an older version confirms nothing, and
  // the line stays "sent". "backlog": not sent, too many lines wait for the
  // host's confirmation.
  chatLine(who, text, id = null, state = null) {
    const mark = {
      held: " (not sent yet: reconnecting)",
      waiting: " (not sent yet: it goes once the user lets you in)",
      lost: " (not sent: the session ended)",
      sent: " (sent)",
      delivered: " (delivered)",
      unconfirmed: " (not confirmed: the session ended)",
      undelivered: " (NOT delivered: the session ended)",
      backlog: " (not sent: too many lines wait for the host to confirm them)",
    }[state] || "";
    const known = id === null ? null : this.lines.get(id);
    if (known) {
      known.textContent = mark;
      for (const s of CHAT_STATES) known.parentNode.classList.toggle(s, state === s);
      if (!OPEN_STATES.includes(state)) this.lines.delete(id);
      return;
    }
    const li = el("li", undefined, who);
    li.append(el("b", who === "host" ? "User: " : who === "me" ? "You: " : ""), el("span", shownText(text, who === "me" ? {} : { cut: who === "host" ? CUT.chat : CUT.text })));
    if (id !== null) {
      const span = el("span", mark, "state");
      li.append(span);
      if (state) li.classList.add(state);
      if (OPEN_STATES.includes(state)) this.lines.set(id, span);
      // The log keeps 500 lines: so many lines' marks at most.
      for (const old of this.lines.keys()) {
        if (this.lines.size <= 500) break;
        this.lines.delete(old);
      }
    }
    $("chat-log").append(li);
    while ($("chat-log").children.length > 500) $("chat-log").firstChild.remove();
    if (who === "host") $("chat").hidden = false;
  }

  monitors(list, current) {
    const sel = $("monitor");
    sel.replaceChildren(...list.map((m) => {
      const o = el("option", m.index === 0 ? `All (${m.width}x${m.height})` : `${m.index}: ${m.width}x${m.height}${m.primary ? " (primary)" : ""}`);
      o.value = String(m.index);
      o.selected = m.index === current;
      return o;
    }));
    sel.disabled = list.length < 2;
  }

  // Playing a recording, there is no host, link or grant: only what the page
  // shows is told.
  stats(host, page) {
    this.host = host; // null: none, or the link they came over is down
    const h = this.host;
    const shown = `shown:    ${page.fps.toFixed(0)} fps, decode ${page.decodeMs.toFixed(1)} ms`;
    if (this.playback) {
      const size = page.width ? `${page.width}x${page.height}` : "no picture yet";
      $("stats").replaceChildren(...[shown, `screen:   ${size}`].map((l) => el("div", l)));
      return;
    }
    const screen = `screen:   ${page.width ? `${page.width}x${page.height}` : "no picture yet"}, ${$("level").textContent.toLowerCase()}`;
    if (this.over) {
      // The session has ended: no figure is current (words52: after view
      // --web was stopped the panel showed the last "sent: 47 fps" and
      // "RTT: 0.8 ms" for up to a second, then "0 fps" a second as if the
      // session went on with nothing to show).
      const none = ["shown:    -", "sent:     -", "RTT:      -", "received: -", "quality:  -", screen];
      $("stats").replaceChildren(...none.map((l) => el("div", l)));
      return;
    }
    const lines = [
      shown,
      h ? `sent:     ${h.fps.toFixed(0)} fps, ${h.kbps} kbit/s` : "sent:     -",
      h ? `RTT:      ${h.rtt.toFixed(1)} ms` : "RTT:      -",
      `received: ${page.kbps.toFixed(0)} kbit/s`,
      `quality:  ${page.quality}`,
      // As the badge says it: not "0x0, view only" while the user is asked (walk42).
      screen,
    ];
    // The host's counts, as its status line says them (input46); the badge's words stay last.
    if (page.ignored) lines.splice(lines.length - 1, 0, `your input ignored: ${page.ignored}`);
    $("stats").replaceChildren(...lines.map((l) => el("div", l)));
  }

  // Files the agent chose (Send file, or dropped): those over MAX_UPLOAD
  // get a row saying they were not sent, before a byte of them is read.
  sendFiles(files) {
    const fitting = [];
    for (const file of files) {
      if (file.size <= MAX_UPLOAD) {
        fitting.push(file);
        continue;
      }
      const row = this.fileRow(`big${++this.refused}`, file.name || "file",
        ` ${size(file.size)} not sent: too large: the page sends files of up to ${limitSize(MAX_UPLOAD)}`);
      row.li.classList.add("failed");
    }
    if (fitting.length) this.actions.sendFiles(fitting);
  }

  fileRow(id, name, text) {
    let row = this.files.get(id);
    if (!row) {
      row = { li: el("li"), name: el("span", shownText(name, { cut: CUT.name }), "name"), state: el("span", "", "state") };
      row.li.append(row.name, row.state);
      this.files.set(id, row);
      $("file-list").append(row.li);
    }
    row.state.textContent = text;
    $("files").hidden = false;
    return row;
  }

  // An agent's upload's row (`out${id}`): `text` its state; `going`, it is in
  // progress, and has a Cancel button (cancel36).
  uploadRow(id, name, text, going) {
    const row = this.fileRow(`out${id}`, name, text);
    this.cancellable(row, id, going && !this.over);
    return row;
  }

  // The Cancel of an upload's row, added or taken away. An input button: keyboard
  // reachable as any button, and no text of its own in the row's (what it says).
  // `verb` and `stop`: a host's file being received (rstop36) says "Cancel
  // receiving NAME" and stops that.
  cancellable(row, id, going, verb = "sending", stop = () => this.actions.cancelUpload(id)) {
    if (going && !row.cancel && !this.over) {
      const button = document.createElement("input");
      button.type = "button";
      button.value = "Cancel";
      button.className = "cancel";
      button.setAttribute("aria-label", `Cancel ${verb} ${row.name.textContent}`);
      button.onclick = () => {
        button.disabled = true; // once: the row's next state removes it
        stop();
      };
      row.li.append(button);
      row.cancel = button;
    } else if (!going && row.cancel) {
      row.cancel.remove();
      row.cancel = null;
    }
  }

  // `answered` ("accepted", "declined"): a row replayed to a reloaded page.
  // An accepted file's row becomes its received row (fileReceived).
  fileOffer(id, name, bytes, answered = null) {
    const key = `in${id}`;
    if (answered) {
      // Replayed "accepted": not ended yet (an ended row is replayed as its
      // end), so it reads and stops as before the reload (files37: no Cancel).
      const accepted = answered === "accepted";
      const row = this.fileRow(key, name, ` ${size(bytes)} from the user: ${accepted ? "receiving..." : answered}`);
      if (accepted) this.cancellable(row, id, true, "receiving", () => this.actions.cancelDownload(id));
      return;
    }
    const asked = ` ${size(bytes)} from the user: `;
    const row = this.fileRow(key, name, asked);
    row.asked = asked; // open until answered, or ended otherwise (closeQuestion)
    const yes = el("button", "Accept");
    const no = el("button", "Decline");
    const answer = (accept) => {
      this.closeQuestion(row, accept ? "receiving..." : "declined");
      this.actions.answerFile(id, accept);
      // Accepted: it can be stopped while it comes (rstop36), until its row ends.
      if (accept) this.cancellable(row, id, true, "receiving", () => this.actions.cancelDownload(id));
    };
    yes.onclick = () => answer(true);
    no.onclick = () => answer(false);
    row.li.append(yes, no);
  }

  // A question's row gets its outcome (`text`, after "SIZE from the user: ")
  // and loses its Accept and Decline.
  closeQuestion(row, text, failed = false) {
    for (const button of row.li.querySelectorAll("button")) button.remove();
    row.state.textContent = row.asked + text;
    row.li.classList.toggle("failed", failed);
    row.asked = null;
  }

  // A host's file not saved here (`words`: "not saved: WHY" if refused,
  // "could not be saved: WHY" if accepted: web/files.py not_saved); `offer`
  // is the question it answers, whose row it ends, as in fileReceived.
  fileFailed(id, name, bytes, words, offer = null) {
    const key = offer === null ? null : `in${offer}`;
    const row = this.fileRow(key !== null && this.files.has(key) ? key : `lost${id}`, name,
      ` ${size(bytes)} from the user: ${words}`);
    row.li.classList.add("failed");
    // A question the host withdrew before the agent answered: nothing to answer;
    // a file being received: nothing to cancel; one received and then not
    // kept (web/files.py not_kept): nothing to save.
    for (const button of row.li.querySelectorAll("button, a")) button.remove();
    this.cancellable(row, null, false);
    row.asked = null;
  }

  // `id` numbers the received files (the Save link's `files/N`); `offer` is
  // the question (fileOffer's id) this file answers: its row ends there. A
  // file without one (or whose row was forgotten) gets a row of its own.
  // `saved`: where it is kept in the agent's folder (view --web
  // --download-dir): said, and the link saves a copy (walk44: "received
  // [Save]" alone, the file already there).
  fileReceived(id, name, bytes, offer = null, saved = null) {
    const key = offer === null ? null : `in${offer}`;
    const got = saved === null ? "received " : `saved as ${shownText(saved, { cut: CUT.text })}; `;
    const row = key !== null && this.files.has(key)
      ? this.fileRow(key, name, ` ${size(bytes)} from the user: ${got}`)
      : this.fileRow(`got${id}`, name, ` ${size(bytes)} ${got}`);
    this.cancellable(row, null, false); // all of it came: nothing to cancel
    const a = el("a", saved === null ? "Save" : "Save a copy");
    a.href = this.actions.fileUrl(id);
    a.download = name;
    row.li.append(a);
  }
}
