"""walk45: a password mistyped at ``screencodec view``'s prompt (``wrongpw1``:
a 1 and an o, in no password) ended the program, ``error: that is not a
session password: ...``, status 2: the agent ran the whole command again to
type it once more. At the prompt it is now said in words and asked again
(three tries); given with ``--password`` it ends as before (a script's
argument is not retyped).

The real host and view, each on a pseudo-terminal, over loopback."""

from __future__ import annotations

import re

from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_send_screens import PtyView

SAID = ("that is not a session password: 8 letters and digits, like 7kq2m9xa (there is no"
        " 0, 1, l or o in one): type it again")  # fmt: skip


def test_walk45_a_password_mistyped_at_the_prompt_is_asked_again() -> None:
    host = PtyHost()
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code)
        view.wait_for(r"Password: ?$")
        view.type("wrongpw1")
        # Found: "error: that is not a session password: ...", status 2.
        asked = view.wait_for(rf"{re.escape(SAID)}\nPassword: ?$")
        view.type(password)
        host.say_yes(1)
        view.wait_for(rf"connected to 127\.0\.0\.1:{port}, granted: view\n", asked.end())
        assert "error:" not in view.text, view.text
    finally:
        if view is not None:
            view.close()
        host.close()


def test_walk45_three_mistyped_passwords_end_it() -> None:
    view = PtyView("127.0.0.1:9", "--code", "123 456 789")
    try:
        at = 0
        for _ in range(3):
            at = view.wait_for(r"Password: ", at).end()
            view.type("nope")
        view.wait_for(r"Password: \nthat is not a session password: [^\n]*in one\)\n\x00EOF")
        assert view.proc.wait(20) == 2
        assert view.text.count("Password: ") == 3, view.text
    finally:
        view.close()
