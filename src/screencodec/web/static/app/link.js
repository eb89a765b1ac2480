// The link to the user's computer while the view process takes it up again
// (web/run.py reconnects; the bridge's level then says "reconnecting").
// page46: the badge said "Control" or "View only" over a frozen picture and
// keys typed meanwhile went nowhere without a word. Now the badge claims no
// level (ui.js setLevel), a note over the picture says it is frozen and that
// input is not sent, and the first key or click meanwhile is said dropped.
// The next level (the resumed session's grant) or the session's end ends it.

export const FROZEN = "The picture is frozen: the connection to the user's computer is being" +
  " restored. Nothing you type or click is sent meanwhile.";
export const DROPPED = "Not sent: what you typed or clicked while reconnecting was dropped" +
  " (it is not sent later).";

export class Link {
  constructor(ui, viewport) {
    this.ui = ui;
    this.down = false;
    this.told = false; // DROPPED is shown (once each time the link is down)
    this.note = document.createElement("p");
    this.note.id = "link-note";
    this.note.className = "link-note";
    this.note.setAttribute("role", "status");
    this.note.textContent = FROZEN;
    this.note.hidden = true;
    viewport.append(this.note);
  }

  set(down) {
    if (down === this.down) return;
    this.down = down;
    this.note.hidden = !down;
    // Back (or over): the bar shows the host's lasting notice again, if any.
    if (!down && this.told && !this.ui.transient) this.ui.showNotice(this.ui.lasting);
    this.told = false;
  }

  // A key or click the page did not send (it has no control): said while
  // the link is down, once, in the bar's notice area.
  inputDropped() {
    if (!this.down || this.told) return;
    this.told = true;
    this.ui.clearTransient();
    this.ui.showNotice(DROPPED);
  }
}
