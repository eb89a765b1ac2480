"""The PATH of ``/send PATH`` as people give it (walk4: the agent's
``view`` and the host's terminal offer files with ``/send``; both read the
path with :func:`screencodec.cli.say.file_to_send`)."""

from __future__ import annotations

from pathlib import Path

from screencodec.cli.say import file_to_send


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
    assert file_to_send(f'"{report}"') == report
    assert file_to_send(str(report)) == report  # plain, spaces and all, as it exists
    odd = tmp_path / "Bob's notes.txt"  # a quote in a name typed plainly: as typed
    odd.write_bytes(b"x")
    assert file_to_send(str(odd)) == odd
    assert file_to_send(str(odd).replace(" ", "\\ ").replace("'", "\\'")) == odd
    missing = file_to_send(str(tmp_path / "no such\\ thing.pdf"))
    assert isinstance(missing, str) and "no such file" in missing, missing
