"""The page's verdict leads with a recording being cut short, whatever else
it says (6cda698's page_verdict).

A recording cut short (a killed host, a tail lost in a copy) played with
``play --web`` without ``--hosts`` was headed "NOT verified: its signer was
not checked against pinned hosts (play --web --hosts FILE checks it)": true,
but it points the auditor at ``--hosts`` as the way to a verified recording,
and with ``--hosts`` the same file is still not verified whole; that it
stops early was said only further on ("incomplete: ..."). Unsigned, it was
headed "unsigned" alone. The lead now says "cut short" first in every case;
the rest of the line (verify's words) is unchanged. The recordings are the
host's own writer's, cut as a lost tail cuts them, read by the real reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.recording.test_signed_attacks import signed, split

from screencodec.recording import RecordingReader, generate_host_keypair
from screencodec.recording.format import CHUNK_HEADER, MAGIC, ChunkType
from screencodec.recording.sign import load_pinned_hosts

pytest.importorskip("aiohttp")

from screencodec.web.playback import page_verdict


def _cut(path: Path) -> Path:
    """``path`` cut right after its second SIGNATURE chunk (signed: what a
    pinned host signed is all there is, as when the host is killed right
    after a signature), or a third from its end (unsigned)."""
    chunks = split(path)
    types = [CHUNK_HEADER.unpack_from(c)[1] for c in chunks]
    signatures = [k for k, t in enumerate(types) if t == ChunkType.SIGNATURE]
    if len(signatures) >= 2:
        path.write_bytes(MAGIC + b"".join(chunks[: signatures[1] + 1]))
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 2 // 3])
    return path


# With --hosts an unsigned recording gets no page (exit 4): not a case here.
@pytest.mark.parametrize(("signer", "hosts"), [(True, False), (True, True), (False, False)],
                         ids=["signed", "signed-hosts", "unsigned"])  # fmt: skip
def test_a_recording_cut_short_is_said_so_first(tmp_path: Path, signer: bool, hosts: bool) -> None:
    generate_host_keypair(tmp_path / "h.key", tmp_path / "h.pub")
    path = _cut(signed(tmp_path / "r.screc", tmp_path / "h.key" if signer else None))
    pinned = load_pinned_hosts(tmp_path / "h.pub").values() if hosts else None
    report = RecordingReader(path).verify(hosts=pinned)
    assert report.status == "incomplete"
    kind, text = page_verdict(report)
    assert kind == "unverified"
    # Expected: the lead names the cut before anything else ...
    assert text.startswith("NOT verified whole: cut short"), text
    # ... and verify's own words follow, as before.
    assert text.endswith(report.describe().removeprefix(f"{path}: ")), text
