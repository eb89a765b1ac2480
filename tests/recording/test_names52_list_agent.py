"""names52: ``recordings list`` names a resumed session's agent the same way
in every part. walk52 listed one agent, resumed twice through a relay, as
``(relay ... viewer 127.0.0.1)``, then ``(... #3)``, then ``(... #5)``: each
part under its own link's name, as if three agents took part. A later part
now reads its first part's name and address (the name the host's user was
asked about, and the part's session id is that part's already), and says
its own link's name in its part note (what its audit log and the host's log
call it). A real session resumed twice: real Host and Viewers over loopback
through a proxy the test cuts, recorded by the real Recorder (rec32's
set-up), listed by the real CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from screencodec.recording import RecordingReader

from .test_attack_craft import cli, no_traceback
from .test_rec32_chain import _session


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _session(tmp_path_factory.mktemp("names52"), 3)


def test_every_part_of_a_resumed_session_names_the_agent_as_its_first(
    chain: list[Path],
) -> None:
    peers = []
    for path in chain:
        with RecordingReader(path) as r:
            peers.append(r.meta()["peer"])
    assert len(set(peers)) == 3, peers  # one name per link: the host's
    done = cli("list", chain[0].parent)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()[1:]
    assert len(rows) == 3, done.stdout
    first = f"complete  Alice (support) ({peers[0]})  part "
    for n, (row, path) in enumerate(zip(rows, chain, strict=True), 1):
        assert first in row, row  # the old row read each link's own name
        assert row.endswith(f"  {path.name}"), row
        assert f"part {n} of 3" in row, row
    # Each later part says the name of its own link, as its audit log has it.
    for row, peer in zip(rows[1:], peers[1:], strict=True):
        assert f"(its link was lost and resumed as {peer};" in row, row
    assert " as " not in rows[0], rows[0]
    sids = {re.split(r"\s+", row)[0] for row in rows}
    assert len(sids) == 1, rows  # one session id, its first part's (walk45)


def test_a_part_whose_first_part_is_gone_names_the_agent_as_its_first(
    chain: list[Path], tmp_path: Path,
) -> None:
    """The first part pruned: the two left name the agent as the first
    did, from their own consent event's ``first_peer`` (the session's name
    on its first link, recorded since names52)."""
    folder = tmp_path / "rec"
    folder.mkdir()
    for path in chain[1:]:
        shutil.copy2(path, folder / path.name)
    with RecordingReader(chain[0]) as r:
        first = r.meta()["peer"]
    done = cli("list", folder)
    no_traceback(done)
    rows = done.stdout.splitlines()[1:]
    assert len(rows) == 2, done.stdout
    for row, path in zip(rows, chain[1:], strict=True):
        with RecordingReader(path) as r:
            peer = r.meta()["peer"]
            resumed = next(e for e in r.events() if e.get("resumed"))
        assert resumed["first_peer"] == first, resumed
        assert f"complete  Alice (support) ({first})  a later part (its link was lost and " \
               f"resumed as {peer}; " in row, row
