"""walk46: ``screencodec recordings list DIR`` of a folder with no
recordings (the wrong folder, or a host that recorded nothing yet) printed
the table's header alone and exited 0: nothing said there was nothing. It
now says so under the header, on stderr (the table on stdout stays a table
a script reads); exit 0 as before. The real command."""

from __future__ import annotations

import sys
from pathlib import Path

from warm_start import warm_run


def test_walk46_list_of_a_folder_without_recordings_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a recording\n")
    done = warm_run([sys.executable, "-m", "screencodec", "recordings", "list",
                     str(tmp_path)], check=False, capture_output=True, text=True,
                    timeout=60)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.splitlines()[0].startswith("session        start (UTC)")
    assert len(done.stdout.splitlines()) == 1
    # Found: nothing on stderr.
    assert done.stderr == f"no recordings in {tmp_path} (no *.screc file there)\n"
