// KeyboardEvent -> X keysym. Named keys by their `key` value; printable
// characters by their code point (Latin-1 keysyms equal it, everything else
// is 0x01000000 + code point, as X defines for Unicode).

const NAMED = {
  Backspace: 0xff08, Tab: 0xff09, Enter: 0xff0d, Pause: 0xff13, ScrollLock: 0xff14,
  Escape: 0xff1b, Delete: 0xffff, Home: 0xff50, ArrowLeft: 0xff51, ArrowUp: 0xff52,
  ArrowRight: 0xff53, ArrowDown: 0xff54, PageUp: 0xff55, PageDown: 0xff56, End: 0xff57,
  Insert: 0xff63, ContextMenu: 0xff67, NumLock: 0xff7f, CapsLock: 0xffe5,
  PrintScreen: 0xff61, AltGraph: 0xfe03, Dead: 0, Unidentified: 0,
};
// Modifiers: left and right differ by `code`.
const SIDED = {
  Shift: [0xffe1, 0xffe2], Control: [0xffe3, 0xffe4], Alt: [0xffe9, 0xffea],
  Meta: [0xffeb, 0xffec], OS: [0xffeb, 0xffec],
};

// The keypad, by `code`: X has keysyms of its own for it (KP_1 is not 1:
// applications bind them apart, and the host types them on its keypad).
const KEYPAD = {
  Numpad0: 0xffb0, Numpad1: 0xffb1, Numpad2: 0xffb2, Numpad3: 0xffb3, Numpad4: 0xffb4,
  Numpad5: 0xffb5, Numpad6: 0xffb6, Numpad7: 0xffb7, Numpad8: 0xffb8, Numpad9: 0xffb9,
  NumpadDecimal: 0xffae, NumpadEnter: 0xff8d, NumpadAdd: 0xffab, NumpadSubtract: 0xffad,
  NumpadMultiply: 0xffaa, NumpadDivide: 0xffaf, NumpadEqual: 0xffbd, NumpadComma: 0xffac,
};
// With the agent's Num Lock off its keypad moves the cursor: `key` says how.
// A keypad's decimal key that types ',' (a German one) is KP_Separator.
const KEYPAD_BY_KEY = {
  Home: 0xff95, ArrowLeft: 0xff96, ArrowUp: 0xff97, ArrowRight: 0xff98, ArrowDown: 0xff99,
  PageUp: 0xff9a, PageDown: 0xff9b, End: 0xff9c, Clear: 0xff9d, Insert: 0xff9e,
  Delete: 0xff9f, ",": 0xffac,
};

export function charKeysym(ch) {
  const cp = ch.codePointAt(0);
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000 + cp;
}

// The keysym for `event`, or 0 if it has none (composition, unknown keys).
export function keysymOf(event) {
  const key = event.key;
  // Only a key on the keypad (what WebDriver calls Enter is NumpadEnter at
  // the standard location, and means Return).
  const pad = event.location === KeyboardEvent.DOM_KEY_LOCATION_NUMPAD;
  if (pad && Object.hasOwn(KEYPAD, event.code)) {
    return Object.hasOwn(KEYPAD_BY_KEY, key) ? KEYPAD_BY_KEY[key] : KEYPAD[event.code];
  }
  if (key in SIDED) return SIDED[key][event.code.endsWith("Right") ? 1 : 0];
  if (key in NAMED) return NAMED[key];
  const f = /^F([1-9]|1[0-9]|2[0-4])$/.exec(key);
  if (f) return 0xffbe + Number(f[1]) - 1;
  if ([...key].length === 1) return charKeysym(key);
  return 0;
}

// A character the agent's AltGr made ('@' on a German keyboard): Windows
// reports AltGr as Ctrl + Alt, so ctrlKey alone does not mean a Ctrl chord.
export function altGraphChar(event) {
  return [...event.key].length === 1 && event.getModifierState("AltGraph");
}

// The keysyms of the modifiers an AltGr chord holds: Ctrl, Alt, AltGr.
export const CHORD_MODIFIERS = new Set([
  SIDED.Control[0], SIDED.Control[1], SIDED.Alt[0], SIDED.Alt[1], NAMED.AltGraph,
]);

// The text a key types (what the host may use when it has no keycode for the
// keysym): the character itself, never for named keys or with Ctrl/Meta
// (unless AltGr made it).
export function textOf(event) {
  if ((event.ctrlKey || event.metaKey) && !altGraphChar(event)) return "";
  return [...event.key].length === 1 ? event.key : "";
}
