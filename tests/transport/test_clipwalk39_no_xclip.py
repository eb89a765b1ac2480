"""clipwalk39: a customer's machine without ``xclip``, or shared without
remote control (a real ``screencodec
host`` on a pty whose PATH lacks it, and a ``view`` with its own Xvfb).

Found: the agent's ``/clip`` said ``(not sent: the host does not take
clipboard text)``, as for a host of a version without clipboard sharing,
while the host's terminal says ``(clipboard sharing unavailable: the xclip
program is not installed ...)``; the agent could not tell the customer
what was missing. Now the agent reads that the host has no clipboard to
put it on, and why it may be (docs/cli.md, "Clipboard").
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from screencodec.capture.xvfb import private_xvfb
from screencodec.cli.clipboard_x11 import XClipboard

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV
from .test_view_cli_send_screens import PtyView


@pytest.fixture
def agent_display() -> Iterator[str]:
    with private_xvfb(320, 240) as display:
        yield display


def test_a_host_without_xclip_is_named_as_such_to_the_agent(
        xvfb_display: str, agent_display: str) -> None:  # fmt: skip
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not (Path(p) / "xclip").exists())  # fmt: skip
    assert shutil.which("xclip", path=path) is None
    host = PtyHost("--control", "xtest", env={"DISPLAY": xvfb_display, "PATH": path})
    view = None
    try:
        port, code, password = _credentials(host)
        view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password, "--name",
                       "Dave", "--control", env={**ENV, "DISPLAY": agent_display})  # fmt: skip
        host.say_yes(2)
        view.wait_for(r"control granted", 0, 30)
        XClipboard(agent_display).set_text("sudo apt install foo")
        view.type("/clip")
        view.wait_for(r"\(not sent: the host has no clipboard to put it on \(its computer has no"
                      r" X display or no xclip program\)\)", 0, 15)  # fmt: skip
        host.type("/clip")
        host.wait_for(r"\(clipboard sharing unavailable: the xclip program is not installed"
                      r" \(Debian: apt install xclip\)\)", 0, 15)  # fmt: skip
        assert view.leave() == 0, view.text
    finally:
        if view is not None:
            view.close()
        host.close()


def test_sync_on_a_host_without_remote_control_says_nothing_will_go(
        xvfb_display: str, agent_display: str) -> None:  # fmt: skip
    """Found: ``screencodec host --control none``'s ``/clip on`` said what the
    customer copies while an agent controls the screen goes to them; none
    ever can, so nothing went, unsaid."""
    host = PtyHost("--control", "none", env={"DISPLAY": xvfb_display})
    try:
        _credentials(host)
        host.type("/clip on")
        host.wait_for(r"clipboard sync on: what you copy while an agent controls your screen goes"
                      r" to them \(/clip off stops it\); but no agent can control your screen"
                      r" \(remote control is off here\), so nothing goes: type /clip to send it",
                      0, 15)  # fmt: skip
    finally:
        host.close()
