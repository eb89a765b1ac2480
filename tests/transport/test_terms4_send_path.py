"""``/send`` with a path whose spaces are escaped with backslashes (what a
file dropped into macOS Terminal, or a shell's completion, gives), typed
into the real terminals: a ``host`` on a pty and a ``view`` subprocess."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from .helpers import run
from .test_attack_prompts import PtyHost, _credentials
from .test_view_cli_ux import let_in_and_send, read_until, stop, viewer


def test_both_terminals_take_a_path_with_escaped_spaces(tmp_path: Path) -> None:
    """The host's /send of 'My\\ Report.pdf' with no agent there says there is no
    agent (not 'no such file'); the agent's is offered and asked about. The old
    terminals said '(not sent: .../My\\ Report.pdf: no such file)' on both."""
    report = tmp_path / "My Report.pdf"
    report.write_bytes(b"%PDF-1.4\n")
    escaped = str(report).replace(" ", "\\ ")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    host = PtyHost("--download-dir", str(inbox))
    port, code, password = _credentials(host)

    async def main() -> None:
        start = len(host.text)
        host.type(f"/send {escaped}")
        said = await asyncio.to_thread(host.wait_for, r"\(not sent: [^\n]*\n", start)
        assert "no support agent sees your screen" in said.group(0), said.group(0)
        view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password,
                      "--name", "Alice", stdin=subprocess.PIPE)  # fmt: skip
        assert view.stdin is not None
        try:
            await let_in_and_send(host, view, escaped)
            seen = await asyncio.to_thread(read_until, view, "My Report.pdf")
            assert "offering My Report.pdf (9 bytes)" in seen, seen
            await asyncio.to_thread(host.wait_for, r"Question 2: .*My Report\.pdf")
        finally:
            stop(view)

    try:
        run(main(), 60)
    finally:
        host.close()
