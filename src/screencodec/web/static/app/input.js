// Pointer, buttons, wheel and keyboard on the screen canvas, sent as the
// protocol's input events in framebuffer pixels (so scaling is undone here).
// Keys go through a hidden textarea that holds the focus, so that composed
// text (dead keys, input methods) arrives too: it is sent as its characters'
// keysyms with their text. Nothing is sent unless `enabled()` (the host
// granted control); held keys and buttons are released when focus leaves.
//
// Some keys never reach a page: the browser or the agent's own system takes
// them (Ctrl+Alt+Del, Alt+Tab, Ctrl+W closes the agent's tab). The "Keys"
// menu sends those combinations; in full screen the page also asks for the
// Keyboard Lock, so that they are captured like any other key there.

import { CHORD_MODIFIERS, altGraphChar, charKeysym, keysymOf, textOf } from "./keys.js";

const BUTTONS = [1, 2, 3, 8, 9];

// Ctrl+V, or Cmd+V on a Mac: the agent pastes (not with Alt: AltGr+V types a character).
// Cmd+V reaches the host as Ctrl+V (macPaste). Shift+Insert too (clipwalk39): a
// terminal on the host pastes nothing on Ctrl+V (bash: literal-next), and its
// Shift+Insert pastes the host's PRIMARY, which the host sets with the text.
const isPaste = (e) =>
  ((e.ctrlKey || e.metaKey) && !e.altKey && (e.code === "KeyV" || e.key === "v" || e.key === "V")) ||
  (e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey && e.code === "Insert");

const CTRL = 0xffe3;
const ALT = 0xffe9;
// The agent's Cmd (Meta) as the host's keysyms: Super_L/R, Meta_L/R.
const META_KEYSYMS = new Set([0xffeb, 0xffec, 0xffe7, 0xffe8]);
// The "Keys" menu: keysyms pressed in order, released in reverse.
export const COMBOS = {
  "ctrl-alt-del": [CTRL, ALT, 0xffff],
  "alt-tab": [ALT, 0xff09],
  "alt-f4": [ALT, 0xffc1],
  "ctrl-w": [CTRL, 0x77],
  "ctrl-t": [CTRL, 0x74],
  "ctrl-n": [CTRL, 0x6e],
  super: [0xffeb],
  print: [0xff61],
};

export class Input {
  constructor(screen, ime, renderer, send, enabled) {
    this.screen = screen;
    this.ime = ime;
    this.renderer = renderer;
    this.send = send;
    this.enabled = enabled;
    this.keys = new Map(); // code -> keysym held down
    this.metaLetGo = new Map(); // code -> keysym: a Cmd macPaste let go of, still held here
    this.buttons = new Set();
    this.last = null;
    this.wheelX = 0;
    this.wheelY = 0;
    this.attach(screen);
    ime.addEventListener("keydown", (e) => this.key(e, true));
    ime.addEventListener("keyup", (e) => this.key(e, false));
    ime.addEventListener("compositionend", (e) => this.typeText(e.data || ""));
    ime.addEventListener("input", (e) => {
      if (!e.isComposing) ime.value = "";
    });
    ime.addEventListener("blur", () => this.releaseAll());
    // Ctrl+V / Cmd+V (clipboard.js): the paste's text goes to the host, then the key.
    this.onPaste = null; // (text) -> whether the V key goes on
    this.onPasteRefused = null; // () -> tells the agent a paste needs control
    this.onDropped = null; // () -> a key pressed or a button clicked without control
    this.pasting = null; // { code, keysym, text } of a V whose paste event is awaited
    ime.addEventListener("paste", (e) => this.paste(e));
    this.combos = document.getElementById("keys");
    if (this.combos) {
      this.combos.addEventListener("change", () => {
        const combo = COMBOS[this.combos.value];
        this.combos.value = "";
        if (combo) this.sendCombo(combo);
        this.focus(); // typing goes on to the screen, not into the menu
      });
      // The menu is usable while the screen is controlled (ui.js marks the
      // canvas "controlling" when the host grants control and unmarks it).
      this.controlled = new MutationObserver(() => this.syncCombos());
      this.controlled.observe(screen, { attributes: true, attributeFilter: ["class"] });
      this.syncCombos();
    }
    document.addEventListener("fullscreenchange", () => this.lockKeys());
  }

  syncCombos() {
    this.combos.disabled = !this.screen.classList.contains("controlling");
  }
  // The screen canvas whose pointer events are the agent's (a new element
  // replaces it when a worker that drew into it is started again).
  attach(screen) {
    this.screen = screen;
    if (this.controlled) {
      this.controlled.disconnect();
      this.controlled.observe(screen, { attributes: true, attributeFilter: ["class"] });
    }
    screen.addEventListener("pointermove", (e) => this.move(e));
    screen.addEventListener("pointerdown", (e) => this.button(e, true));
    screen.addEventListener("pointerup", (e) => this.button(e, false));
    screen.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    screen.addEventListener("contextmenu", (e) => e.preventDefault());
    // Without control the canvas keeps the focus (the textarea takes none).
    screen.addEventListener("keydown", (e) => this.refusePaste(e));
  }

  // clipwalk39: a paste without control did nothing and said nothing.
  refusePaste(e) {
    if (!this.enabled() && this.onPasteRefused && isPaste(e) && !e.repeat) this.onPasteRefused();
  }


  sendCombo(keysyms) {
    if (!this.enabled()) return;
    for (const keysym of keysyms) this.send({ t: "key", keysym, down: true, text: "" });
    for (const keysym of [...keysyms].reverse()) this.send({ t: "key", keysym, down: false, text: "" });
  }

  // Full screen: capture the keys the browser would otherwise act on
  // (Chromium's Keyboard Lock works only there); Esc held down leaves.
  lockKeys() {
    const kb = navigator.keyboard;
    if (!kb || typeof kb.lock !== "function") return;
    if (document.fullscreenElement) kb.lock().catch(() => {});
    else kb.unlock();
  }

  focus() {
    this.ime.focus({ preventScroll: true });
  }

  moveTo(e) {
    const p = this.renderer.toFrame(e.clientX, e.clientY);
    if (!this.last || p.x !== this.last.x || p.y !== this.last.y) {
      this.last = p;
      this.send({ t: "move", x: p.x, y: p.y });
    }
  }

  move(e) {
    if (this.enabled()) this.moveTo(e);
  }

  button(e, down) {
    if (down) this.focus();
    if (!this.enabled()) {
      if (down && this.onDropped) this.onDropped();
      return;
    }
    e.preventDefault();
    const b = BUTTONS[e.button];
    if (!b) return;
    this.moveTo(e);
    if (down) {
      this.screen.setPointerCapture(e.pointerId);
      this.buttons.add(b);
    } else if (!this.buttons.delete(b)) {
      return;
    }
    this.send({ t: "button", b, down });
  }

  wheel(e) {
    if (!this.enabled()) return;
    e.preventDefault();
    this.moveTo(e);
    const unit = e.deltaMode === 0 ? 100 : e.deltaMode === 1 ? 3 : 1;
    this.wheelX += e.deltaX / unit;
    this.wheelY += e.deltaY / unit;
    const dx = Math.max(-100, Math.min(100, Math.trunc(this.wheelX)));
    const dy = Math.max(-100, Math.min(100, Math.trunc(this.wheelY)));
    if (dx || dy) {
      this.wheelX -= dx;
      this.wheelY -= dy;
      this.send({ t: "wheel", dx, dy });
    }
  }

  key(e, down) {
    if (e.isComposing || e.keyCode === 229) return; // the composition's result comes as text
    if (!this.enabled()) {
      if (down) this.refusePaste(e);
      if (down && this.onDropped) this.onDropped(); // app/link.js says it while reconnecting
      return;
    }
    if (down) {
      // A held key's repeats (e.repeat) go as presses too: the host's X does
      // not repeat the agent's keys by itself (keyrep45), its keyboard does.
      const keysym = keysymOf(e);
      if (!keysym) return;
      if (this.onPaste && isPaste(e) && !e.repeat) {
        // Not prevented: the browser's paste event brings the text (paste());
        // the key goes after it, or on its own if no paste event comes.
        // Cmd+V (Meta, no Ctrl): the host's programs paste on Ctrl+V, not Super+V.
        const mac = e.metaKey && !e.ctrlKey;
        this.pasting = { code: e.code || e.key, keysym, text: mac ? "" : textOf(e), mac };
        setTimeout(() => this.pasted(true), 0);
        return;
      }
      e.preventDefault();
      if (altGraphChar(e)) this.dropChordModifiers();
      if (e.metaKey) this.repressMeta();
      this.keys.set(e.code || e.key, keysym);
      this.send({ t: "key", keysym, down: true, text: textOf(e) });
    } else {
      if (this.pasting && this.pasting.code === (e.code || e.key)) this.pasted(true);
      this.metaLetGo.delete(e.code || e.key); // that Cmd is up: nothing to press again
      const keysym = this.keys.get(e.code || e.key);
      if (keysym === undefined) return;
      e.preventDefault();
      this.keys.delete(e.code || e.key);
      this.send({ t: "key", keysym, down: false, text: "" });
    }
  }

  // The paste event of a Ctrl+V (key() let it happen): its text to the host
  // (onPaste), then the key. Nothing is inserted into the textarea.
  paste(e) {
    e.preventDefault();
    if (!this.pasting || !this.enabled()) return;
    const text = (e.clipboardData && e.clipboardData.getData("text/plain")) || "";
    this.pasted(this.onPaste(text));
  }

  // The V key of a paste goes now (if `go`), once.
  pasted(go) {
    const p = this.pasting;
    if (!p) return;
    this.pasting = null;
    if (!go || !this.enabled()) return;
    if (p.mac) {
      this.macPaste(p.keysym);
      return;
    }
    this.keys.set(p.code, p.keysym);
    this.send({ t: "key", keysym: p.keysym, down: true, text: p.text });
  }

  // Cmd+V's paste goes to the host as Ctrl+V (clipfix39): the Cmd held is
  // let go there (its own keyup later finds nothing held), then a whole
  // Ctrl+V tap, as macOS sends no keyup for a key pressed with Cmd held.
  macPaste(v) {
    for (const [code, keysym] of [...this.keys]) {
      if (META_KEYSYMS.has(keysym)) {
        this.keys.delete(code);
        this.metaLetGo.set(code, keysym);
        this.send({ t: "key", keysym, down: false, text: "" });
      }
    }
    const held = [...this.keys.values()].includes(CTRL);
    if (!held) this.send({ t: "key", keysym: CTRL, down: true, text: "" });
    this.send({ t: "key", keysym: v, down: true, text: "" });
    this.send({ t: "key", keysym: v, down: false, text: "" });
    if (!held) this.send({ t: "key", keysym: CTRL, down: false, text: "" });
  }

  // A key pressed with the Cmd macPaste let go of still held (Cmd+V, then
  // Cmd+Z): that Cmd goes down again first, or the key reached the host
  // bare, a letter typed into the customer's program (review39c).
  repressMeta() {
    for (const [code, keysym] of this.metaLetGo) {
      this.keys.set(code, keysym);
      this.send({ t: "key", keysym, down: true, text: "" });
    }
    this.metaLetGo.clear();
  }

  // The agent's AltGr made this character (Windows reports AltGr as Ctrl +
  // Alt, and some layouts' AltGr as AltGraph): the host gets the character,
  // not Ctrl+Alt+it, which a terminal reads as a control chord (Ctrl-@ for
  // a German '@'). The modifiers held for the chord are let go first; their
  // own keyup later finds nothing held and is ignored.
  dropChordModifiers() {
    for (const [code, keysym] of [...this.keys]) {
      if (CHORD_MODIFIERS.has(keysym)) {
        this.keys.delete(code);
        this.send({ t: "key", keysym, down: false, text: "" });
      }
    }
  }

  typeText(text) {
    this.ime.value = "";
    if (!this.enabled()) return;
    for (const ch of [...text].slice(0, 256)) {
      const keysym = charKeysym(ch);
      this.send({ t: "key", keysym, down: true, text: ch });
      this.send({ t: "key", keysym, down: false, text: "" });
    }
  }

  releaseAll() {
    this.metaLetGo.clear(); // the page lost the keys: no Cmd is known held
    if (!this.enabled()) {
      this.keys.clear();
      this.buttons.clear();
      return;
    }
    for (const keysym of this.keys.values()) this.send({ t: "key", keysym, down: false, text: "" });
    for (const b of this.buttons) this.send({ t: "button", b, down: false });
    this.keys.clear();
    this.buttons.clear();
  }
}
