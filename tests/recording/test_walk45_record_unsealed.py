"""walk45 (walk44's leftover): ``screencodec host --record DIR`` without
``--record-key`` said ``recording every session into DIR; kept 90 days``
and nothing of what keeps the recordings from other eyes: with a key the
line says ``sealed for the auditor's key``, without one nothing, so a
customer could not tell that the files hold their screen readable as it
was. Now the line says so, and what does protect them: the files' mode.
A real host on a pty, a real Viewer as the agent; the file's mode checked
(the line must be true)."""

from __future__ import annotations

import stat
from pathlib import Path

from transport.test_attack_prompts import PtyHost
from transport.test_host_cli_commands import Where, join, leave, session

UNSEALED = ("not sealed: readable by this account and root only (file mode 0600);"
            " --record-key AUDITOR.pub seals them")  # fmt: skip


def test_walk45_a_host_recording_without_a_key_says_what_protects_the_files(
    tmp_path: Path,
) -> None:
    host = PtyHost("--record", str(tmp_path), once=False)
    try:
        said = host.wait_for(r"Type /help for the other commands\.\n([^\n]*)\n")
        assert said.group(1) == f"recording every session into {tmp_path}, {UNSEALED}; kept 90 days"

        async def body(at: Where) -> None:
            viewer, running = await join(host, at, "Alice")
            await leave(viewer, running)

        session(host, body)
    finally:
        host.close()
    (recording,) = tmp_path.glob("*.screc")
    assert stat.S_IMODE(recording.stat().st_mode) & 0o077 == 0, oct(recording.stat().st_mode)
