"""docs/web.md says what ``recordings play --web`` does with a recording
that is not the host's (found: it did not; docs/recording.md "What play and
export show" did): a damaged one, a signed forgery with its picture hashes
rewritten among them, is refused before any page opens, in the words the
doc quotes; a bad picture is never sent to the page. The doc's quotes are
checked against the real command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.recording.test_shown_checked import _forge, _record, _rehash, _run, rechain, split, write

from screencodec.recording import generate_host_keypair

_DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"


def _playing_section() -> str:
    text = _DOC.read_text()
    start = text.index("## Playing a recording")
    return " ".join(text[start:text.index("\n## ", start + 1)].split())


def test_the_doc_says_a_forged_recording_is_refused_before_any_page(tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    said = _playing_section()
    assert "A damaged recording is refused before any page opens" in said, said
    assert "signed one forged with its picture hashes rewritten" in said, said
    quoted = "`screencodec recordings play: FILE: damaged: ...: NOT played`, exit 2"
    assert quoted in said, said
    assert "one that is not the host's is never sent to the page" in said, said
    assert "`Cannot show T s of this recording: FILE: bad-picture: update K (...)`" in said
    # What the doc quotes is what the command says.
    generate_host_keypair(tmp_path / "h.key", tmp_path / "h.pub")
    forged = tmp_path / "forged.screc"
    _forge(_record(tmp_path / "signed", signer=tmp_path / "h.key"), forged)
    bad = _rehash(forged, tmp_path / "rehashed.screc")
    write(bad, rechain(split(bad)))
    done = _run("play", bad, "--web", "--no-open")
    assert done.returncode == 2 and done.stdout == "", done.stdout  # no link: no page
    pattern = re.escape("screencodec recordings play: FILE: damaged: ...: NOT played")
    pattern = pattern.replace("FILE", re.escape(str(bad))).replace(r"\.\.\.", ".+")
    assert re.fullmatch(pattern, done.stderr.strip()), done.stderr
