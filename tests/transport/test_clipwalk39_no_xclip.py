"""clipwalk39: a customer's machine without ``xclip`` (a real ``screencodec
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
