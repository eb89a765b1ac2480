"""review41a: walk41's ``/send FOLDER`` hint for a folder whose name starts
with a dash.

Found: the hint ``tar czf -notes.tar.gz -C PARENT -notes`` (each word quoted
for a shell, which leaves a dash as it is) gave tar the folder's name as
options: "tar: You may not specify more than one '-Acdtrux', '--delete' or
'--test-label' option", no archive. (A name such as
``--use-compress-program=...`` is an option tar acts on.) Expected: the
command, run as given, makes the archive of that folder.

The real view and host on pseudo-terminals; the hint run by a shell."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from test_walk41_send_folder import FOLDER_SAID
from transport.test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["host_and_view"]  # the fixture


def test_the_hint_for_a_folder_named_with_a_dash_makes_its_archive(
        tmp_path: Path, host_and_view: tuple[list, list[PtyView]]) -> None:  # fmt: skip
    folder = tmp_path / "-notes"
    folder.mkdir()
    (folder / "a.log").write_text("first\n")
    _host, view = _join(*host_and_view)
    mark = len(view.text)
    view.type(f"/send {folder}")
    hint = view.wait_for(FOLDER_SAID.format(path=re.escape(str(folder))), mark).group(1)
    work = tmp_path / "work"
    work.mkdir()
    ran = subprocess.run(hint, shell=True, cwd=work, capture_output=True, text=True, timeout=30,
                         check=False)  # fmt: skip
    assert ran.returncode == 0, (hint, ran.stderr)
    listed = subprocess.run(["tar", "tzf", str(work / "-notes.tar.gz")], capture_output=True,
                            text=True, check=True, timeout=30).stdout.splitlines()  # fmt: skip
    assert sorted(listed) == ["-notes/", "-notes/a.log"]
