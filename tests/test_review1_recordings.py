"""Review of 51aaeec (play and export --hosts): a pin file whose revocation
time is one Python can read but not say in UTC (``0001-01-01T00:00:00+14:00``
is 31 December of the year 0 in UTC; ``9999-12-31T23:59:59-14:00`` the year
10000) was taken as a pin, and the verdict's words then failed: ``verify``,
``play`` and ``export --hosts`` exited 2 with only "year 0 is out of range"
(no file, no line), and ``revoke --as-of`` wrote nothing with the same words.
A revocation time must be one the pin file and the verdict can say: such a
line is refused as the pin file's error, naming the file and the line, as
every other bad line is (sign.parse_utc).

Real signed recording (the host's writer, a real host key), the installed
command as the auditor runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recording.test_attack_craft import cli, no_traceback
from recording.test_signed_attacks import signed
from screencodec.errors import IntegrityError
from screencodec.recording import generate_host_keypair

TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.mark.parametrize("when", TIMES)
def test_review1_a_revocation_time_out_of_range_is_the_pin_files_error(
    tmp_path: Path, when: str
) -> None:
    generate_host_keypair(tmp_path / "h1.key", tmp_path / "h1.pub")
    rec = signed(tmp_path / "s.screc", tmp_path / "h1.key")
    pub = (tmp_path / "h1.pub").read_text().split()[1]
    pins = tmp_path / "pins.pub"
    pins.write_text(f"# h1\nscreencodec-host-revoked-v1 {pub} {when}\n")
    out = tmp_path / "out"
    runs = {
        "verify": cli("verify", rec, "--hosts", pins),
        "play": cli("play", rec, "--hosts", pins, "--at", "0.5", "--out", out),
        "export": cli("export", rec, "--hosts", pins, "--png-every", "0.5", out),
    }
    for action, done in runs.items():
        no_traceback(done)
        assert done.returncode == 2, (action, done.stdout, done.stderr)
        assert f"{pins}, line 2: not a screencodec-host-public-v1 line" in done.stderr, (
            action,
            done.stderr,
        )
        assert "out of range" not in done.stderr, (action, done.stderr)
    assert not out.exists()  # nothing shown


@pytest.mark.parametrize("when", TIMES)
def test_review1_revoke_as_of_a_time_out_of_range_is_refused(tmp_path: Path, when: str) -> None:
    generate_host_keypair(tmp_path / "h1.key", tmp_path / "h1.pub")
    pins = tmp_path / "pins.pub"
    pins.write_text((tmp_path / "h1.pub").read_text())
    before = pins.read_bytes()
    done = cli("revoke", pins, tmp_path / "h1.pub", "--as-of", when)
    no_traceback(done)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "out of range" not in done.stderr, done.stderr
    assert "--as-of" in done.stderr, done.stderr
    assert pins.read_bytes() == before


def test_review1_a_recording_changed_in_place_after_the_check_is_not_shown(
    tmp_path: Path,
) -> None:
    """The reader maps the file (mmap) and play/export read each chunk again as
    they decode it, after the --hosts check: bytes changed in place after the
    check (CRC made right, as anyone can) were shown as the pinned host's,
    unmarked, exit 0 (play --web: for as long as the page plays). Expected:
    the picture shown is the one checked. Fixed: with --hosts, play, export
    and play --web read the file whole (cli/recordings_show._open_readable), and
    play --web plays the reader it checked. rec32: that cost the file's size
    in memory; now the reader is pinned (each chunk read with pread, the
    first read's hash kept), so a chunk changed after the check is refused,
    not shown."""
    import argparse

    from recording.test_signed_attacks import edit_payload, split
    from screencodec.cli.recordings_show import _open_readable
    from screencodec.recording import Player, RecordingReader
    from screencodec.recording.sign import load_pins

    generate_host_keypair(tmp_path / "h1.key", tmp_path / "h1.pub")
    rec = signed(tmp_path / "s.screc", tmp_path / "h1.key")
    with RecordingReader(rec) as r:
        good = Player(r).frame_at(1.0)
    pins = load_pins(tmp_path / "h1.pub")
    chunks = split(rec)
    last_update = 13  # signed()'s layout: update 9, the last picture
    at = 8 + sum(map(len, chunks[:last_update]))  # MAGIC is 8 bytes
    args = argparse.Namespace(file=rec, key=None, hosts=tmp_path / "h1.pub")
    with _open_readable(args) as r:  # as play, export and play --web open it
        report = r.verify(set(pins.keys.values()), revoked=pins.revoked)
        assert report.status == "complete", report.describe()  # what play --hosts says
        fd = os.open(rec, os.O_WRONLY)
        try:  # the same length, its CRC right: another picture
            os.pwrite(fd, edit_payload(chunks[last_update]), at)
        finally:
            os.close(fd)
        with pytest.raises(IntegrityError, match="changed while it was read"):
            Player(r).frame_at(1.0)  # a picture the host never signed is not shown
    assert good is not None
