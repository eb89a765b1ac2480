// Clipboard sharing on the page (clip39; docs/web.md "Clipboard").
//
// Agent -> host: Ctrl+V (Cmd+V) in the screen while the agent has control.
// input.js lets that key's default happen so that the browser fires a paste
// event on the focused textarea; its text goes to the host first ({t: "clip"}),
// then the V key goes as usual, so the program on the host pastes it (the
// host puts the text on its clipboard before it injects the keys after it).
//
// Host -> agent: a {t: "clip"} from the view process is the host's user's
// clipboard. navigator.clipboard.writeText needs a user gesture, so the text
// waits for the agent's next click or key press in the page, then goes on
// the browser's clipboard; a short notice says so. The text is never shown.

export const MAX_CLIP_BYTES = 64 * 1024; // transport/session/clipboard.py

const plural = (n) => `${n} character${n === 1 ? "" : "s"}`;
const chars = (text) => [...text].length; // as Python counts them

export class PageClipboard {
  constructor(send, notice) {
    this.send = send;
    this.notice = notice;
    this.pending = null; // the host's text waiting for a gesture
    this.copied = 0; // texts of the host's put on the browser's clipboard
    this.sent = 0; // texts of the agent's sent to the host
    const deliver = () => this.deliver();
    // Capture phase: before input.js or the page's own handlers act on it.
    addEventListener("pointerdown", deliver, true);
    addEventListener("keydown", deliver, true);
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

  // The host's user sent their clipboard.
  fromHost(text, reason) {
    this.pending = text;
    const how = reason === "sync" ? "copied while you control their screen" : "sent by the user";
    this.notice(`The host's clipboard (${plural(chars(text))}, ${how}): click or press a key here to copy it to yours`);
  }

  deliver() {
    const text = this.pending;
    if (text === null || !navigator.clipboard) return;
    this.pending = null;
    navigator.clipboard.writeText(text).then(
      () => {
        this.copied += 1;
        this.notice(`The host's clipboard (${plural(chars(text))}) is on your clipboard`);
      },
      (e) => {
        this.pending = text; // the next gesture tries again
        this.notice(`The host's clipboard could not be copied here (${String(e && e.name).slice(0, 40)}): click the page to try again`);
      },
    );
  }
}
