"""walk41: ``/send`` given a folder.

Found: ``/send /tmp/walk41/files/folder`` in ``screencodec view`` said
``(not sent: /tmp/walk41/files/folder: not a file)``: true, but it did not
say it was a folder nor what to do. A file goes in one offer the other side
is asked about alone (a folder's files would be a question each: no
protocol change for it now), so the line now says it is a folder and how to
send it: each file, or one archive, with the ``tar`` command to make it.

The real host and view on pseudo-terminals; the hint's command is run as
given (by a shell, in the folder's parent's parent) and its archive sent."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from transport.test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["host_and_view"]  # the fixture

FOLDER_SAID = (r"\(not sent: {path} is a folder, and /send sends one file: send each of its"
               r" files \(/send {path}/NAME\), or put them in one archive and send that:"
               r" (tar czf [^\n]*)\)\n")  # fmt: skip


def test_a_folder_is_said_to_be_one_with_what_to_send_instead(
        tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    folder = tmp_path / "My logs"
    folder.mkdir()
    (folder / "a.log").write_text("first\n")
    (folder / "b.log").write_text("second\n")
    dl = tmp_path / "in"
    dl.mkdir()
    host, view = _join(*host_and_view, "--download-dir", str(dl))
    said = FOLDER_SAID.format(path=re.escape(str(folder)))

    mark = len(view.text)
    view.type(f"/send {folder}")
    hint = view.wait_for(said, mark).group(1)
    assert "offering" not in view.text[mark:]
    # The host's own /send reads a path the same way, in the same words.
    mark_host = len(host.text)
    host.type(f"/send {folder}/")
    assert host.wait_for(said, mark_host).group(1) == hint

    # The command given makes one archive, which then goes as any file.
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(hint, shell=True, cwd=work, check=True, timeout=30)
    archive = work / "My logs.tar.gz"
    listed = subprocess.run(["tar", "tzf", str(archive)], capture_output=True, text=True,
                            check=True, timeout=30).stdout.splitlines()  # fmt: skip
    assert sorted(listed) == ["My logs/", "My logs/a.log", "My logs/b.log"]
    mark = len(view.text)
    view.type(f"/send {archive}")
    host.wait_for(r"Question 2: FILE .*?\[y/N\] ", mark_host)
    host.type("y")
    view.wait_for(r"delivered My logs\.tar\.gz \(\d+ bytes\): the host saved it", mark)
    assert (dl / "My logs.tar.gz").read_bytes() == archive.read_bytes()
