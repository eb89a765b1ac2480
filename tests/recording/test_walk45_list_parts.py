"""walk45 (walk44's leftover): ``recordings list`` showed the recording of a
resumed link, the second part of Alice's session, as a session of its own:
another session id, ``complete``, nothing to say it goes on the one above.
Now its row carries the session's id (its first part's) and says which part
it is; the first part says how many there are. A real session resumed once
(rec32's set-up: real Host and Viewer, a proxy the test cuts, the real
Recorder); the command in its own process."""

from __future__ import annotations

from pathlib import Path

from screencodec.recording import RecordingReader

from .test_attack_craft import cli, no_traceback
from .test_rec32_chain import _session


def _peer(path: Path) -> str:
    """The host's name for the link ``path`` recorded (its META's peer)."""
    with RecordingReader(path) as r:
        return str(r.meta()["peer"])


def test_walk45_list_shows_a_resumed_links_recording_as_a_part_of_its_session(
    tmp_path: Path,
) -> None:
    first, second = _session(tmp_path, 2)
    done = cli("list", tmp_path, process=True)
    no_traceback(done)
    assert done.returncode == 0
    head, one, two = done.stdout.splitlines()
    assert head.startswith("session "), done.stdout
    sid = one.split()[0]
    assert two.split()[0] == sid, done.stdout  # one session
    assert one.endswith(f"  part 1 of 2  {first.name}"), done.stdout
    # rec52: unsigned (this recorder signs nothing), its claim is checked but
    # not proven: anyone who can read the first file can copy what it names.
    peer = _peer(second)  # names52: its own link's name in the note
    assert two.endswith(f"  part 2 of 2 (its link was lost and resumed as {peer}; unsigned, so"
                        f" not proven)  {second.name}"), done.stdout  # fmt: skip


def test_walk45_list_says_a_later_part_whose_start_is_gone(tmp_path: Path) -> None:
    first, second = _session(tmp_path, 2)
    first.unlink()
    done = cli("list", tmp_path, process=True)
    no_traceback(done)
    _head, two = done.stdout.splitlines()
    said = (f"a later part (its link was lost and resumed as {_peer(second)}; unsigned, so not"
            f" proven) of the session of {first.name}")  # fmt: skip
    assert two.endswith(f"  {said}, not in this folder  {second.name}"), done.stdout


def test_walk45_list_numbers_no_part_of_a_session_whose_start_is_gone(tmp_path: Path) -> None:
    """Three parts, the first pruned: the two left are both later parts,
    under the second's id; neither reads "part 1"."""
    first, second, third = _session(tmp_path, 3)
    first.unlink()
    done = cli("list", tmp_path, process=True)
    no_traceback(done)
    _head, two, three = done.stdout.splitlines()
    assert two.split()[0] == three.split()[0], done.stdout
    for row, path in ((two, second), (three, third)):
        said = (f"a later part (its link was lost and resumed as {_peer(path)}; unsigned, so"
                f" not proven) of the session of {first.name}")  # fmt: skip
        assert row.endswith(f"  {said}, not in this folder  {path.name}"), done.stdout
    assert "part 1" not in done.stdout
