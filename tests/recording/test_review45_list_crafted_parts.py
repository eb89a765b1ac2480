"""review45: ``recordings list``'s parts (walk45) read from crafted files.

A part's row names its session by its first part, followed by the file name
its consent event's ``earlier`` gives (no hash check: verify's). A file in
the folder anyone who can write it may craft; what the list then says must
be true of the folder it reads. Crafted, unsigned recordings (attack_craft);
the command as the auditor runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screencodec.recording.format import ChunkType

from .test_attack_craft import START, cli, craft, event, header, meta, no_traceback, picture


def _part(folder: Path, name: str, earlier: str | None, start: float, sid: str,
          **named: Any) -> Path:  # fmt: skip
    """A recording that starts ``start`` s after START; ``earlier``: the file
    its consent event says it resumes (a resumed link's), ``named`` the rest
    of what it names of it (session_id, sha256, bytes)."""
    body = [picture(64, 48)]
    if earlier is not None:
        said = {"type": "consent", "t": 0.1, "earlier": {"file": earlier, **named}}
        body.append((ChunkType.EVENT, event(said), 100_000))
    return craft(folder / name, body, head=header(start_unix=START + start),
                 session=meta(session_id=sid, start_unix=START + start))  # fmt: skip


def _rows(folder: Path) -> list[str]:
    done = cli("list", folder)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[1:]


@pytest.mark.parametrize(
    "earlier",
    [
        pytest.param("a.screc", id="itself"),
        # verify calls a name that is no recording's damage (earlier_verdict).
        pytest.param("../../etc/x.screc", id="outside"),
        pytest.param("x/../a.screc", id="with-a-slash"),
    ],
)
def test_a_part_naming_itself_or_a_path_is_listed_as_its_own_session(
    tmp_path: Path, earlier: str
) -> None:
    """Found: 'a later part (its link was lost and resumed) of the session of
    a.screc, not in this folder  a.screc' (itself, in the folder), and the
    same of '../../etc/x.screc'."""
    _part(tmp_path, "a.screc", earlier, 0, "sess-a")
    (row,) = _rows(tmp_path)
    assert row.split()[0] == "sess-a" and row.endswith(")  a.screc"), row
    assert "part" not in row, row


def test_two_files_naming_each_other_are_not_said_to_be_missing(tmp_path: Path) -> None:
    """Found: both rows read '... of the session of b.screc, not in this
    folder', b.screc the second row. A cycle is no resumed link's chain: the
    earlier (a) is the session's start, b its part 2. Each names the other
    as a recorder names a file not complete yet (no hash: rec52 lists a
    claim only when what it names is that file's)."""
    _part(tmp_path, "a.screc", "b.screc", 0, "sess-a", session_id="sess-b", sha256=None,
          bytes=None)  # fmt: skip
    _part(tmp_path, "b.screc", "a.screc", 10, "sess-b", session_id="sess-a", sha256=None,
          bytes=None)  # fmt: skip
    one, two = _rows(tmp_path)
    assert "not in this folder" not in one + two, (one, two)
    assert one.split()[0] == two.split()[0] == "sess-a", (one, two)
    assert one.endswith("  part 1 of 2  a.screc"), one
    assert two.endswith("  part 2 of 2 (its link was lost and resumed; unsigned, so not"
                        " proven; the part before it named without its size (not complete"
                        " when named))  b.screc"), two  # fmt: skip


def test_a_crafted_part_does_not_take_another_sessions_id(tmp_path: Path) -> None:
    """Found (review45, a strict xfail until rec52): the forged file was
    listed as 'real-sess ... part 2 of 2 (its link was lost and resumed)',
    its own id shown nowhere: list checked nothing of what it names."""
    _part(tmp_path, "real.screc", None, 0, "real-sess")
    _part(tmp_path, "forged.screc", "real.screc", 10, "forged-sess")
    real, forged = _rows(tmp_path)
    assert forged.split()[0] == "forged-sess", forged
    assert "part" not in real, real
    assert forged.endswith("  its claim to resume the session of real.screc does NOT check"
                           " out: the session id it names is not that file's  forged.screc"
                           ), forged  # fmt: skip
