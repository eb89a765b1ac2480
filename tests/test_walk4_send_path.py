"""The PATH of ``/send PATH`` as people give it (walk4: the agent's
``view`` and the host's terminal offer files with ``/send``; both read the
path with :func:`screencodec.cli.say.file_to_send`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.cli.say import file_to_send


@pytest.mark.xfail(strict=True, reason="walk4: '/send /dir/my\\ file.bin' answers '(not sent:"
                   " /dir/my\\ file.bin: no such file)'; expected: the file is offered")
def test_walk4_send_takes_a_path_whose_spaces_are_escaped_with_backslashes(
    tmp_path: Path,
) -> None:
    """walk4: a path with its spaces escaped (what a file dropped into macOS Terminal or
    iTerm2 gives, and what a shell's completion writes) is answered '(not sent: ...: no such
    file)' though the file is there; a quoted path ('...' or "...", as GNOME Terminal drops
    it) is offered. Expected: the escaped path names the same file"""
    report = tmp_path / "My Report.pdf"
    report.write_bytes(b"%PDF-1.4\n")
    assert file_to_send(f"'{report}'") == report  # quoted: taken as it is
    escaped = str(report).replace(" ", "\\ ")
    assert file_to_send(escaped) == report, file_to_send(escaped)
