"""walk46 (``screencodec recordings export`` of a recorded session): with
``--mp4`` naming a folder that is not there, the command read the whole
session, then said "REC.screc: MP4 export of its 1280x720 picture failed
([Errno 2] No such file or directory)": the recording's name, and nothing
of the missing folder, as if the recording were at fault. An output whose
folder is not there (--mp4, --log, --srt) is now refused before anything is
read, naming it, exit 2. A session recorded at a real host over loopback,
the real command. The one recording serves the three options: nothing
reads or changes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from warm_start import warm_run

from .test_walk42_export_srt import CLI, _record


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session recorded at a real host (10 s of wall: made once)."""
    d = tmp_path_factory.mktemp("walk46") / "rec"
    d.mkdir()
    return _record(d)


@pytest.mark.parametrize("option", ["--mp4", "--log", "--srt"])
def test_walk46_an_output_in_a_missing_folder_is_refused_first(
        option: str, rec: Path, tmp_path: Path) -> None:  # fmt: skip
    before = rec.stat()
    out = tmp_path / "nothere" / "session.out"
    done = warm_run([*CLI, "recordings", "export", str(rec), option, str(out)],
                    check=False, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done
    assert done.stderr.strip().splitlines()[-1] == (
        f"screencodec recordings export: cannot write {out}: its folder {out.parent}"
        " is not there")  # fmt: skip
    assert done.stdout == ""  # nothing read, nothing said of the recording
    after = rec.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
