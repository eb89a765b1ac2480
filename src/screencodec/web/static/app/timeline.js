// Playing a recording: the timeline (seek by clicking or dragging), play and
// pause, speed, and the recording's audit log beside the screen. The Python
// side plays (web/playback.py); this only asks (`seek`, `play`, `speed`) and
// shows what it is told (`position` after each picture, `event` lines).
// Event text comes from the recording and is shown with textContent only.

import { CUT, shownText } from "./ui.js";

const $ = (id) => document.getElementById(id);

function clock(us) {
  const s = Math.max(0, us) / 1e6;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

export class Timeline {
  constructor(send) {
    this.send = send;
    this.durationUs = 0;
    this.at = { us: 0, playing: false, pct: 100, since: 0 };
    this.dragging = false;
    this.rows = []; // [us, li] in the log's (time) order
    this.past = 0; // rows marked as already happened
    this.shown = { clock: "", seek: "" }; // what draw() last wrote
    const range = $("seek");
    const seek = () => send({ t: "seek", us: Math.round(Number(range.value) * 1000) });
    range.addEventListener("pointerdown", () => {
      this.dragging = true;
      this.shown.seek = ""; // the thumb is where the pointer left it: put back on the next draw
    });
    range.addEventListener("pointerup", () => (this.dragging = false));
    range.addEventListener("input", seek); // while dragging: the server keeps only the latest
    range.addEventListener("change", () => {
      this.dragging = false;
      seek();
    });
    $("play").onclick = () => send({ t: "play", on: !this.at.playing });
    $("speed").onchange = (e) => send({ t: "speed", pct: Number(e.target.value) });
    // The clock runs on between pictures only while playing: a paused
    // player draws when told something (start, position), not 60 times a
    // second, which kept a laptop's core busy with an idle page.
    this.ticking = false;
    this.frame = () => {
      this.draw();
      if (this.at.playing) requestAnimationFrame(this.frame);
      else this.ticking = false;
    };
  }

  tick() {
    if (this.ticking || !this.at.playing) return;
    this.ticking = true;
    requestAnimationFrame(this.frame);
  }

  start(info) {
    this.durationUs = info.duration_us;
    $("seek").max = String(Math.ceil(info.duration_us / 1000));
    $("timeline").hidden = false;
    $("events").hidden = false;
    document.body.classList.add("playback");
    document.title = `screencodec recording: ${shownText(info.name, { cut: CUT.title })}`;
    this.draw();
  }

  position(m) {
    this.at = { us: m.us, playing: m.playing, pct: m.pct, since: performance.now() };
    $("play").textContent = m.playing ? "Pause" : "Play";
    $("speed").value = String(m.pct);
    this.draw();
    this.tick();
  }

  // The page's status line: what the player is doing (the clock shows where).
  // Until the page has a picture (a recording starts before its first one)
  // it says so: the empty screen shows this line in its middle.
  status(pictured) {
    const a = this.at;
    const end = a.us >= this.durationUs;
    if (!pictured) {
      if (end) return "End of recording: it holds no picture";
      return a.playing ? "Playing: no picture yet" : "No picture yet at this moment: press Play";
    }
    if (a.playing) return a.pct === 100 ? "Playing" : `Playing at ${a.pct / 100}x`;
    return end ? "End of recording" : "Paused";
  }

  // Between pictures the clock runs on here, at the speed the server plays.
  now() {
    const a = this.at;
    const us = a.playing ? a.us + (performance.now() - a.since) * 10 * a.pct : a.us;
    return Math.min(us, this.durationUs);
  }

  draw() {
    const us = this.now();
    const seek = String(Math.round(us / 1000));
    const shown = `${clock(us)} / ${clock(this.durationUs)}`;
    // Written only when changed: each write costs the page a style pass.
    if (!this.dragging && seek !== this.shown.seek) $("seek").value = this.shown.seek = seek;
    if (shown !== this.shown.clock) $("clock").textContent = this.shown.clock = shown;
    // Events up to now look done; only the rows that changed are touched.
    let past = this.past;
    while (past < this.rows.length && this.rows[past][0] <= us) this.rows[past++][1].classList.add("past");
    while (past > 0 && this.rows[past - 1][0] > us) this.rows[--past][1].classList.remove("past");
    this.past = past;
  }

  event(m) {
    const li = document.createElement("li");
    const when = document.createElement("button");
    when.type = "button";
    when.className = "when";
    when.textContent = clock(m.us);
    when.title = "Go to this moment";
    when.onclick = () => this.send({ t: "seek", us: m.us });
    const kind = document.createElement("b");
    kind.textContent = shownText(m.kind, { cut: CUT.kind });
    const text = document.createElement("span");
    text.textContent = shownText(m.text, { cut: CUT.text });
    li.append(when, " ", kind, " ", text);
    // Where a link of the session was lost (web/playback.py LINK_LOST).
    if (m.kind === "link lost") li.classList.add("mark");
    $("event-log").append(li);
    this.rows.push([m.us, li]);
  }
}
