"""say38: ``/say`` on the host's terminal while Question 1 is open reaches
the agent who asks, whose ``view`` prints it as it waits for the answer.

walk38: ``/say one moment please`` answered "(not sent: no support agent
sees your screen)" while an agent's request was on screen. Real ``host`` and
``view`` processes, each on a pseudo-terminal as a person runs them; the
host records (the audit log must have the line)."""

from __future__ import annotations

import re
from pathlib import Path

from screencodec.recording import RecordingReader

from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_send_screens import PtyView

QUESTION = r"Question 1: .*?\[y/N\] "
SAID = (r"you said to 'Dave' \(127\.0\.0\.1:\d+\), who asks to see your screen \(they see"
        r" none of it until you say yes\): one moment, I close my mail first")  # fmt: skip


def _view(port: int, code: str, password: str) -> PtyView:
    return PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password,
                   "--name", "Dave")  # fmt: skip


def test_the_agent_reads_the_line_while_waiting_and_the_yes_still_lets_them_in(
        tmp_path: Path) -> None:  # fmt: skip
    host = PtyHost("--scenario", "idle", "--record", str(tmp_path))
    view: PtyView | None = None
    try:
        port, code, password = _credentials(host)
        view = _view(port, code, password)
        asked = host.wait_for(QUESTION)
        view.wait_for("waiting for the host's user to accept...")
        host.type("/say one moment, I close my mail first")
        # Found: "(not sent: no support agent sees your screen)".
        host.wait_for(SAID, asked.end(), 15)
        line = view.wait_for(r"host says: one moment, I close my mail first\r?\n", 0, 15)
        assert "connected to" not in view.text[:line.start()], view.text
        host.type("y")
        granted = view.wait_for(r"connected to 127\.0\.0\.1:\d+, granted: view", line.end(), 20)
        view.wait_for(r"decoded", granted.end(), 20)
        assert view.leave() == 0, view.text
        host.proc.wait(timeout=30)  # --once: the recording is closed as it exits
    finally:
        if view is not None:
            view.close()
        host.close()
    (done,) = tmp_path.glob("*.screc")
    with RecordingReader(done) as reader:
        events = reader.events()
    chats = [(e["text"], e.get("before_grant")) for e in events if e["type"] == "chat"]
    assert chats == [("one moment, I close my mail first", True)], events
    kinds = [e["type"] for e in events]
    assert kinds.index("chat") < kinds.index("grant"), kinds


def test_an_agent_refused_after_the_line_saw_only_that_text() -> None:
    host = PtyHost("--scenario", "idle")
    view: PtyView | None = None
    try:
        port, code, password = _credentials(host)
        view = _view(port, code, password)
        asked = host.wait_for(QUESTION)
        host.type("/say who are you? I did not call anyone")
        host.wait_for(r"you said to 'Dave'", asked.end(), 15)
        line = view.wait_for(r"host says: who are you\? I did not call anyone", 0, 15)
        host.type("n")
        view.wait_for(r"declined", line.end(), 20)
        status = view.proc.wait(timeout=20)
        assert status != 0, view.text
        assert not re.search(r"connected to|decoded|granted", view.text), view.text
    finally:
        if view is not None:
            view.close()
        host.close()
