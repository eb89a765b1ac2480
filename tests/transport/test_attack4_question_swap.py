"""Attack on "a question to the local user is answered only by its own
answer", by a viewer holding VIEW, on a real terminal (a pty) running
``screencodec host --control xtest`` against a private Xvfb, over a real
loopback socket.

The viewer offers a file and asks for CONTROL right behind it. The user
reads the file's question and types ``y``; as they type, the viewer
withdraws its offer (the file-results channel's 0x02, what a sender sends
when it gives an offer up). The file's question closes and the control
question is put at once, so the ``y`` meant for the file comes just after
the control question was shown: before, it granted CONTROL (only lines typed
*before* a question was shown were discarded). Expected: a line that comes
right after a question closed without an answer answers nothing (the user
is told), and the control question waits for its own answer.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import TerminalQuestions
from screencodec.transport.session.permissions import CONTROL
from screencodec.transport.session.sidechannels import FILE_RESULTS_CHANNEL

from .secure_fixtures import run
from .test_attack_prompts import (
    PROMPT_END,
    PtyHost,
    _can_control,
    _credentials,
    _drain,
    _next_of,
    _viewer,
)


def test_a_y_typed_as_a_withdrawn_file_question_closes_does_not_grant_control(
        tmp_path: Path, xvfb_display: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host = PtyHost("--download-dir", str(tmp_path), *_can_control(xvfb_display, monkeypatch))
    try:
        port, code, password = _credentials(host)

        async def attack() -> None:
            ch = await _viewer(port, code, password, "agent")
            host.say_yes(1)  # it sees the screen
            await _next_of(ch, m.PermissionGrant)
            mark = len(host.text)
            await ch.send(m.encode(m.FileOffer(7, "report.pdf", 5)))
            await ch.send(m.encode(m.PermissionRequest(CONTROL.bits, "agent")))
            q2 = host.wait_for(r"\*\*\* Question 2: (.*?)" + re.escape(PROMPT_END), mark)
            assert "report.pdf" in q2.group(1)
            # The user is typing "y" for the file; the viewer withdraws it.
            withdraw = bytes([2]) + (7).to_bytes(4, "big")
            await ch.send(m.encode(m.Extension(FILE_RESULTS_CHANNEL, withdraw)))
            host.wait_for(r"Question 2 closed without an answer", q2.end())
            q3 = host.wait_for(r"\*\*\* Question 3: (.*?)" + re.escape(PROMPT_END), q2.end())
            assert "CONTROL your mouse and keyboard" in q3.group(1)
            host.type("y")  # meant for the file: it comes as question 3 shows
            # Not taken: the user is told, and question 3 waits for its answer.
            told = host.wait_for(r"not taken as the answer to Question 3.*?"
                                 + re.escape(PROMPT_END), q3.end())  # fmt: skip
            await asyncio.sleep(TerminalQuestions.SETTLE)  # read, then answered
            host.type("n")
            answer = await _next_of(ch, m.PermissionGrant, m.PermissionDeny)
            assert answer == m.PermissionDeny(CONTROL.bits)
            host.wait_for(r"Question 3: no", told.end())
            await ch.send(m.encode(m.Bye("done")))
            await _drain(ch)

        run(attack(), timeout=60)
        host.wait_for(r"session with .* ended")
        assert not any(tmp_path.iterdir())  # the withdrawn file left nothing
    finally:
        host.close()
