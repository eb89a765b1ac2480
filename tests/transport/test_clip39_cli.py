"""clip39: clipboard sharing between ``screencodec host`` and ``screencodec
view``, each a real process on a pseudo-terminal, each with its own X
display (a private Xvfb; the host's is also the one it is controlled on),
the clipboards read and set with the real ``xclip`` as a person's programs
would (Ctrl+C / Ctrl+V use the CLIPBOARD selection).

* the agent's ``/clip`` puts its clipboard on the host's: ``xclip -o`` on
  the host's display reads it, and the host's terminal says who put how many
  characters there, never the text;
* the host's ``/clip`` sends its clipboard: the agent's terminal says how
  many characters came and offers ``/clip take`` (puts them on its own
  clipboard, never unasked: test_clipfix39_take.py) and ``/clip show``,
  which prints it through safe_text (an escape sequence in it never
  reaches the terminal raw);
* ``/clip on``: what the host's user copies while the agent has control
  goes, and the host's terminal says so;
* nothing goes without ``/clip``; an agent without control cannot.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.cli.clipboard_x11 import XClipboard

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_view_cli_send_screens import PtyView


def _xclip_set(display: str, text: str) -> None:
    """As a person's program copies: the selection is the text once this returns."""
    XClipboard(display).set_text(text)


def _xclip_get(display: str) -> str:
    env = {**os.environ, "DISPLAY": display}
    done = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True,
                          env=env, timeout=10, check=False)  # fmt: skip
    return done.stdout.decode("utf-8", "replace")


@pytest.fixture
def agent_display() -> Iterator[str]:
    """The agent's own X display (its desktop), apart from the host's."""
    with private_xvfb(320, 240) as display:
        yield display


def _session(host_display: str, view_env: dict[str, str], control: bool = True,
             name: str = "Dave") -> tuple[PtyHost, PtyView]:  # fmt: skip
    host = PtyHost("--control", "xtest", env={"DISPLAY": host_display})
    try:
        port, code, password = _credentials(host)
        view = PtyView(
            f"127.0.0.1:{port}",
            "--code",
            code,
            "--password",
            password,
            "--name",
            "Dave",
            *(["--control"] if control else []),
            env=view_env,
        )
    except BaseException:
        host.close()
        raise
    try:
        host.say_yes(2 if control else 1)  # its view, then its control
        view.wait_for(r"type /say and your message", 0, 30)
        if control:
            view.wait_for(r"control granted", 0, 30)
    except BaseException:
        view.close()
        host.close()
        raise
    return host, view


def test_the_agents_clip_goes_on_the_host_clipboard_and_back(
        xvfb_display: str, agent_display: str) -> None:  # fmt: skip
    env = {**ENV, "DISPLAY": agent_display}
    host, view = _session(xvfb_display, env)
    try:
        _xclip_set(xvfb_display, "the customer's password")  # copied before the session
        command = "sudo systemctl restart nginx && journalctl -u nginx -n 20 \x1b[2J"
        _xclip_set(agent_display, command)
        view.type("/clip")
        n = len(command)
        view.wait_for(rf"sent your clipboard \({n} characters\) to the host\n", 0, 15)
        view.wait_for(rf"your clipboard \({n} characters\) is on the host's clipboard: there,"
                      r" Ctrl\+V pastes it; in a terminal, Shift\+Insert", 0, 15)  # fmt: skip
        host.wait_for(rf"'Dave' put {n} characters on your clipboard", 0, 15)
        assert _xclip_get(xvfb_display) == command
        assert "systemctl" not in host.text  # the text itself: never printed
        assert b"\x1b[2J" not in host.raw
        # Nothing of the host's went meanwhile (no /clip, sync off).
        assert "host's clipboard (" not in view.text
        # The host's user sends theirs, and the agent has it on its clipboard.
        error = "Error: ENOSPC: no space left on device, write\n    at /srv/app/log.js:12"
        _xclip_set(xvfb_display, error)
        host.type("/clip")
        host.wait_for(rf"sent your clipboard \({len(error)} characters\) to 'Dave'", 0, 15)
        got = view.wait_for(rf"host's clipboard \({len(error)} characters\) received: /clip"
                            " take puts it on your clipboard", 0, 15)  # fmt: skip
        view.type("/clip take")  # never put there unasked (clipfix39)
        view.wait_for(rf"the host's clipboard \({len(error)} characters\) is on your",
                      got.end(), 15)  # fmt: skip
        assert _xclip_get(agent_display) == error
        assert "ENOSPC" not in view.text  # said by its length only
        # Sync: what the user copies while the agent has control goes, told on both sides.
        host.type("/clip on")
        on = host.wait_for(r"clipboard sync on", 0, 15)
        # Copied right after the line, the host run late meanwhile (stopped
        # 1 s): the line came once sync had read what was there, so the copy
        # is a change (flake40: said before that read, which then took the
        # copy for what was there: 2 of 3, with the test's 1 s wait then).
        os.kill(host.proc.pid, signal.SIGSTOP)
        try:
            _xclip_set(xvfb_display, "df -h /srv")
            time.sleep(1.0)
        finally:
            os.kill(host.proc.pid, signal.SIGCONT)
        host.wait_for(
            r"your clipboard \(10 characters\) went to 'Dave': you copied it while"
            r" they control your screen \(/clip off stops that\)",
            on.end(),
            15,
        )
        view.wait_for(
            r"host's clipboard \(10 characters\) received \(they copied it while you"
            r" control their screen\): /clip take puts it on your clipboard",
            0,
            15,
        )
        assert _xclip_get(agent_display) == error  # until /clip take
        host.type("/clip off")
        host.wait_for(r"clipboard sync off", on.end(), 15)
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()


def test_without_a_display_the_agent_reads_it_with_clip_show_and_no_escape_runs(
        xvfb_display: str) -> None:  # fmt: skip
    env = {k: v for k, v in ENV.items() if k != "DISPLAY"}
    host, view = _session(xvfb_display, env)
    try:
        hostile = "ls -la\n\x1b]2;pwned\x07\x1b[31mred\x9b2Jtail\ttab"
        _xclip_set(xvfb_display, hostile)
        host.type("/clip")
        view.wait_for(rf"host's clipboard \({len(hostile)} characters\) received: /clip show"
                      " shows it", 0, 15)  # fmt: skip
        start = len(view.text)
        view.type("/clip show")
        shown = view.wait_for(r"--- host's clipboard \(\d+ characters\) ---\n(.*?)--- end ---",
                              start, 15)  # fmt: skip
        assert shown.group(1).splitlines() == ["ls -la", "??red?tail tab"], shown.group(1)
        raw = view.raw
        assert b"\x1b]2;" not in raw and b"\x1b[31m" not in raw and b"\xc2\x9b" not in raw
        # The agent's own /clip: this terminal has no clipboard to read.
        view.type("/clip")
        view.wait_for(r"\(not sent: this computer's clipboard cannot be read: no X display", 0,
                      15)  # fmt: skip
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()


def test_an_agent_without_control_cannot_and_the_host_says_so_without_the_text(
        xvfb_display: str, agent_display: str) -> None:  # fmt: skip
    env = {**ENV, "DISPLAY": agent_display}
    host, view = _session(xvfb_display, env, control=False)
    try:
        _xclip_set(xvfb_display, "kept")
        _xclip_set(agent_display, "rm -rf ~")
        view.type("/clip")
        view.wait_for(r"\(not sent: clipboard text needs control of the host\)", 0, 15)
        assert _xclip_get(xvfb_display) == "kept"
        # /clip on and off are the host user's words; sync is off at start.
        host.type("/clip on")
        host.wait_for(r"clipboard sync on: what you copy while an agent controls your screen"
                      r" goes to them", 0, 15)  # fmt: skip
        host.type("/clip off")
        host.wait_for(r"clipboard sync off: your clipboard goes to no one unless you type"
                      r" /clip", 0, 15)  # fmt: skip
        host.type("/help")
        host.wait_for(r"/clip \[on\|off\]\s+send what is on your clipboard", 0, 15)
        assert not re.search(r"rm -rf", host.text)
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()


def test_attack_escape_sequences_in_the_agents_text_and_name_never_reach_the_customer(
        xvfb_display: str, agent_display: str) -> None:  # fmt: skip
    """The customer's terminal names the agent and counts the characters; the
    text (a terminal title change, a screen clear, a fake prompt) is never
    printed, and the name's escape sequence is not either."""
    env = {**ENV, "DISPLAY": agent_display}
    host, view = _session(xvfb_display, env, name="Dave\x1b]2;owned\x07")
    try:
        hostile = "\x1b]2;you have been pwned\x07\x1b[2J\x1b[Hroot@host:~# "
        _xclip_set(agent_display, hostile)
        view.type("/clip")
        # The name's sequence removed (safe_text, here or before it left the view).
        host.wait_for(rf"'Dave\??' put {len(hostile)} characters on your clipboard", 0, 15)
        assert _xclip_get(xvfb_display) == hostile  # the clipboard has it as sent
        raw = host.raw
        assert b"\x1b]2;" not in raw and b"\x1b[2J" not in raw and b"pwned" not in raw
        assert b"root@host" not in raw and b"owned" not in raw
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()
