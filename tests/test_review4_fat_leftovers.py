"""review4 of files2's FAT leftovers (c9d77cd): a receiver's first yes puts
a whole file a power cut left (``.NAME.whole-XXXXXXXX``, stale, held by
nobody) under NAME, over an empty NAME: the name it had reserved before the
cut. An empty NAME may also be another receiver's reservation of this
moment (on FAT it creates NAME empty, exclusively, then renames its own
whole file onto it): taken for the left file's, the left file was put over
it, and the other receiver's rename then put its file over the left one,
which was lost. An empty NAME is the left file's only once it is stale too;
else the left file takes the next free name.

The states are made by hand, as test_files2_fat_leftovers makes them (no
power can be cut here); the other receiver's last step, its rename onto
the name it reserved, too. A plain folder: the recovery does not depend on
FAT."""

from __future__ import annotations

import os
from pathlib import Path

from screencodec.transport.session.sidechannels import FileReceiver
from transport.helpers import run
from transport.test_filefix_left import LONG_AGO, _a_yes, _yes


def test_review4_a_left_whole_file_is_not_put_over_another_receivers_fresh_reservation(
    tmp_path: Path,
) -> None:
    left = tmp_path / ".report.txt.whole-0123abcd"  # a power cut's, before the reservation
    left.write_bytes(b"the report a cut left")
    os.utime(left, (LONG_AGO, LONG_AGO))
    reserved = tmp_path / "report.txt"  # another receiver's, just now
    reserved.write_bytes(b"")
    others = tmp_path / ".report.txt.whole-89abcdef"  # its whole file, named next
    others.write_bytes(b"the other receiver's report")

    async def main() -> None:
        rec = FileReceiver(tmp_path, _yes)
        await _a_yes(rec, 1)
        rec.close()

    run(main())
    os.replace(others, reserved)  # the other receiver's last step
    got = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert got == {
        "report.txt": b"the other receiver's report",
        "report (1).txt": b"the report a cut left",
    }
